#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The identify layer at poll level (tower-test mock): handshakes are answered and never reach
//! the inner service; bad bodies are 400 and never reach it; everything else is forwarded with
//! `Payload`, `EventType` and `DeliveryId`.

use std::sync::Arc;

mod support;

use bytes::Bytes;
use genhook_core::stage::{DeliveryId, EventType, Payload, Verified};
use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
use genhook_identify::{IdentifyError, IdentifyLayer, IdentifySettings, Provider};
use http::StatusCode;
use serde_json::{json, Value};
use support::request;
use tokio_test::{assert_pending, assert_ready_ok, task};
use tower_test::mock;

fn vector(id: &str) -> WebhookRequest {
    let all: Vec<Value> =
        serde_json::from_str(include_str!("data/signature_vectors.json")).unwrap();
    let v = all.iter().find(|v| v["id"] == id).expect(id);
    let headers: Vec<(&str, &str)> = v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, val)| (k.as_str(), val.as_str().unwrap()))
        .collect();
    request(&headers, v["body"].as_str().unwrap().to_owned())
}

fn body_json(response: &WebhookResponse) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

/// Calls the layer over a mock; the call must finish at once and the mock must see nothing.
fn answered(layer: IdentifyLayer, req: WebhookRequest) -> Result<WebhookResponse, PipelineError> {
    let (mut service, mut handle) = mock::spawn_layer::<WebhookRequest, WebhookResponse, _>(layer);
    assert_ready_ok!(service.poll_ready());
    let mut future = task::spawn(service.call(req));
    let result = match future.poll() {
        std::task::Poll::Ready(result) => result,
        std::task::Poll::Pending => panic!("the identify stage did not answer by itself"),
    };
    assert!(
        handle.poll_request().is_pending(),
        "the inner service was called"
    );
    result
}

/// Calls the layer over a mock; the request must reach the mock, which answers 202.
fn forwarded(layer: IdentifyLayer, req: WebhookRequest) -> WebhookRequest {
    let (mut service, mut handle) = mock::spawn_layer::<WebhookRequest, WebhookResponse, _>(layer);
    assert_ready_ok!(service.poll_ready());
    let mut future = task::spawn(service.call(req));
    assert_pending!(future.poll());
    let std::task::Poll::Ready(Some((seen, send))) = handle.poll_request() else {
        panic!("the request was not forwarded");
    };
    let mut accepted = WebhookResponse::new(Bytes::new());
    *accepted.status_mut() = StatusCode::ACCEPTED;
    send.send_response(accepted);
    assert_eq!(
        assert_ready_ok!(future.poll()).status(),
        StatusCode::ACCEPTED
    );
    seen
}

fn detect_layer() -> IdentifyLayer {
    IdentifyLayer::new(IdentifySettings::default())
}

#[test]
fn slack_url_verification_echoes_the_challenge_and_is_not_forwarded() {
    let response = answered(detect_layer(), vector("slack-url-verification")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        body_json(&response),
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );
}

#[test]
fn slack_ssl_check_is_200_and_not_forwarded() {
    let req = request(
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-slack-signature", "v0=x"),
        ],
        "ssl_check=1&token=abc",
    );
    let response = answered(
        IdentifyLayer::new(IdentifySettings::for_provider(Provider::Slack)),
        req,
    )
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn event_grid_validation_answers_the_code_and_is_not_forwarded() {
    let response = answered(detect_layer(), vector("eventgrid-subscription-validation")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_json(&response),
        json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    );
}

#[test]
fn github_ping_is_pong_and_not_forwarded() {
    // The form-encoded vector is a ping delivery.
    let response = answered(detect_layer(), vector("github-form-urlencoded")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(&response), json!({"status": "pong"}));
}

#[test]
fn sns_unsubscribe_confirmation_is_200_and_not_forwarded() {
    let req = request(
        &[("x-amz-sns-message-type", "UnsubscribeConfirmation")],
        r#"{"Type":"UnsubscribeConfirmation","MessageId":"m-1","TopicArn":"arn:aws:sns:us-west-2:1:T","Token":"t"}"#,
    );
    assert_eq!(
        answered(detect_layer(), req).unwrap().status(),
        StatusCode::OK
    );
}

