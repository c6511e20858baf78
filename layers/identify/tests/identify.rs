#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Detection, event type and delivery id for real provider payloads: the shared signature
//! vectors (headers and bodies as the providers send them) and payloads shaped as the providers'
//! documentation
//! documents them.

use genhook_identify::{
    delivery_id, detect, event_type, parse_body, IdentifySettings, Provider, Selector,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};

fn vectors() -> Vec<Value> {
    serde_json::from_str(include_str!("data/signature_vectors.json")).unwrap()
}

fn headers_of(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect()
}

fn vector(id: &str) -> (HeaderMap, Vec<u8>) {
    let all = vectors();
    let v = all.iter().find(|v| v["id"] == id).expect(id);
    let headers = v["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, val)| {
            (
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(val.as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    (headers, v["body"].as_str().unwrap().as_bytes().to_vec())
}

fn expected_provider(name: &str) -> Provider {
    match name {
        "github" => Provider::Github,
        "stripe" => Provider::Stripe,
        "slack" => Provider::Slack,
        "standard-webhooks" => Provider::StandardWebhooks,
        "shopify" => Provider::Shopify,
        "jira" => Provider::Jira,
        "meraki" => Provider::Meraki,
        "aws-sns" | "aws-eventbridge-api-destination" => Provider::Aws,
        "azure-event-grid" => Provider::Azure,
        other => panic!("unknown provider {other}"),
    }
}

#[test]
fn every_delivery_vector_is_detected_as_its_provider() {
    let mut checked = 0;
    for v in vectors() {
        let id = v["id"].as_str().unwrap();
        // Not deliveries: the publisher-side SAS token and the body-less OPTIONS handshake.
        if id == "eventgrid-sas-token-publisher-side" || id == "eventgrid-cloudevents-options" {
            continue;
        }
        let (headers, body) = vector(id);
        let payload = parse_body(&headers, &body).ok();
        let expected = expected_provider(v["provider"].as_str().unwrap());
        assert_eq!(detect(&headers, payload.as_ref()), Some(expected), "{id}");
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} vectors checked");
}

#[test]
fn event_type_and_delivery_id_of_the_vectors() {
    let cases: &[(&str, Option<&str>, Option<&str>)] = &[
        ("github-form-urlencoded", Some("ping"), None),
        ("stripe-valid", None, Some("evt_test_webhook")),
        ("slack-interactivity-form", Some("block_actions"), None),
        ("slack-docs-slash-command", Some("/webhook-collect"), None),
        (
            "stdwebhooks-spec-vector",
            None,
            Some("msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ),
        (
            "svix-branded-headers",
            None,
            Some("msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ),
        (
            "shopify-order-computed",
            Some("orders/create"),
            Some("123456789"),
        ),
        (
            "jira-admin-webhook",
            Some("jira:issue_created"),
            Some("1a2b3c"),
        ),
        (
            "meraki-shared-secret-match",
            Some("Network usage alert"),
            Some("643451796765320956"),
        ),
        (
            "sns-notification-sigv1",
            Some("Notification"),
            Some("22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324"),
        ),
        (
            "eventbridge-basic-auth",
            Some("CloudWatch Alarm State Change"),
            Some("6a7e8feb-b491-4cf7-a9f1-bf3703467718"),
        ),
    ];
    let detected = IdentifySettings::default();
    for (id, event, delivery) in cases {
        let (headers, body) = vector(id);
        let payload = parse_body(&headers, &body).unwrap();
        assert_eq!(
            event_type(&detected, &headers, &payload).as_deref(),
            *event,
            "{id} event"
        );
        assert_eq!(
            delivery_id(&detected, &headers, &payload).as_deref(),
            *delivery,
            "{id} id"
        );
    }
}

struct Case {
    headers: &'static [(&'static str, &'static str)],
    payload: Value,
    provider: Provider,
    event: &'static str,
    delivery: Option<&'static str>,
}

#[test]
fn documented_payload_shapes_are_identified() {
    let cases = [
        Case {
            headers: &[
                ("X-GitHub-Event", "pull_request"),
                ("X-GitHub-Delivery", "72d3162e-cc78"),
            ],
            payload: json!({"action": "opened", "pull_request": {"title": "t"}}),
            provider: Provider::Github,
            event: "pull_request",
            delivery: Some("72d3162e-cc78"),
        },
        Case {
            headers: &[
                ("X-Slack-Signature", "v0=x"),
                ("X-Slack-Request-Timestamp", "1"),
            ],
            payload: json!({"type": "event_callback", "event_id": "Ev08MFMKH6", "api_app_id": "A1",
                            "event": {"type": "app_mention", "text": "hi"}}),
            provider: Provider::Slack,
            event: "app_mention",
            delivery: Some("Ev08MFMKH6"),
        },
        Case {
            headers: &[("aeg-event-type", "Notification")],
            payload: json!([{"id": "831e1650-001e", "eventType": "Microsoft.Storage.BlobCreated",
                             "subject": "/blobs/x", "eventTime": "2017-06-26T18:41:00Z",
                             "dataVersion": "1", "data": {}}]),
            provider: Provider::Azure,
            event: "Microsoft.Storage.BlobCreated",
            delivery: Some("831e1650-001e"),
        },
        Case {
            headers: &[(
                "content-type",
                "application/cloudevents+json; charset=utf-8",
            )],
            payload: json!({"specversion": "1.0", "type": "Microsoft.Storage.BlobDeleted",
                            "source": "/subscriptions/s/storage", "id": "9aeb0fdf", "data": {}}),
            provider: Provider::Azure,
            event: "Microsoft.Storage.BlobDeleted",
            delivery: Some("/subscriptions/s/storage#9aeb0fdf"),
        },
        Case {
            headers: &[
                ("shopify-topic", "orders/paid"),
                ("shopify-webhook-id", "w-1"),
                ("shopify-event-id", "e-1"),
            ],
            payload: json!({"id": 1}),
            provider: Provider::Shopify,
            event: "orders/paid",
            delivery: Some("e-1"),
        },
        Case {
            headers: &[],
            payload: json!({"alertTypeId": "settings_changed", "alertType": "Settings changed",
                            "organizationId": "1", "alertId": "42", "version": "0.1"}),
            provider: Provider::Meraki,
            event: "settings_changed",
            delivery: Some("42"),
        },
        Case {
            headers: &[],
            payload: json!({"timestamp": 1, "webhookEvent": "jira:issue_updated", "issue": {}}),
            provider: Provider::Jira,
            event: "jira:issue_updated",
            delivery: None,
        },
        Case {
            headers: &[],
            payload: json!({"id": "evt_1", "object": "event", "type": "invoice.paid"}),
            provider: Provider::Stripe,
            event: "invoice.paid",
            delivery: Some("evt_1"),
        },
        Case {
            headers: &[
                ("webhook-id", "msg_1"),
                ("webhook-signature", "v1,x"),
                ("webhook-timestamp", "1"),
            ],
            payload: json!({"type": "contact.created", "data": {}}),
            provider: Provider::StandardWebhooks,
            event: "contact.created",
            delivery: Some("msg_1"),
        },
    ];
    let detected = IdentifySettings::default();
    for case in cases {
        let headers = headers_of(case.headers);
        let name = case.provider.name();
        assert_eq!(
            detect(&headers, Some(&case.payload)),
            Some(case.provider),
            "{name}"
        );
        assert_eq!(
            event_type(&detected, &headers, &case.payload).as_deref(),
            Some(case.event),
            "{name}"
        );
        assert_eq!(
            delivery_id(&detected, &headers, &case.payload).as_deref(),
            case.delivery,
            "{name}"
        );
    }
}

#[test]
fn unknown_sender_is_not_detected() {
    let headers = headers_of(&[
        ("user-agent", "curl/8.0"),
        ("content-type", "application/json"),
    ]);
    assert_eq!(detect(&headers, Some(&json!({"hello": "world"}))), None);
    assert_eq!(detect(&headers, None), None);
    assert_eq!(
        event_type(&IdentifySettings::default(), &headers, &json!({"a": 1})),
        None
    );
}

#[test]
fn settings_override_the_provider_defaults() {
    let headers = headers_of(&[("X-GitHub-Event", "push"), ("X-Kind", "custom.kind")]);
    let payload = json!({"type": "t", "data": {"id": "d-9"}, "id": "evt_1"});

    let mut settings = IdentifySettings::default();
    settings.event = Some(Selector::parse("header:X-Kind").unwrap());
    settings.delivery_id = Some(Selector::parse("data.id").unwrap());
    assert_eq!(
        event_type(&settings, &headers, &payload).as_deref(),
        Some("custom.kind")
    );
    assert_eq!(
        delivery_id(&settings, &headers, &payload).as_deref(),
        Some("d-9")
    );

    // The `verify` scheme's provider wins over detection (GitHub headers, Stripe source).
    let stripe = IdentifySettings::for_provider(Provider::Stripe);
    assert_eq!(
        event_type(&stripe, &headers, &payload).as_deref(),
        Some("t")
    );
    assert_eq!(
        delivery_id(&stripe, &headers, &payload).as_deref(),
        Some("evt_1")
    );
}

#[test]
fn provider_names_and_verify_schemes() {
    let names: Vec<&str> = Provider::ALL.iter().map(Provider::name).collect();
    assert_eq!(
        names,
        [
            "github",
            "stripe",
            "slack",
            "aws",
            "meraki",
            "jira",
            "azure",
            "shopify",
            "standard-webhooks"
        ]
    );
    assert_eq!(Provider::from_verify_scheme("aws-sns"), Some(Provider::Aws));
    assert_eq!(
        Provider::from_verify_scheme("GitHub"),
        Some(Provider::Github)
    );
    assert_eq!(Provider::from_verify_scheme("hmac-sha256"), None);
    assert_eq!(Provider::from_verify_scheme("none"), None);
}
