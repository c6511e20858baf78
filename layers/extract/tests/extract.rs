//! The extract stage on real compiled mappings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use genhook_core::stage::{EventType, JsonBody, Payload, SourceName};
use genhook_core::{
    BuildContext, Capability, LayerFactory, MissingStage, PipelineError, PipelineService,
    WebhookRequest, WebhookResponse,
};
use genhook_extract::{ExtractError, ExtractFactory, ExtractLayer, Unmapped};
use genhook_mapping::{CompiledSource, Fields, LoadOptions, MappingSet};
use http::StatusCode;
use serde_json::json;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};
use tower_test::mock;

const GITHUB: &str = "\
[github]
pull_request: action,pull_request{title,user{login}},repository{name}::GitHub $action$ on $repository.name$: \"$pull_request.title$\" by $pull_request.user.login$
issue*: action,issue{number}::GitHub issue $issue.number$ $action$
";

fn source(text: &str, name: &str) -> Arc<CompiledSource> {
    let options = LoadOptions {
        env: &|_| None,
        extra_keys: &[],
    };
    let loaded = MappingSet::parse_str(Path::new("mappings/github.ini"), text, &options)
        .unwrap_or_else(|errors| panic!("mapping does not load: {errors:?}"));
    Arc::clone(loaded.mappings.source(name).unwrap())
}

fn request(event: &str, payload: serde_json::Value) -> WebhookRequest {
    let mut request = WebhookRequest::new(Bytes::from(payload.to_string()));
    request.extensions_mut().insert(SourceName::new("github"));
    request.extensions_mut().insert(EventType::new(event));
    request.extensions_mut().insert(Payload(Arc::new(payload)));
    request
}

/// A leaf answering with the extracted fields and the chosen line's key.
fn echo_fields() -> PipelineService {
    BoxCloneSyncService::new(tower::service_fn(|req: WebhookRequest| async move {
        let fields = genhook_core::require::<Fields>(&req)?;
        let body = json!({ "key": fields.line.key(), "value": *fields.value });
        Ok::<_, PipelineError>(WebhookResponse::new(Bytes::from(body.to_string())))
    }))
}

fn json_body(response: &WebhookResponse) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}

#[tokio::test]
async fn mapped_event_gets_only_its_declared_fields() {
    let svc = ExtractLayer::new(source(GITHUB, "github")).layer(echo_fields());
    let payload = json!({
        "action": "opened",
        "number": 2,
        "pull_request": {"title": "Fix", "user": {"login": "octo", "id": 1}, "body": "long"},
        "repository": {"name": "hello", "private": false},
        "sender": {"login": "octo"}
    });
    let response = svc.oneshot(request("pull_request", payload)).await.unwrap();
    assert_eq!(
        json_body(&response),
        json!({
            "key": "pull_request",
            "value": {
                "action": "opened",
                "pull_request": {"title": "Fix", "user": {"login": "octo"}},
                "repository": {"name": "hello"}
            }
        })
    );
}

#[tokio::test]
async fn glob_line_is_selected_for_matching_events() {
    let svc = ExtractLayer::new(source(GITHUB, "github")).layer(echo_fields());
    let payload = json!({"action": "closed", "issue": {"number": 7, "title": "x"}});
    let response = svc.oneshot(request("issues", payload)).await.unwrap();
    assert_eq!(
        json_body(&response),
        json!({"key": "issue*", "value": {"action": "closed", "issue": {"number": 7}}})
    );
}

#[tokio::test]
async fn unmapped_event_is_422_and_never_reaches_inner() {
    let layer = ExtractLayer::new(source(GITHUB, "github"));
    let (mut svc, mut handle) = mock::spawn_layer::<WebhookRequest, WebhookResponse, _>(layer);
    handle.allow(1);
    tokio_test::assert_ready_ok!(svc.poll_ready());
    let error = svc.call(request("push", json!({}))).await.unwrap_err();

    assert!(handle.poll_request().is_pending(), "inner must not see it");
    assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error.public_reason(),
        "no mapping for event `push` of source `github`"
    );
    assert_eq!(error.metric_reason(), "no_mapping");
    assert_eq!(
        error.downcast_ref::<ExtractError>(),
        Some(&ExtractError::NoMapping {
            event: "push".into(),
            source_name: "github".into()
        })
    );
}

#[tokio::test]
async fn unmapped_event_with_ignore_is_202_ignored_and_never_reaches_inner() {
    let layer = ExtractLayer::new(source(GITHUB, "github")).with_unmapped(Unmapped::Ignore);
    let (mut svc, mut handle) = mock::spawn_layer::<WebhookRequest, WebhookResponse, _>(layer);
    handle.allow(1);
    tokio_test::assert_ready_ok!(svc.poll_ready());
    let response = svc.call(request("push", json!({}))).await.unwrap();

    assert!(handle.poll_request().is_pending(), "inner must not see it");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        json_body(&response),
        json!({"source": "github", "event": "push", "status": "ignored"})
    );
}

#[tokio::test]
async fn missing_identify_outputs_are_500_missing_stage() {
    let svc = ExtractLayer::new(source(GITHUB, "github")).layer(echo_fields());
    let mut bare = WebhookRequest::new(Bytes::new());
    bare.extensions_mut().insert(EventType::new("pull_request"));
    let error = svc.clone().oneshot(bare).await.unwrap_err();
    assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(error.is::<MissingStage>());

    let mut bare = WebhookRequest::new(Bytes::new());
    bare.extensions_mut().insert(Payload(Arc::new(json!({}))));
    let error = svc.oneshot(bare).await.unwrap_err();
    assert!(error.is::<MissingStage>());
}