#[test]
fn sns_subscription_without_confirmer_is_logged_and_200() {
    let response = answered(detect_layer(), vector("sns-subscription-confirmation")).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_json(&response),
        json!({"status": "confirmation logged"})
    );
}

#[test]
fn handshake_of_another_provider_is_forwarded_not_answered() {
    // A Stripe source never answers Slack's challenge.
    let req = request(&[], r#"{"type":"url_verification","challenge":"c"}"#);
    let seen = forwarded(
        IdentifyLayer::new(IdentifySettings::for_provider(Provider::Stripe)),
        req,
    );
    assert_eq!(
        seen.extensions().get::<EventType>().unwrap().as_str(),
        "url_verification"
    );
}

#[test]
fn identified_request_is_forwarded_with_payload_event_and_delivery_id() {
    let seen = forwarded(detect_layer(), vector("jira-admin-webhook"));
    assert_eq!(
        seen.extensions().get::<EventType>().unwrap().as_str(),
        "jira:issue_created"
    );
    assert_eq!(
        seen.extensions().get::<DeliveryId>().unwrap().as_str(),
        "1a2b3c"
    );
    let payload = seen.extensions().get::<Payload>().unwrap();
    assert_eq!(payload.0["issue"]["key"], "TEST-1");
}

#[test]
fn slack_retry_still_goes_on() {
    let req = request(
        &[
            ("x-slack-signature", "v0=x"),
            ("x-slack-retry-num", "1"),
            ("x-slack-retry-reason", "http_timeout"),
        ],
        r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message"}}"#,
    );
    let seen = forwarded(detect_layer(), req);
    assert_eq!(
        seen.extensions().get::<DeliveryId>().unwrap().as_str(),
        "Ev1"
    );
    assert_eq!(
        seen.extensions().get::<EventType>().unwrap().as_str(),
        "message"
    );
}

#[test]
fn no_event_type_inserts_an_empty_one_and_no_delivery_id() {
    let seen = forwarded(detect_layer(), request(&[], r#"{"hello":"world"}"#));
    assert_eq!(seen.extensions().get::<EventType>().unwrap().as_str(), "");
    assert!(seen.extensions().get::<DeliveryId>().is_none());
}

#[test]
fn an_earlier_payload_is_reused_not_parsed_again() {
    // The body is not JSON at all: only the inserted Payload can make this succeed.
    let mut req = request(&[], "not json");
    req.extensions_mut().insert(Payload(Arc::new(
        json!({"id": "evt_9", "object": "event", "type": "x.y"}),
    )));
    let seen = forwarded(
        IdentifyLayer::new(IdentifySettings::for_provider(Provider::Stripe)),
        req,
    );
    assert_eq!(
        seen.extensions().get::<EventType>().unwrap().as_str(),
        "x.y"
    );
    assert_eq!(
        seen.extensions().get::<DeliveryId>().unwrap().as_str(),
        "evt_9"
    );
}

#[test]
fn bad_bodies_are_400_and_never_forwarded() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<(Vec<(&str, &str)>, Bytes)> = vec![
        (
            vec![("content-type", "application/json; charset=iso-8859-1")],
            Bytes::from_static(b"{}"),
        ),
        (vec![], Bytes::from_static(b"{\"a\":\"\xc3\x28\"}")),
        (vec![], Bytes::from_static(b"{\"a\":")),
        (vec![], Bytes::from(deep)),
        (vec![], Bytes::new()),
    ];
    for (headers, body) in cases {
        let error = answered(detect_layer(), request(&headers, body)).unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert!(error.is::<IdentifyError>());
    }
    let error = answered(
        detect_layer(),
        request(
            &[("content-type", "text/plain; charset=windows-1252")],
            "{}",
        ),
    )
    .unwrap_err();
    assert_eq!(
        error.public_reason(),
        "unsupported charset `windows-1252`: the body must be UTF-8"
    );
}

#[test]
fn verified_marker_alone_does_not_confirm_without_aws_sns_setting() {
    // verifies_sns is false (no `verify = aws-sns`): logged, never fetched (no confirmer either).
    let mut req = vector("sns-subscription-confirmation");
    req.extensions_mut().insert(Verified { scheme: "aws-sns" });
    let response = answered(detect_layer(), req).unwrap();
    assert_eq!(
        body_json(&response),
        json!({"status": "confirmation logged"})
    );
}
