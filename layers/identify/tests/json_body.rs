#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The identify layer with `json_body()` (as the stacks built from mappings use it): a JSON object
//! travels on as the body's own text (`JsonBody`), not a parsed `Payload`, with the same event
//! type, delivery id, handshakes and refusals as the layer that parses the whole body; when the
//! event type comes from a header (GitHub), the mapping line's fields are extracted in the pass
//! that checks the body (`Fields`), with the same refusals.

use std::sync::{Arc, Mutex};

mod support;

use bytes::Bytes;
use genhook_core::stage::{DeliveryId, EventType, JsonBody, Payload};
use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
use genhook_identify::{IdentifyLayer, IdentifySettings, Provider};
use genhook_mapping::Fields;
use http::StatusCode;
use support::request;
use tower::{Layer, ServiceExt};

/// What the inner service saw: the extensions identify left, or identify's own answer.
#[derive(Debug, Default, Clone)]
struct Seen {
    event: Option<EventType>,
    id: Option<DeliveryId>,
    json: Option<JsonBody>,
    payload: Option<Payload>,
    fields: Option<Fields>,
}

/// Runs `layer` over a leaf that records what it saw; the answer as text next to it.
async fn run(layer: IdentifyLayer, request: WebhookRequest) -> (String, Seen) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = Arc::clone(&seen);
    let leaf = tower::service_fn(move |request: WebhookRequest| {
        let ext = request.extensions();
        *record.lock().unwrap() = Seen {
            event: ext.get().cloned(),
            id: ext.get().cloned(),
            json: ext.get().cloned(),
            payload: ext.get().cloned(),
            fields: ext.get().cloned(),
        };
        let mut response = WebhookResponse::new(Bytes::new());
        *response.status_mut() = StatusCode::ACCEPTED;
        async { Ok::<_, PipelineError>(response) }
    });
    let answer = match layer.layer(leaf).oneshot(request).await {
        Ok(response) => format!("{} {:?}", response.status(), response.body()),
        Err(error) => format!("{} {}", error.status(), error.public_reason()),
    };
    let seen = seen.lock().unwrap().clone();
    (answer, seen)
}

/// A request's headers, as name and value.
type Headers<'a> = Vec<(&'a str, &'a str)>;

fn lazy(settings: IdentifySettings) -> IdentifyLayer {
    IdentifyLayer::new(settings).json_body()
}

#[tokio::test]
async fn a_json_object_travels_as_the_bodys_own_bytes_not_a_payload() {
    let body = Bytes::from_static(
        br#"{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{"x":1}}}"#,
    );
    let (answer, seen) = run(
        lazy(IdentifySettings::for_provider(Provider::Stripe)),
        request(&[], body.clone()),
    )
    .await;
    assert!(answer.starts_with("202"), "{answer}");
    let Seen {
        event,
        id,
        json,
        payload,
        fields,
    } = seen;
    assert!(fields.is_none(), "Stripe's event type is in the body");
    let json = json.expect("a JsonBody");
    assert_eq!(json.0, body);
    assert_eq!(
        json.0.as_ptr(),
        body.as_ptr(),
        "the body's bytes, not a copy"
    );
    assert!(payload.is_none(), "no parsed Payload");
    assert_eq!(event.unwrap().as_str(), "invoice.paid");
    assert_eq!(id.unwrap().as_str(), "evt_1");
}

