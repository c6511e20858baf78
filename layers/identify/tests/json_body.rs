#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The identify layer with `json_body()` (as the stacks built from mappings use it): a JSON object
//! travels on as the body's own text (`JsonBody`), not a parsed `Payload`, with the same event
//! type, delivery id, handshakes and refusals as the layer that parses the whole body.

use std::sync::{Arc, Mutex};

mod support;

use bytes::Bytes;
use genhook_core::stage::{DeliveryId, EventType, JsonBody, Payload};
use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
use genhook_identify::{IdentifyLayer, IdentifySettings, Provider};
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
    } = seen;
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
