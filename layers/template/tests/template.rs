//! The template stage on real compiled mappings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use genhook_core::stage::{RenderFailed, Rendered};
use genhook_core::{
    BuildContext, Capability, LayerFactory, MissingStage, PipelineError, PipelineService,
    WebhookRequest, WebhookResponse,
};
use genhook_mapping::Fields;
use genhook_mapping::{LoadOptions, MappingSet};
use genhook_template::{TemplateError, TemplateFactory, TemplateLayer};
use http::StatusCode;
use serde_json::json;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};
use tower_test::mock;

/// One line whose template can fail: `truncate` needs a number, and `len` comes from the payload.
const MAPPING: &str = "[shop]\norder: title,len::Order {{truncate title len}} ($title$)\n";

/// The request as `extract` leaves it for `payload`.
fn extracted(payload: serde_json::Value) -> WebhookRequest {
    let options = LoadOptions {
        env: &|_| None,
        extra_keys: &[],
    };
    let loaded = MappingSet::parse_str(Path::new("mappings/shop.ini"), MAPPING, &options)
        .unwrap_or_else(|errors| panic!("mapping does not load: {errors:?}"));
    let source = loaded.mappings.source("shop").unwrap();
    let line = Arc::clone(source.select("order").unwrap());
    let value = Arc::new(line.extract(&payload));
    let mut request = WebhookRequest::new(Bytes::new());
    request.extensions_mut().insert(Fields { line, value });
    request
}

/// A leaf answering with what the stage left: the message, or `failed: reason`.
fn echo() -> PipelineService {
    BoxCloneSyncService::new(tower::service_fn(|req: WebhookRequest| async move {
        let ext = req.extensions();
        let text = match (ext.get::<Rendered>(), ext.get::<RenderFailed>()) {
            (Some(message), None) => message.to_string(),
            (None, Some(failed)) => format!("failed: {failed}"),
            other => panic!("exactly one of Rendered and RenderFailed expected, got {other:?}"),
        };
        Ok::<_, PipelineError>(WebhookResponse::new(Bytes::from(text)))
    }))
}

#[tokio::test]
async fn message_is_rendered_for_the_next_stage() {
    let svc = TemplateLayer::new().layer(echo());
    let response = svc
        .oneshot(extracted(
            json!({"title": "Blue mug", "len": 4, "other": 1}),
        ))
        .await
        .unwrap();
    assert_eq!(response.body(), "Order Blue… (Blue mug)");
}

#[tokio::test]
async fn failed_template_is_recorded_and_passed_on_for_dead_lettering() {
    let svc = TemplateLayer::new().layer(echo());
    let response = svc
        .oneshot(extracted(json!({"title": "Blue mug", "len": "four"})))
        .await
        .unwrap();
    let text = std::str::from_utf8(response.body()).unwrap();
    assert!(
        text.starts_with("failed: template of mappings/shop.ini:2 failed"),
        "{text}"
    );
    assert!(text.contains("truncate"), "{text}");
}

#[tokio::test]
async fn rejecting_layer_answers_422_and_never_reaches_inner() {
    let (mut svc, mut handle) =
        mock::spawn_layer::<WebhookRequest, WebhookResponse, _>(TemplateLayer::rejecting());
    handle.allow(1);
    tokio_test::assert_ready_ok!(svc.poll_ready());
    let error = svc
        .call(extracted(json!({"title": "Blue mug", "len": "four"})))
        .await
        .unwrap_err();
    assert!(handle.poll_request().is_pending(), "inner must not see it");
    assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error.public_reason(), "message template failed");
    assert!(matches!(
        error.downcast_ref::<TemplateError>(),
        Some(TemplateError::RenderFailed { .. })
    ));
}

#[tokio::test]
async fn missing_fields_is_500_and_never_reaches_inner() {
    let (mut svc, mut handle) =
        mock::spawn_layer::<WebhookRequest, WebhookResponse, _>(TemplateLayer::new());
    handle.allow(1);
    tokio_test::assert_ready_ok!(svc.poll_ready());
    let error = svc
        .call(WebhookRequest::new(Bytes::new()))
        .await
        .unwrap_err();
    assert!(handle.poll_request().is_pending());
    assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(error.is::<MissingStage>());
}

#[tokio::test]
async fn factory_builds_the_dead_lettering_layer() {
    assert_eq!(TemplateFactory.name(), "template");
    assert_eq!(TemplateFactory.requires(), &[Capability::EXTRACTED]);
    assert_eq!(TemplateFactory.provides(), &[Capability::RENDERED]);

    let options = LoadOptions {
        env: &|_| None,
        extra_keys: &[],
    };
    let loaded = MappingSet::parse_str(Path::new("shop.ini"), MAPPING, &options).unwrap();
    let source = Arc::clone(loaded.mappings.source("shop").unwrap());
    let resources = http::Extensions::new();
    let layer = TemplateFactory
        .build(&BuildContext::new(source.section(), &resources))
        .unwrap();
    let response = layer
        .layer(echo())
        .oneshot(extracted(json!({"title": "Blue mug", "len": "four"})))
        .await
        .unwrap();
    assert!(response.body().starts_with(b"failed: "));
}
