//! The `rate_limit` factory: settings read at load, `FILE:LINE` errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use genhook_core::{
    BuildContext, LayerFactory, PipelineError, PipelineLayer, PipelineService, WebhookRequest,
    WebhookResponse,
};
use genhook_mapping::{Diagnostic, LoadOptions, MappingSet};
use genhook_rate_limit::RateLimitFactory;
use http::StatusCode;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};

fn build(section: &str) -> Result<PipelineLayer, Vec<Diagnostic>> {
    let text = format!("[github]\n{section}pull_request: action::GitHub $action$\n");
    let options = LoadOptions {
        env: &|_| None,
        extra_keys: RateLimitFactory.settings(),
    };
    let loaded = MappingSet::parse_str(Path::new("mappings/github.ini"), &text, &options)
        .unwrap_or_else(|errors| panic!("mapping does not load: {errors:?}"));
    let source = Arc::clone(loaded.mappings.source("github").unwrap());
    RateLimitFactory.build(&BuildContext::new(
        source.section(),
        &http::Extensions::new(),
    ))
}

fn leaf() -> PipelineService {
    BoxCloneSyncService::new(tower::service_fn(|_req: WebhookRequest| async {
        Ok::<_, PipelineError>(WebhookResponse::new(Bytes::new()))
    }))
}

#[tokio::test]
async fn setting_limits_the_source() {
    assert_eq!(RateLimitFactory.name(), "rate_limit");
    // Per hour, so that the wall clock cannot refill the quota during the test.
    let svc = build("rate_limit = 2/h\n").unwrap().layer(leaf());
    for _ in 0..2 {
        let response = svc.clone().oneshot(WebhookRequest::new(Bytes::new())).await;
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
    let error = svc
        .oneshot(WebhookRequest::new(Bytes::new()))
        .await
        .unwrap_err();
    assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = error.retry_after().unwrap();
    assert!(wait.as_secs() > 1700 && wait.as_secs() <= 1800, "{wait:?}");
}

#[tokio::test]
async fn without_setting_everything_passes() {
    let svc = build("").unwrap().layer(leaf());
    for _ in 0..500 {
        let response = svc.clone().oneshot(WebhookRequest::new(Bytes::new())).await;
        assert_eq!(response.unwrap().status(), StatusCode::OK);
    }
}

#[test]
fn bad_value_is_a_file_line_error() {
    let Err(errors) = build("align = org:1\nrate_limit = lots\n") else {
        panic!("a bad rate must not build");
    };
    let printed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        printed,
        ["mappings/github.ini:3: bad rate_limit `lots`: expected N/s, N/min or N/h, optionally followed by `burst N`"]
    );
}
