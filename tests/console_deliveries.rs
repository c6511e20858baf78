//! The record of recent deliveries over real sockets: a webhook SL1 first refuses (503) and then
//! takes shows as `delivered` with both SL1 attempts, its headers and payload masked and the
//! alert sent; one SL1 rejects shows as `dead_lettered`; filters; the record survives a restart
//! on the same data directory (its file flushed at shutdown).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::sl1_mock::{Answer, Sl1Mock};
use support::{TestBuilder, TestGenHook};

const TOKEN: &str = "d3liveries-admin";
const ACME: &str = "[acme]\nverify = token\ntoken_header = X-Acme-Auth\nsecret = ACME-SECRET-77\nevent = kind\n*: kind,msg::Acme $kind$: $msg$\n";

fn builder(sl1: &Sl1Mock) -> TestBuilder {
    TestGenHook::builder()
        .mapping("acme.ini", ACME)
        .set("admin_token", TOKEN)
        .sl1(&sl1.url())
}

async fn post_acme(genhook: &TestGenHook, body: &str) {
    let response = genhook
        .post(
            "/webhook/acme",
            &[
                ("content-type", "application/json"),
                ("x-acme-auth", "ACME-SECRET-77"),
                ("x-request-id", "dlv-1"),
            ],
            body.to_owned(),
        )
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
}