#[tokio::test]
async fn factory_reads_unmapped_from_the_section() {
    assert_eq!(ExtractFactory.name(), "extract");
    assert_eq!(ExtractFactory.requires(), &[Capability::IDENTIFIED]);
    assert_eq!(ExtractFactory.provides(), &[Capability::EXTRACTED]);
    assert!(!ExtractFactory.is_terminal());

    let text = format!("{GITHUB}unmapped = ignore\n");
    let source = source(&text, "github");
    // The compiled mapping travels in the resources, as the code that compiles mappings leaves it.
    let mut resources = http::Extensions::new();
    resources.insert(Arc::clone(&source));
    let layer = ExtractFactory
        .build(&BuildContext::new(source.section(), &resources))
        .unwrap();
    let svc = layer.layer(echo_fields());
    let response = svc.oneshot(request("push", json!({}))).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let source = self::source(GITHUB, "github");
    let mut resources = http::Extensions::new();
    resources.insert(Arc::clone(&source));
    let layer = ExtractFactory
        .build(&BuildContext::new(source.section(), &resources))
        .unwrap();
    let error = layer
        .layer(echo_fields())
        .oneshot(request("push", json!({})))
        .await
        .unwrap_err();
    assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[test]
fn unmapped_parses_both_policies() {
    assert_eq!(Unmapped::parse("ignore"), Some(Unmapped::Ignore));
    assert_eq!(Unmapped::parse(" Reject "), Some(Unmapped::Reject));
    assert_eq!(Unmapped::parse("drop"), None);
    assert_eq!(Unmapped::default(), Unmapped::Reject);
}

#[tokio::test]
async fn fields_are_read_from_the_json_text_as_from_a_parsed_payload() {
    let svc = ExtractLayer::new(source(GITHUB, "github")).layer(echo_fields());
    let text = include_str!("../../../tests/fixtures/github/pull_request.opened.json");
    let payload: serde_json::Value = serde_json::from_str(text).unwrap();
    let from_payload = svc
        .clone()
        .oneshot(request("pull_request", payload.clone()))
        .await
        .unwrap();
    let mut from_text = WebhookRequest::new(Bytes::from_static(text.as_bytes()));
    from_text
        .extensions_mut()
        .insert(EventType::new("pull_request"));
    from_text
        .extensions_mut()
        .insert(JsonBody(Bytes::from_static(text.as_bytes())));
    let from_text = svc.clone().oneshot(from_text).await.unwrap();
    assert_eq!(json_body(&from_text), json_body(&from_payload));
    assert_eq!(
        json_body(&from_text)["value"]["pull_request"]["user"]["login"],
        payload["pull_request"]["user"]["login"]
    );

    // A Payload an earlier stage left wins over the text.
    let mut both = request("pull_request", json!({"action": "from payload"}));
    both.extensions_mut()
        .insert(JsonBody(Bytes::from_static(br#"{"action":"from text"}"#)));
    let response = svc.clone().oneshot(both).await.unwrap();
    assert_eq!(json_body(&response)["value"]["action"], "from payload");

    // Text that is not JSON (only a stage of one's own could leave it) is a 500, not a panic.
    let mut bad = WebhookRequest::new(Bytes::new());
    bad.extensions_mut().insert(EventType::new("pull_request"));
    bad.extensions_mut()
        .insert(JsonBody(Bytes::from_static(b"{\"action\":")));
    let error = svc.oneshot(bad).await.unwrap_err();
    assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn fields_identify_extracted_for_the_chosen_line_are_kept_not_read_again() {
    let source = source(GITHUB, "github");
    let svc = ExtractLayer::new(Arc::clone(&source)).layer(echo_fields());
    // What identify leaves when the event type came from a header: the text, and the fields of
    // the line it selected, read in the pass that checked the text.
    let line = Arc::clone(source.select("pull_request").unwrap());
    let done = json!({"action": "from identify's pass"});
    let mut request = WebhookRequest::new(Bytes::new());
    request
        .extensions_mut()
        .insert(EventType::new("pull_request"));
    request.extensions_mut().insert(JsonBody(Bytes::from_static(
        br#"{"action":"from the text"}"#,
    )));
    request.extensions_mut().insert(Fields {
        line,
        value: Arc::new(done.clone()),
    });
    let response = svc.clone().oneshot(request).await.unwrap();
    assert_eq!(json_body(&response)["value"], done);

    // Fields of another line (not the one the event selects) are not trusted: read again.
    let other = Arc::clone(source.select("issues").unwrap());
    let mut request = WebhookRequest::new(Bytes::new());
    request
        .extensions_mut()
        .insert(EventType::new("pull_request"));
    request.extensions_mut().insert(JsonBody(Bytes::from_static(
        br#"{"action":"from the text"}"#,
    )));
    request.extensions_mut().insert(Fields {
        line: other,
        value: Arc::new(done),
    });
    let response = svc.oneshot(request).await.unwrap();
    assert_eq!(json_body(&response)["key"], "pull_request");
    assert_eq!(json_body(&response)["value"]["action"], "from the text");
}
