//! Every row of the README's HTTP table, over real sockets, against a real SL1 mock — on the
//! memory queue here, and on the disk queue (the default backend) through
//! tests/http_contract_disk.rs, which compiles this same file again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use support::sl1_mock::{Answer, Sl1Mock};
use support::{TestBuilder, DESIGN_LINES};

/// A GenHook on this test binary's queue backend: `disk` (its store in the test's temporary
/// data directory) when this file is compiled as part of tests/http_contract_disk.rs, `memory`
/// otherwise.
fn builder() -> TestBuilder {
    support::TestGenHook::builder().set("queue_backend", queue_backend())
}

fn queue_backend() -> &'static str {
    if env!("CARGO_CRATE_NAME") == "http_contract_disk" {
        "disk"
    } else {
        "memory"
    }
}

#[tokio::test]
async fn these_tests_run_on_the_backend_of_their_binary() {
    let genhook = builder().mapping("design.ini", DESIGN_LINES).start().await;
    assert_eq!(genhook.running().backend().queue.backend(), queue_backend());
    let store = genhook.dir().join("data/queue.redb");
    assert_eq!(
        store.exists(),
        queue_backend() == "disk",
        "{}",
        store.display()
    );
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn body_json(response: reqwest::Response) -> Value {
    let text = response.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Checks the answer's status and that its body is the `{"error": "..."}` every error answer has; the reason.
async fn error_of(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let body = body_json(response).await;
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no JSON error reason: {body}"))
        .to_owned()
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_four_design_lines_reach_sl1_with_their_messages_and_basic_auth() {
    let sl1 = Sl1Mock::start().await;
    let genhook = builder()
        .mapping("design.ini", DESIGN_LINES)
        .sl1(&sl1.url())
        .start()
        .await;

    let github = fixture("github/pull_request.opened.json");
    let stripe = fixture("stripe/payment_intent.succeeded.json");
    let slack = fixture("slack/app_mention.json");
    let aws = fixture("aws/ec2-instance-state-change.json");
    for (source, body) in [
        ("github", &github),
        ("stripe", &stripe),
        ("slack", &slack),
        ("aws", &aws),
    ] {
        let response = genhook
            .post(
                &format!("/webhook/{source}"),
                &[("content-type", "application/json")],
                body.clone(),
            )
            .await;
        assert_eq!(response.status(), 202, "{source}");
        let answer = body_json(response).await;
        assert_eq!(answer["source"], source);
        assert_eq!(answer["status"], "queued");
        assert!(answer["id"].as_str().is_some_and(|id| !id.is_empty()));
    }

    let (g, s, k, a) = (json(&github), json(&stripe), json(&slack), json(&aws));
    let mut expected = vec![
        format!(
            "GitHub {} on {}: \"{}\" by {}",
            g["action"].as_str().unwrap(),
            g["repository"]["name"].as_str().unwrap(),
            g["pull_request"]["title"].as_str().unwrap(),
            g["pull_request"]["user"]["login"].as_str().unwrap()
        ),
        format!(
            "Stripe {}: Payment of {} {} status: {}",
            s["type"].as_str().unwrap(),
            s["data"]["object"]["amount"],
            s["data"]["object"]["currency"].as_str().unwrap(),
            s["data"]["object"]["status"].as_str().unwrap()
        ),
        format!(
            "Slack {} from user {}: \"{}\"",
            k["event"]["type"].as_str().unwrap(),
            k["event"]["user"].as_str().unwrap(),
            k["event"]["text"].as_str().unwrap()
        ),
        format!(
            "AWS {} from {} in {}: Instance {} state: {}",
            a["detail-type"].as_str().unwrap(),
            a["source"].as_str().unwrap(),
            a["region"].as_str().unwrap(),
            a["detail"]["instance-id"].as_str().unwrap(),
            a["detail"]["state"].as_str().unwrap()
        ),
    ];
    let requests = sl1.wait_for_accepted(4, WAIT).await;
    assert_eq!(requests.len(), 4);
    let mut got: Vec<String> = requests
        .iter()
        .map(|r| r.message().unwrap().to_owned())
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    for request in &requests {
        assert_eq!(
            request.basic_auth(),
            Some(("em7admin".into(), "em7pass".into()))
        );
        assert_eq!(request.header("x-em7-guid-paths"), Some("1"));
        assert_eq!(
            request.field("aligned_resource"),
            Some("/api/organization/0")
        );
        assert_eq!(request.field("force_ytype"), Some("0"));
        assert_eq!(request.field("message_time"), Some("0"));
    }
}

#[tokio::test]
async fn malformed_body_is_400_json() {
    let genhook = builder().mapping("design.ini", DESIGN_LINES).start().await;
    let response = genhook
        .post(
            "/webhook/github",
            &[("content-type", "application/json")],
            "{not json",
        )
        .await;
    error_of(response, 400).await;

    // Valid JSON with no field to map is malformed for a webhook too.
    let response = genhook
        .post(
            "/webhook/github",
            &[("content-type", "application/json")],
            r#""just a string""#,
        )
        .await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        body_json(response).await["error"],
        "body is a JSON string, not an object or an array"
    );

    // An array is only a batch from Event Grid / CloudEvents; GitHub sends objects.
    for array in ["[1, 2]", "[]", r#"[{"action":"opened"}]"#] {
        let response = genhook
            .post(
                "/webhook/github",
                &[("content-type", "application/json")],
                array,
            )
            .await;
        assert_eq!(response.status(), 400, "{array}");
        let error = body_json(response).await["error"].clone();
        assert!(
            error
                .as_str()
                .unwrap_or_default()
                .contains("not an Event Grid or CloudEvents batch"),
            "{array}: {error}"
        );
    }
}

const SIGNED_GITHUB: &str = "[github]\nverify = github\nsecret = s3cret, n3w-s3cret\nevent = header:X-GitHub-Event\n*: action,repository{full_name}::GitHub $action$ on $repository.full_name$\n";

#[tokio::test]
async fn bad_signature_is_401_and_nothing_is_delivered() {
    let sl1 = Sl1Mock::start().await;
    let genhook = builder()
        .mapping("github.ini", SIGNED_GITHUB)
        .sl1(&sl1.url())
        .start()
        .await;
    let body = fixture("github/issues.opened.json");
    let wrong = github_signature("not-the-secret", &body);
    for headers in [
        vec![
            ("x-github-event", "issues"),
            ("x-hub-signature-256", wrong.as_str()),
        ],
        vec![("x-github-event", "issues")],
    ] {
        let response = genhook
            .post("/webhook/github", &headers, body.clone())
            .await;
        assert_eq!(response.status(), 401);
        let reason = body_json(response).await["error"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!reason.contains("s3cret"), "{reason}");
    }
    // Both rotated secrets are accepted.
    for secret in ["s3cret", "n3w-s3cret"] {
        let good = github_signature(secret, &body);
        let response = genhook
            .post(
                "/webhook/github",
                &[("x-github-event", "issues"), ("x-hub-signature-256", &good)],
                body.clone(),
            )
            .await;
        assert_eq!(response.status(), 202);
    }
    assert_eq!(sl1.wait_for_accepted(2, WAIT).await.len(), 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sl1.request_count(), 2, "a refused webhook reached SL1");
}

#[tokio::test]
async fn stale_slack_timestamp_is_401() {
    let mapping = "[slack]\nverify = slack\nsecret = 8f742231b10e8888abcd99yyyzzz85a5\nevent = event.type\n*: event{type}::Slack $event.type$\n";
    let genhook = builder().mapping("slack.ini", mapping).start().await;
    let body = fixture("slack/app_mention.json");
    let stale = "1531420618"; // 2018: far outside the 5-minute window
    let mut mac = Hmac::<Sha256>::new_from_slice(b"8f742231b10e8888abcd99yyyzzz85a5").unwrap();
    mac.update(format!("v0:{stale}:").as_bytes());
    mac.update(&body);
    let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    let response = genhook
        .post(
            "/webhook/slack",
            &[
                ("x-slack-request-timestamp", stale),
                ("x-slack-signature", &signature),
            ],
            body,
        )
        .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn unknown_source_is_404_json() {
    let genhook = builder().mapping("design.ini", DESIGN_LINES).start().await;
    let response = genhook.post("/webhook/nope", &[], "{}").await;
    assert_eq!(error_of(response, 404).await, "unknown source `nope`");
}

#[tokio::test]
async fn too_large_is_413_json() {
    let genhook = builder()
        .mapping("design.ini", DESIGN_LINES)
        .set("max_body_size", "1KB")
        .start()
        .await;
    let body = format!("{{\"action\":\"{}\"}}", "x".repeat(4096));
    let response = genhook
        .post(
            "/webhook/github",
            &[("content-type", "application/json")],
            body,
        )
        .await;
    let reason = error_of(response, 413).await;
    assert!(reason.contains("max_body_size"), "{reason}");
}

#[tokio::test]
async fn no_mapping_is_422_and_ignore_is_202_ignored() {
    let mapping = "[strict]\nevent = type\nknown: type::Known $type$\n\n[lenient]\nevent = type\nunmapped = ignore\nknown: type::Known $type$\n";
    let genhook = builder().mapping("m.ini", mapping).start().await;
    let response = genhook
        .post("/webhook/strict", &[], r#"{"type":"other"}"#)
        .await;
    let reason = error_of(response, 422).await;
    assert!(reason.contains("other"), "{reason}");
    let response = genhook
        .post("/webhook/lenient", &[], r#"{"type":"other"}"#)
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(body_json(response).await["status"], "ignored");
}

#[tokio::test]
async fn a_payload_with_none_of_the_lines_fields_is_200_ignored_and_not_forwarded() {
    let sl1 = Sl1Mock::start().await;
    let genhook = builder()
        .mapping("design.ini", DESIGN_LINES)
        .sl1(&sl1.url())
        .start()
        .await;
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "pull_request"),
    ];
    // Nothing the line names, or only `null`s: the predecessor answered these without an alert.
    for body in [
        "{}",
        r#"{"zen":"Design for failure.","action":null,"pull_request":{}}"#,
    ] {
        let response = genhook.post("/webhook/github", &headers, body).await;
        assert_eq!(response.status(), 200, "{body}");
        assert_eq!(
            body_json(response).await,
            serde_json::json!({"status": "ignored", "reason": "no mapped field present"})
        );
    }
    // A real delivery after them is the first and only alert SL1 sees.
    let github = fixture("github/pull_request.opened.json");
    let response = genhook
        .post("/webhook/github", &headers, github.clone())
        .await;
    assert_eq!(response.status(), 202);
    let requests = sl1.wait_for_accepted(1, WAIT).await;
    let g = json(&github);
    assert_eq!(
        requests.first().and_then(|r| r.message()),
        Some(
            format!(
                "GitHub opened on {}: \"{}\" by {}",
                g["repository"]["name"].as_str().unwrap(),
                g["pull_request"]["title"].as_str().unwrap(),
                g["pull_request"]["user"]["login"].as_str().unwrap()
            )
            .as_str()
        )
    );
    assert_eq!(sl1.request_count(), 1);
    let metrics = genhook.metrics().await;
    let ignored = support::metric_value(
        &metrics,
        "genhook_webhooks_rejected_total",
        &[r#"source="github""#, r#"reason="no_mapped_field""#],
    );
    assert!(ignored.is_some_and(|n| n >= 2.0), "{metrics}");
}

#[tokio::test]
async fn a_json_path_field_reaches_what_the_compact_list_cannot() {
    let sl1 = Sl1Mock::start().await;
    // The labels a filter picks out of the real GitHub `issues` example; once with the event
    // type from the header (identify reads the body for the line), once without.
    let mapping = "[github]\nissues: action,issue{title},bug=$.issue.labels[?(@.name=='bug')].name,sev=$.issue.labels[?search(@.name, 'sev.*')].name::GitHub issue $action$ \"$issue.title$\" bug=$bug$ sev=$sev$\n";
    let genhook = builder()
        .mapping("github.ini", mapping)
        .sl1(&sl1.url())
        .start()
        .await;
    let body = fixture("github/issues.opened.json");
    for event in [Some("issues"), None] {
        let mut headers = vec![("content-type", "application/json")];
        headers.extend(event.map(|e| ("x-github-event", e)));
        let response = genhook
            .post("/webhook/github", &headers, body.clone())
            .await;
        if event.is_none() {
            // Without the header GitHub's event type is unknown: no line, nothing forwarded.
            assert_eq!(response.status(), 422);
            continue;
        }
        assert_eq!(response.status(), 202);
    }
    let requests = sl1.wait_for_accepted(1, WAIT).await;
    assert_eq!(
        requests.first().and_then(|r| r.message()),
        Some("GitHub issue opened \"Spelling error in the README file\" bug=bug sev=")
    );
}

/// The issue's own example: Azure Monitor's common alert schema keeps a metric alert's values
/// in a list of conditions, which a JSONPath filter picks by metric name; the real sample payload
/// of Microsoft's schema definitions, over HTTP.
#[tokio::test]
async fn a_json_path_filter_picks_an_azure_monitor_metric_by_name() {
    let sl1 = Sl1Mock::start().await;
    let mapping = "[azure_monitor]\nevent = data.essentials.signalType\nMetric: data{essentials{alertRule,monitorCondition,severity}},cpu=$.data.alertContext.condition.allOf[?(@.metricName=='Percentage CPU')].metricValue,disk=$.data.alertContext.condition.allOf[?(@.metricName=='Disk Read Bytes')].metricValue::Azure $data.essentials.severity$ $data.essentials.alertRule$ $data.essentials.monitorCondition$: CPU $cpu$% disk $disk$\n";
    let genhook = builder()
        .mapping("azure_monitor.ini", mapping)
        .sl1(&sl1.url())
        .start()
        .await;
    let response = genhook
        .post(
            "/webhook/azure_monitor",
            &[("content-type", "application/json")],
            fixture("azure-monitor/common-alert.metric.json"),
        )
        .await;
    assert_eq!(response.status(), 202);
    let requests = sl1.wait_for_accepted(1, WAIT).await;
    assert_eq!(
        requests.first().and_then(|r| r.message()),
        Some("Azure Sev3 WCUS-R2-Gen2 Resolved: CPU 7.727% disk ")
    );
}

#[tokio::test]
async fn rate_limited_is_429_with_retry_after() {
    let mapping = "[limited]\nevent = type\nrate_limit = 1/m\n*: type::Event $type$\n";
    let genhook = builder().mapping("m.ini", mapping).start().await;
    assert_eq!(
        genhook
            .post("/webhook/limited", &[], r#"{"type":"a"}"#)
            .await
            .status(),
        202
    );
    let response = genhook
        .post("/webhook/limited", &[], r#"{"type":"b"}"#)
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(body_json(response).await["error"].as_str().is_some());
}

#[tokio::test]
async fn queue_full_is_503_with_retry_after_and_not_ready() {
    // SL1 holds the first delivery for longer than any test runs: its event fills the queue.
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::held())
        .start()
        .await;
    let genhook = builder()
        .mapping("design.ini", DESIGN_LINES)
        .sl1(&sl1.url())
        .set("queue_max_size", 1)
        .set("max_worker_threads", 1)
        .set("sl1_timeout", "1200s")
        .start()
        .await;
    let body = fixture("github/pull_request.opened.json");
    assert_eq!(
        genhook
            .post("/webhook/github", &[], body.clone())
            .await
            .status(),
        202
    );
    let response = genhook.post("/webhook/github", &[], body).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(body_json(response).await["error"], "queue is full");
    assert_eq!(genhook.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn shutting_down_is_503_and_not_ready() {
    let genhook = builder().mapping("design.ini", DESIGN_LINES).start().await;
    assert_eq!(genhook.get("/readyz").await.status(), 200);
    genhook.running().state().begin_shutdown();
    let response = genhook.post("/webhook/github", &[], "{}").await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(genhook.get("/readyz").await.status(), 503);
}

#[tokio::test]
async fn health_metrics_openapi_and_docs_are_served() {
    let genhook = builder().mapping("design.ini", DESIGN_LINES).start().await;
    assert_eq!(
        body_json(genhook.get("/healthz").await).await["status"],
        "ok"
    );
    assert_eq!(genhook.get("/readyz").await.status(), 200);
    let openapi = body_json(genhook.get("/openapi.json").await).await;
    assert!(openapi["paths"]["/webhook/{source}"]["post"].is_object());
    let docs = genhook.get("/docs").await;
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("/webhook/{source}"));
    let metrics = genhook.get("/metrics").await;
    assert_eq!(metrics.status(), 200);
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
}

#[tokio::test]
async fn unknown_endpoint_is_404_and_wrong_method_is_405_both_json() {
    let genhook = builder().mapping("design.ini", DESIGN_LINES).start().await;
    let response = genhook.get("/nowhere").await;
    error_of(response, 404).await;
    let response = genhook.get("/webhook/github").await;
    error_of(response, 405).await;
}

#[tokio::test]
async fn admin_is_off_without_a_token() {
    let genhook = builder().mapping("design.ini", DESIGN_LINES).start().await;
    let response = genhook.get("/admin/dlq").await;
    let reason = error_of(response, 404).await;
    assert!(reason.contains("admin_token"), "{reason}");
}

#[tokio::test]
async fn a_url_token_is_required_and_checked() {
    let mapping = "[tokened]\ntoken = t0ken-123\nevent = type\n*: type::Event $type$\n";
    let genhook = builder().mapping("m.ini", mapping).start().await;
    assert_eq!(
        genhook
            .post("/webhook/tokened/t0ken-123", &[], r#"{"type":"a"}"#)
            .await
            .status(),
        202
    );
    assert_eq!(
        genhook
            .post("/webhook/tokened/wrong", &[], r#"{"type":"a"}"#)
            .await
            .status(),
        404
    );
    assert_eq!(
        genhook
            .post("/webhook/tokened", &[], r#"{"type":"a"}"#)
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn legacy_webhooks_lines_serve_at_their_token_with_their_alignment() {
    let mapping = "[webhooks]\ngithub_abc123|org:42|action,repository{name}|GitHub $action$ on $repository.name$\n";
    let sl1 = Sl1Mock::start().await;
    let genhook = builder()
        .mapping("legacy.ini", mapping)
        .sl1(&sl1.url())
        .start()
        .await;
    let body = fixture("github/issues.opened.json");
    let response = genhook
        .post(
            "/webhook/github/abc123",
            &[("x-github-event", "issues")],
            body.clone(),
        )
        .await;
    assert_eq!(response.status(), 202);
    let requests = sl1.wait_for_accepted(1, WAIT).await;
    let payload = json(&body);
    assert_eq!(
        requests[0].message(),
        Some(
            // The predecessor's message form: `service|token|message`.
            format!(
                "github|abc123|GitHub opened on {}",
                payload["repository"]["name"].as_str().unwrap()
            )
            .as_str()
        )
    );
    assert_eq!(
        requests[0].field("aligned_resource"),
        Some("/api/organization/42")
    );
}

#[tokio::test]
async fn webhook_without_source_is_identified_from_headers() {
    let sl1 = Sl1Mock::start().await;
    let genhook = builder()
        .mapping("design.ini", DESIGN_LINES)
        .sl1(&sl1.url())
        .start()
        .await;
    let body = fixture("github/pull_request.opened.json");
    let response = genhook
        .post(
            "/webhook",
            &[
                ("x-github-event", "pull_request"),
                ("x-github-delivery", "d-1"),
            ],
            body,
        )
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(body_json(response).await["source"], "github");
    let response = genhook
        .post(
            "/webhook",
            &[("content-type", "application/json")],
            r#"{"hello":"world"}"#,
        )
        .await;
    let reason = error_of(response, 404).await;
    assert!(reason.contains("unknown sender"), "{reason}");
}

#[tokio::test]
async fn a_redelivery_is_200_duplicate_and_delivered_once() {
    let sl1 = Sl1Mock::start().await;
    let genhook = builder()
        .mapping("design.ini", DESIGN_LINES)
        .sl1(&sl1.url())
        .start()
        .await;
    let body = fixture("github/pull_request.opened.json");
    let headers = [
        ("x-github-event", "pull_request"),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    ];
    assert_eq!(
        genhook
            .post("/webhook/github", &headers, body.clone())
            .await
            .status(),
        202
    );
    let response = genhook.post("/webhook/github", &headers, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(response).await["status"], "duplicate");
    sl1.wait_for_accepted(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sl1.request_count(), 1);
}

#[tokio::test]
async fn provider_handshakes_are_answered_and_not_forwarded() {
    let sl1 = Sl1Mock::start().await;
    let mapping = "[slack]\nevent = event.type\n*: event{type}::Slack $event.type$\n\n[azure]\nevent = eventType\n*: eventType::Azure $eventType$\n\n[github]\nevent = header:X-GitHub-Event\n*: action::GitHub $action$\n";
    let genhook = builder()
        .mapping("m.ini", mapping)
        .sl1(&sl1.url())
        .start()
        .await;

    let challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P";
    let response = genhook
        .post(
            "/webhook/slack",
            &[("content-type", "application/json")],
            format!(r#"{{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"{challenge}","type":"url_verification"}}"#),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(body_json(response).await["challenge"], challenge);

    let validation = r#"[{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/x","subject":"","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6","validationUrl":"https://rp-eastus2.eventgrid.azure.net:553/eventsubscriptions/estest/validate?id=512d38b6"},"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2018-01-25T22:12:19.4556811Z","metadataVersion":"1","dataVersion":"1"}]"#;
    let response = genhook
        .post(
            "/webhook/azure",
            &[("aeg-event-type", "SubscriptionValidation")],
            validation,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        body_json(response).await["validationResponse"],
        "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"
    );

    let response = genhook
        .post(
            "/webhook/github",
            &[("x-github-event", "ping")],
            fixture("github/ping.json"),
        )
        .await;
    assert_eq!(response.status(), 200);

    let response = genhook
        .client
        .request(reqwest::Method::OPTIONS, genhook.url("/webhook/azure"))
        .header("webhook-request-origin", "eventemitter.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["webhook-allowed-origin"],
        "eventemitter.example.com"
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sl1.request_count(), 0, "a handshake reached SL1");
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn ssl_enabled_serves_https_with_the_configured_certificate() {
    let pki = support::sl1_mock::TestPki::generate();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, pem("CERTIFICATE", &pki.identity.cert_chain[0])).unwrap();
    std::fs::write(&key, pem("PRIVATE KEY", pki.identity.key.secret_der())).unwrap();
    let genhook = builder()
        .mapping("design.ini", DESIGN_LINES)
        .set("ssl_enabled", "true")
        .set("ssl_cert_path", cert.display())
        .set("ssl_key_path", key.display())
        .start()
        .await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/webhook/github", genhook.addr.port());
    let response = client
        .post(&url)
        .header("x-github-event", "pull_request")
        .body(fixture("github/pull_request.opened.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/healthz", genhook.addr.port()))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[tokio::test]
async fn a_source_named_after_a_provider_reads_that_providers_event_type() {
    let genhook = builder().mapping("design.ini", DESIGN_LINES).start().await;
    // No provider header and a bare payload: the source's name says it is Stripe / Slack.
    for (source, body, event) in [
        (
            "stripe",
            r#"{"type":"payment_intent.succeeded","data":{"object":{"amount":100,"currency":"usd","status":"succeeded"}}}"#,
            "payment_intent.succeeded",
        ),
        (
            "slack",
            r#"{"type":"event_callback","event":{"type":"message","user":"U1","text":"hi"}}"#,
            "message",
        ),
    ] {
        let path = format!("/webhook/{source}");
        let response = genhook
            .post(&path, &[("content-type", "application/json")], body)
            .await;
        assert_eq!(response.status(), 202, "{source}");
        assert_eq!(body_json(response).await["event"], event, "{source}");
    }
}

/// A stage that panics: GenHook answers the JSON 500 of a panic.
#[derive(Clone)]
struct Panics;

impl genhook::core::LayerFactory for Panics {
    fn name(&self) -> &'static str {
        "panics"
    }

    fn build(
        &self,
        _cx: &genhook::core::BuildContext<'_>,
    ) -> Result<genhook::core::PipelineLayer, Vec<genhook::core::BuildError>> {
        Ok(tower::util::BoxCloneSyncServiceLayer::new(
            tower::util::MapRequestLayer::new(
                |_: genhook::core::WebhookRequest| -> genhook::core::WebhookRequest {
                    panic!("a stage panicked (on purpose)")
                },
            ),
        ))
    }
}

/// Every answer carries `x-request-id` (a fresh one, or the caller's own when it sent one):
/// 2xx, 4xx, 5xx (a load-shedding 503 and a panic's 500), 404, admin, /metrics, /healthz.
#[tokio::test]
async fn every_answer_carries_an_x_request_id() {
    const TOKEN: &str = "admin-token-for-the-request-id-test";
    let sl1 = Sl1Mock::start().await;
    let genhook = builder()
        .mapping("design.ini", DESIGN_LINES)
        .mapping(
            "boom.ini",
            "[boom]\nlayers = panics, verify, identify, extract, template, dispatch\n\
             event = type\n*: type::Boom $type$\n",
        )
        .customize(|builder| builder.register_layer(Panics).unwrap())
        .sl1(&sl1.url())
        .set("admin_token", TOKEN)
        .start()
        .await;
    let client = &genhook.client;
    let webhook = fixture("github/pull_request.opened.json");
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "accepted webhook",
            client.post(genhook.url("/webhook/github")).body(webhook),
            202,
        ),
        (
            "malformed body",
            client
                .post(genhook.url("/webhook/github"))
                .body("{not json"),
            400,
        ),
        (
            "unknown source",
            client.post(genhook.url("/webhook/nowhere")).body("{}"),
            404,
        ),
        ("unknown endpoint", client.get(genhook.url("/nowhere")), 404),
        (
            "wrong method",
            client.get(genhook.url("/webhook/github")),
            405,
        ),
        (
            "panic",
            client
                .post(genhook.url("/webhook/boom"))
                .body(r#"{"type":"t"}"#),
            500,
        ),
        ("healthz", client.get(genhook.url("/healthz")), 200),
        ("readyz", client.get(genhook.url("/readyz")), 200),
        ("metrics", client.get(genhook.url("/metrics")), 200),
        (
            "admin",
            client.get(genhook.url("/admin/dlq")).bearer_auth(TOKEN),
            200,
        ),
        (
            "admin without token",
            client.get(genhook.url("/admin/dlq")),
            401,
        ),
    ];
    let check = |what: &str, response: &reqwest::Response, status: u16, sent: Option<&str>| {
        assert_eq!(response.status(), status, "{what}");
        let id = response
            .headers()
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{what} ({status}): no x-request-id"))
            .to_str()
            .unwrap();
        match sent {
            Some(sent) => assert_eq!(id, sent, "{what}: the caller's request id comes back"),
            None => assert!(!id.is_empty(), "{what}: empty x-request-id"),
        }
    };
    for (n, (what, request, status)) in cases.into_iter().enumerate() {
        let again = request.try_clone().unwrap();
        check(what, &request.send().await.unwrap(), status, None);
        let mine = format!("caller-id-{n}");
        let response = again.header("x-request-id", &mine).send().await.unwrap();
        check(what, &response, status, Some(&mine));
    }

    genhook.running().state().begin_shutdown();
    let response = genhook.post("/webhook/github", &[], "{}").await;
    check("shutting down", &response, 503, None);
}