#[tokio::test]
async fn lazy_and_full_layers_decide_the_same_on_every_kind_of_body() {
    let form = ("content-type", "application/x-www-form-urlencoded");
    // Deeper than serde_json's limit (128) inside a member identify does not look into.
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(300), "]".repeat(300));
    let cases: Vec<(IdentifySettings, Headers<'_>, &str)> = vec![
        (
            IdentifySettings::default(),
            vec![],
            r#"{"type":"url_verification","challenge":"c"}"#,
        ),
        (
            IdentifySettings::default(),
            vec![],
            r#"{"type":"event_callback","event_id":"Ev1","api_app_id":"A","event":{"type":"message"}}"#,
        ),
        (
            IdentifySettings::for_provider(Provider::Github),
            vec![("x-github-event", "push"), ("x-github-delivery", "d-1")],
            r#"{"ref":"refs/heads/main","commits":[{"id":"1"}]}"#,
        ),
        (
            IdentifySettings::for_provider(Provider::Github),
            vec![("x-github-event", "ping")],
            r#"{"zen":"z"}"#,
        ),
        (
            IdentifySettings::default(),
            vec![form],
            "payload=%7B%22type%22%3A%22block_actions%22%2C%22trigger_id%22%3A%22t%22%7D",
        ),
        (
            IdentifySettings::default(),
            vec![form],
            "command=%2Fweather&text=now",
        ),
        (
            IdentifySettings::default(),
            vec![],
            r#"[{"eventType":"A","id":"1","dataVersion":"1","subject":"s"}]"#,
        ),
        (IdentifySettings::default(), vec![], "[1,2]"),
        (IdentifySettings::default(), vec![], r#"{"a":"\ud800"}"#),
        (IdentifySettings::default(), vec![], r#"{"a":1e999}"#),
        (IdentifySettings::default(), vec![], "{\"a\":1} x"),
        (
            IdentifySettings::default(),
            vec![],
            "\u{feff}{\"detail-type\":\"X\",\"source\":\"s\",\"detail\":{},\"id\":\"i\"}",
        ),
        (IdentifySettings::default(), vec![], "   "),
        (IdentifySettings::default(), vec![], "42"),
        (IdentifySettings::default(), vec![], &deep),
    ];
    for (settings, headers, body) in cases {
        let (full_answer, full) = run(
            IdentifyLayer::new(settings.clone()),
            request(&headers, body.to_owned()),
        )
        .await;
        let (lazy_answer, lazy) = run(lazy(settings), request(&headers, body.to_owned())).await;
        assert_eq!(lazy_answer, full_answer, "{body:.60}");
        assert_eq!(lazy.event, full.event, "{body:.60}");
        assert_eq!(lazy.id, full.id, "{body:.60}");
        // An object travels as its text; batches, form fields and refusals as before.
        match (&lazy.json, &full.payload) {
            (Some(json), Some(payload)) => {
                assert!(lazy.payload.is_none(), "{body:.60}");
                let parsed: serde_json::Value = serde_json::from_slice(&json.0).unwrap();
                assert_eq!(&parsed, &*payload.0, "{body:.60}");
            }
            (None, _) => assert_eq!(lazy.payload, full.payload, "{body:.60}"),
            (Some(_), None) => panic!("a JsonBody where the full layer forwarded nothing"),
        }
    }
}

/// A GitHub source's mapping, as the factory gives identify.
fn github_mapping() -> Arc<genhook_mapping::CompiledSource> {
    let options = genhook_mapping::LoadOptions {
        env: &|_| None,
        extra_keys: &[],
    };
    let text = "[github]\npull_request: action,pull_request{title,user{login}},repository{name}::$action$ $pull_request.title$\n";
    let loaded = genhook_mapping::MappingSet::parse_str(
        std::path::Path::new("mappings/github.ini"),
        text,
        &options,
    )
    .unwrap();
    Arc::clone(loaded.mappings.source("github").unwrap())
}

fn github_with_mapping() -> IdentifySettings {
    let mut settings = IdentifySettings::for_provider(Provider::Github);
    settings.mapping = Some(github_mapping());
    settings
}

#[tokio::test]
async fn a_header_named_event_gets_its_fields_in_the_pass_that_checks_the_body() {
    let text = include_str!("../../../tests/fixtures/github/pull_request.opened.json");
    let headers = vec![
        ("x-github-event", "pull_request"),
        ("x-github-delivery", "d-1"),
    ];
    let (answer, seen) = run(
        lazy(github_with_mapping()),
        request(&headers, text.to_owned()),
    )
    .await;
    assert!(answer.starts_with("202"), "{answer}");
    let fields = seen.fields.expect("identify extracted the line's fields");
    assert_eq!(fields.line.key(), "pull_request");
    let payload: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(*fields.value, fields.line.extract(&payload));
    assert_eq!(fields.value["pull_request"]["user"]["login"], "Codertocat");
    assert_eq!(seen.event.unwrap().as_str(), "pull_request");
    assert_eq!(seen.id.unwrap().as_str(), "d-1");
    assert!(seen.json.is_some() && seen.payload.is_none());

    // An event no line maps: no fields (extract answers it), the body still checked.
    let headers = vec![("x-github-event", "push"), ("x-github-delivery", "d-2")];
    let (answer, seen) = run(
        lazy(github_with_mapping()),
        request(&headers, text.to_owned()),
    )
    .await;
    assert!(answer.starts_with("202"), "{answer}");
    assert!(seen.fields.is_none());
}

#[tokio::test]
async fn a_body_invalid_after_the_mapped_fields_is_refused_as_a_full_parse_refuses_it() {
    let headers = vec![
        ("x-github-event", "pull_request"),
        ("x-github-delivery", "d-1"),
    ];
    let mapped = r#"{"action":"opened","pull_request":{"title":"t","user":{"login":"u"}},"repository":{"name":"r"}"#;
    let deep = format!("{mapped},\"x\":{}1{}}}", "[".repeat(300), "]".repeat(300));
    let cases = [
        format!(r#"{mapped},"sender":{{"login":"\ud800"}}}}"#),
        format!(r#"{mapped},"sender":{{"id":1e999}}}}"#),
        format!(r#"{mapped},"sender":{{"id":[1,]}}}}"#),
        format!("{mapped},\"sender\":\"tab\tin string\"}}"),
        format!("{mapped}}} trailing"),
        deep,
        format!("{mapped},\"sender\":"),
    ];
    for body in cases {
        let (full, _) = run(
            IdentifyLayer::new(github_with_mapping()),
            request(&headers, body.clone()),
        )
        .await;
        let (one_pass, seen) =
            run(lazy(github_with_mapping()), request(&headers, body.clone())).await;
        assert!(full.starts_with("400"), "{full} for {body:.80}");
        assert_eq!(one_pass, full, "{body:.80}");
        assert!(seen.fields.is_none() && seen.event.is_none(), "{body:.80}");
    }
}