/// Waits until the record lists `count` deliveries; returns the list.
async fn listed(genhook: &TestGenHook, query: &str, count: usize) -> Value {
    let mut last = Value::Null;
    for _ in 0..500 {
        let (status, list) = genhook
            .admin_get(TOKEN, &format!("/admin/deliveries{query}"))
            .await;
        assert_eq!(status, 200, "{list}");
        if list["count"] == count {
            return list;
        }
        last = list;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {count} deliveries, got {last}");
}

#[tokio::test]
async fn settled_events_are_recorded_with_every_sl1_attempt_and_masked() {
    let sl1 = Sl1Mock::builder()
        .answers([Answer::status(503), Answer::created()])
        .start()
        .await;
    let genhook = builder(&sl1).start().await;
    post_acme(
        &genhook,
        r#"{"kind":"build","msg":"green","client_secret":"BODY-SECRET-99"}"#,
    )
    .await;
    let list = listed(&genhook, "", 1).await;
    let summary = &list["deliveries"][0];
    assert_eq!(summary["source"], "acme");
    assert_eq!(summary["event"], "build");
    assert_eq!(summary["http_status"], 202);
    assert_eq!(summary["sl1_status"], "delivered", "{summary}");
    assert_eq!(summary["sl1_http"], 201);
    assert_eq!(summary["attempts"], 2);
    assert_eq!(summary["message"], "Acme build: green");
    assert!(summary["error"].is_null());
    assert!(summary.get("payload").is_none(), "{summary}");

    let id = summary["id"].as_u64().unwrap();
    let (status, detail) = genhook
        .admin_get(TOKEN, &format!("/admin/deliveries/{id}"))
        .await;
    assert_eq!(status, 200);
    let tries = detail["tries"].as_array().unwrap();
    assert_eq!(tries.len(), 2, "{detail}");
    assert_eq!(tries[0]["status"], 503);
    assert!(
        tries[0]["error"].as_str().unwrap().contains("503"),
        "{detail}"
    );
    assert_eq!(tries[1]["status"], 201);
    assert!(tries[1]["error"].is_null());
    assert_eq!(detail["alert"]["message"], "Acme build: green");
    let text = detail.to_string();
    assert!(!text.contains("ACME-SECRET-77"), "{text}");
    assert!(!text.contains("BODY-SECRET-99"), "{text}");
    assert!(
        detail["payload"].as_str().unwrap().contains("green"),
        "{detail}"
    );
    assert!(detail["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h[0] == "x-acme-auth"));

    // SL1 rejects the next one: dead-lettered, with SL1's status and the reason.
    sl1.push_answer(Answer::status(400));
    post_acme(&genhook, r#"{"kind":"deploy","msg":"red"}"#).await;
    let list = listed(&genhook, "", 2).await;
    let newest = &list["deliveries"][0];
    assert_eq!(newest["sl1_status"], "dead_lettered", "{newest}");
    assert_eq!(newest["sl1_http"], 400);
    assert!(
        newest["error"].as_str().unwrap().contains("400"),
        "{newest}"
    );

    let only = listed(&genhook, "?status=dead_lettered", 1).await;
    assert_eq!(only["deliveries"][0]["event"], "deploy");
    let found = listed(&genhook, "?q=GREEN", 1).await;
    assert_eq!(found["deliveries"][0]["event"], "build");
    listed(&genhook, "?source=nosuch", 0).await;
    let (status, _) = genhook.admin_get(TOKEN, "/admin/deliveries/999").await;
    assert_eq!(status, 404);
    let (status, _) = genhook.admin_get(TOKEN, "/admin/deliveries/x").await;
    assert_eq!(status, 400);

    // The record survives a restart.
    let (_, dir) = genhook.shutdown().await;
    let genhook = builder(&sl1).data_dir(dir).start().await;
    let again = listed(&genhook, "", 2).await;
    assert_eq!(again["deliveries"], list["deliveries"]);
}

/// Reads the event stream until `done` holds for the text read so far.
async fn read_until(response: &mut reqwest::Response, done: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    while !done(&text) {
        let chunk = response.chunk().await.unwrap().expect("the stream ended");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test]
async fn the_stream_carries_deliveries_and_refusals_as_they_happen() {
    let sl1 = Sl1Mock::start().await;
    let genhook = builder(&sl1).start().await;
    for (query, bearer) in [
        ("", None),
        ("?token=wrong", None),
        ("?token=wrong", Some(TOKEN)),
    ] {
        let mut request = genhook
            .client
            .get(genhook.url(&format!("/admin/stream{query}")));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        assert_eq!(request.send().await.unwrap().status(), 401, "{query}");
    }
    let mut stream = genhook
        .client
        .get(genhook.url(&format!("/admin/stream?token={TOKEN}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");

    post_acme(&genhook, r#"{"kind":"build","msg":"streamed"}"#).await;
    let text = read_until(&mut stream, |t| t.contains("event: delivery")).await;
    let data = data_of(&text, "delivery");
    assert_eq!(data["message"], "Acme build: streamed", "{text}");
    assert_eq!(data["sl1_status"], "delivered");

    let refused = genhook
        .post(
            "/webhook/acme",
            &[
                ("x-acme-auth", "wrong-secret"),
                ("content-type", "application/json"),
            ],
            r#"{"kind":"build"}"#,
        )
        .await;
    assert_eq!(refused.status(), 401);
    let text = read_until(&mut stream, |t| t.contains("event: refused")).await;
    let data = data_of(&text, "refused");
    assert_eq!(data["source"], "acme", "{text}");
    assert_eq!(data["status"], 401);
    assert!(!text.contains("wrong-secret"), "{text}");

    // With the bearer header too.
    let response = genhook
        .client
        .get(genhook.url("/admin/stream"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    drop(response);
    // Shutdown ends the stream still open.
    let (report, _) = genhook.shutdown().await;
    assert_eq!(report.left_in_queue, 0);
    while let Ok(Some(_)) = stream.chunk().await {}
}

/// The JSON of the first `event: KIND` in the stream's text.
fn data_of(text: &str, kind: &str) -> Value {
    let line = text
        .lines()
        .skip_while(|line| *line != format!("event: {kind}"))
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap();
    serde_json::from_str(line).unwrap()
}

#[tokio::test]
async fn health_counts_per_source_and_the_current_minute() {
    let sl1 = Sl1Mock::builder()
        .answers([Answer::created(), Answer::status(400)])
        .start()
        .await;
    let genhook = builder(&sl1).start().await;
    post_acme(&genhook, r#"{"kind":"build","msg":"one"}"#).await;
    listed(&genhook, "", 1).await;
    post_acme(&genhook, r#"{"kind":"build","msg":"two"}"#).await;
    listed(&genhook, "", 2).await;
    let refused = genhook
        .post("/webhook/acme", &[("x-acme-auth", "nope")], "{}")
        .await;
    assert_eq!(refused.status(), 401);
    for path in ["/webhook/nosuch1", "/webhook/nosuch2"] {
        assert_eq!(genhook.post(path, &[], "{}").await.status(), 404);
    }

    let (status, health) = genhook.admin_get(TOKEN, "/admin/health").await;
    assert_eq!(status, 200, "{health}");
    let acme = health["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "acme")
        .unwrap_or_else(|| panic!("{health}"));
    assert_eq!(acme["received"], 2, "{health}");
    assert_eq!(acme["delivered"], 1, "{health}");
    assert_eq!(acme["dead_lettered"], 1, "{health}");
    assert_eq!(acme["refused"], 1, "{health}");
    // Unknown sources count under "", never under the name a path asked for.
    let names: Vec<&str> = health["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["", "acme"], "{health}");
    assert_eq!(health["sources"][0]["refused"], 2);
    assert_eq!(health["queue"]["depth"], 0);
    assert_eq!(health["queue"]["dead_letters"], 1);
    assert_eq!(health["sl1"]["circuit"], "closed");
    assert!(health["sl1"]["latency_p95_ms"].is_u64(), "{health}");
    assert_eq!(health["series"]["step_s"], 60);
    let points = health["series"]["points"].as_array().unwrap();
    let current = points.last().unwrap();
    assert_eq!(current["received"], 2, "{health}");
    assert_eq!(current["delivered"], 1);
    assert_eq!(current["dead_lettered"], 1);
    assert_eq!(current["refused"], 3);

    let unauthorized = genhook.get("/admin/health").await;
    assert_eq!(unauthorized.status(), 401);
}

#[tokio::test]
async fn without_sl1_an_event_is_recorded_as_written_to_the_outbox() {
    let genhook = TestGenHook::builder()
        .mapping("acme.ini", ACME)
        .set("admin_token", TOKEN)
        .start()
        .await;
    post_acme(&genhook, r#"{"kind":"build","msg":"offline"}"#).await;
    let list = listed(&genhook, "?status=outbox", 1).await;
    let summary = &list["deliveries"][0];
    assert_eq!(summary["message"], "Acme build: offline", "{summary}");
    assert!(summary["sl1_http"].is_null());
    let id = summary["id"].as_u64().unwrap();
    let (_, detail) = genhook
        .admin_get(TOKEN, &format!("/admin/deliveries/{id}"))
        .await;
    assert_eq!(detail["tries"], serde_json::json!([]));
    let (_, health) = genhook.admin_get(TOKEN, "/admin/health").await;
    assert!(health["sl1"]["circuit"].is_null(), "{health}");
    assert_eq!(health["sources"][0]["delivered"], 1, "{health}");
}
