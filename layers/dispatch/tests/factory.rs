//! The `dispatch` factory: resources, settings, `FILE:LINE` errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use genhook_core::queue::{Priority, Queue};
use genhook_core::{
    BuildContext, Capability, LayerFactory, PipelineError, PipelineLayer, PipelineService,
    WebhookRequest, WebhookResponse,
};
use genhook_dispatch::DispatchFactory;
use genhook_mapping::{CompiledSource, Diagnostic, LoadOptions, MappingSet};
use http::StatusCode;
use support::{TestQueue, TestRequest};
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};

/// The dispatch stage's keys, and the verify stage's that name a source's secret header.
const KEYS: &[&str] = &[
    "priority",
    "dedup_window",
    "dedup_by",
    "verify",
    "token_header",
    "api_key_header",
];

fn source(section: &str) -> Arc<CompiledSource> {
    let text = format!("[github]\n{section}pull_request: action::GitHub $action$\n");
    let options = LoadOptions {
        env: &|_| None,
        extra_keys: KEYS,
    };
    let loaded = MappingSet::parse_str(Path::new("mappings/github.ini"), &text, &options)
        .unwrap_or_else(|errors| panic!("mapping does not load: {errors:?}"));
    Arc::clone(loaded.mappings.source("github").unwrap())
}

fn resources(queue: &Arc<TestQueue>) -> http::Extensions {
    let mut resources = http::Extensions::new();
    resources.insert(Arc::clone(queue) as Arc<dyn Queue>);
    resources
}

fn build(section: &str, resources: &http::Extensions) -> Result<PipelineLayer, Vec<Diagnostic>> {
    // The compiled mapping travels in the resources, as the code that compiles mappings leaves it.
    let source = source(section);
    let mut resources = resources.clone();
    resources.insert(Arc::clone(&source));
    DispatchFactory.build(&BuildContext::new(source.section(), &resources))
}

fn printed(errors: &[Diagnostic]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

fn never_called() -> PipelineService {
    BoxCloneSyncService::new(tower::service_fn(|_req: WebhookRequest| async {
        panic!("dispatch called its inner service");
        #[allow(unreachable_code)]
        Ok::<WebhookResponse, PipelineError>(WebhookResponse::new(Bytes::new()))
    }))
}

#[test]
fn factory_is_terminal_and_requires_rendered() {
    assert_eq!(DispatchFactory.name(), "dispatch");
    assert!(DispatchFactory.is_terminal());
    assert_eq!(DispatchFactory.requires(), &[Capability::RENDERED]);
    assert!(DispatchFactory.provides().is_empty());
}

#[tokio::test]
async fn section_settings_reach_the_event() {
    let queue = TestQueue::new();
    let section = "priority = high\ndedup_window = 24h\nalign = device:9\nforce_ytype = 5\nforce_yname = eth0\n";
    let svc = build(section, &resources(&queue))
        .unwrap()
        .layer(never_called());
    let response = svc
        .oneshot(TestRequest::github().delivery("d").build())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let event = &queue.queued()[0];
    assert_eq!(event.priority, Priority::High);
    assert_eq!(event.alert.aligned_resource, "/api/device/9");
    assert_eq!(event.alert.force_ytype, "5");
    assert_eq!(event.alert.force_yname, "eth0");
    assert_eq!(event.alert.force_yid, "0");
    assert_eq!(event.alert.message_time, "0");
    assert_eq!(
        queue.claims(),
        vec![("github:d".to_owned(), Duration::from_secs(24 * 3600))]
    );
}

#[tokio::test]
async fn defaults_without_settings() {
    let queue = TestQueue::new();
    let svc = build("", &resources(&queue)).unwrap().layer(never_called());
    svc.oneshot(TestRequest::github().delivery("d").build())
        .await
        .unwrap();
    let event = &queue.queued()[0];
    assert_eq!(event.priority, Priority::Normal);
    assert_eq!(event.alert.aligned_resource, "/api/organization/0");
    assert_eq!(queue.claims()[0].1, Duration::from_secs(72 * 3600));
}

#[test]
fn bad_settings_are_all_reported_at_their_lines() {
    let queue = TestQueue::new();
    let Err(errors) = build(
        "priority = urgent\ndedup_window = forever\ndedup_by = payload\n",
        &resources(&queue),
    ) else {
        panic!("bad settings must not build");
    };
    assert_eq!(
        printed(&errors),
        [
            "mappings/github.ini:2: bad priority `urgent`: expected high, normal or low",
            "mappings/github.ini:3: dedup_window: bad duration `forever`: expected a number and a unit (ms, s, m, h, d), e.g. 72h",
            "mappings/github.ini:4: dedup_by: unknown value `payload`; expected delivery_id or body",
        ]
    );
}

#[test]
fn missing_resources_are_build_errors() {
    let Err(errors) = build("", &http::Extensions::new()) else {
        panic!("no queue, no build");
    };
    assert_eq!(
        printed(&errors),
        ["mappings/github.ini:1: dispatch needs a queue, and the service provides none",]
    );
}

#[test]
fn dedup_by_is_a_known_setting() {
    assert!(DispatchFactory.settings().contains(&"dedup_by"));
}

#[tokio::test]
async fn dedup_by_body_claims_a_hash_of_the_body_whatever_the_delivery_id() {
    let queue = TestQueue::new();
    let svc = build("dedup_by = body\n", &resources(&queue))
        .unwrap()
        .layer(never_called());
    for id in ["d1", "d2"] {
        svc.clone()
            .oneshot(TestRequest::github().delivery(id).build())
            .await
            .unwrap();
    }
    let claims = queue.claims();
    assert_eq!(claims.len(), 2);
    assert_eq!(claims[0].0, claims[1].0, "one key for one body: {claims:?}");
    assert!(claims[0].0.starts_with("github:body:"), "{claims:?}");
    assert!(!claims[0].0.contains("d1"));
}

#[tokio::test]
async fn a_sources_own_secret_headers_are_redacted_in_the_event() {
    let queue = TestQueue::new();
    let section = "verify = token\ntoken_header = X-Acme-Auth\napi_key_header = X-Partner\n";
    let svc = build(section, &resources(&queue))
        .unwrap()
        .layer(never_called());
    let request = TestRequest::github()
        .header("x-acme-auth", "acme-t0ken-value")
        .header("x-partner", "partner-k3y")
        .header("x-acme-event", "build")
        .build();
    svc.oneshot(request).await.unwrap();
    let headers = &queue.queued()[0].headers;
    let value = |name: &str| headers.iter().find(|(n, _)| n == name).unwrap().1.clone();
    assert_eq!(value("x-acme-auth"), genhook_dispatch::REDACTED);
    assert_eq!(value("x-partner"), genhook_dispatch::REDACTED);
    assert_eq!(value("x-acme-event"), "build");
}
