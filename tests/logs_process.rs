//! The real `genhook serve` process with `log_format = json`: its log file parsed line by line,
//! the `info` line of a delivery and of a refused request, and the flood limit on refusal lines
//! (every refusal either shown or counted in a "suppressed" summary, and far fewer lines than
//! refusals).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

mod crash_common;
mod support;

use std::time::{Duration, Instant};

use crash_common::Site;
use serde_json::Value;
use support::sl1_mock::Sl1Mock;

const WAIT: Duration = Duration::from_secs(60);
/// Requests for an unknown source sent at once.
const FLOOD: usize = 200;

/// Every line of the log file, each parsed as one JSON object (a line that is not one fails).
fn json_lines(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"));
            assert!(value.is_object(), "{line}");
            for key in ["timestamp", "level", "target", "message"] {
                assert!(value.get(key).is_some(), "no {key} in {line}");
            }
            value
        })
        .collect()
}

fn with_message<'a>(lines: &'a [Value], message: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["message"] == message).collect()
}

/// Refusal lines shown and refusals counted in summaries.
fn refusals_accounted(lines: &[Value]) -> (usize, u64) {
    let shown = with_message(lines, "Webhook refused.").len();
    let suppressed = lines
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Suppressed "))
        })
        .map(|l| l["suppressed"].as_u64().unwrap())
        .sum();
    (shown, suppressed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_lines_for_a_delivery_and_for_refused_requests_within_the_flood_limit() {
    let sl1 = Sl1Mock::start().await;
    let site = Site::new(&sl1.url(), &[]);
    let log = site.file("genhook.json.log");
    let site = Site {
        config: crash_common::write_config(
            site.dir.path(),
            "genhook",
            site.port,
            &sl1.url(),
            &[
                ("queue_backend", "memory".into()),
                ("log_level", "info".into()),
                ("log_format", "json".into()),
                ("log_file", log.display().to_string()),
            ],
        ),
        ..site
    };
    let server = site.start("stdout.log").await;
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", site.port);

    let status = client
        .post(format!("{base}/webhook/crash"))
        .header("content-type", "application/json")
        .body(r#"{"n": 7}"#)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 202);
    sl1.wait_for_accepted(1, WAIT).await;

    // A flood of requests for a source nobody configured, from one client.
    let started = Instant::now();
    let statuses = futures_util::future::join_all((0..FLOOD).map(|n| {
        client
            .post(format!("{base}/webhook/nosuch"))
            .header("x-hub-signature-256", "sha256=not-a-secret-but-kept-out")
            .body(format!("{{\"n\": {n}}}"))
            .send()
    }))
    .await;
    let flood_took = started.elapsed();
    assert!(statuses.iter().all(|s| s.as_ref().unwrap().status() == 404));
    // A new window: this one is shown, with the count of the lines held back before it.
    tokio::time::sleep(genhook::refused::WINDOW + Duration::from_millis(100)).await;
    let last = client
        .post(format!("{base}/webhook/nosuch"))
        .send()
        .await
        .unwrap();
    assert_eq!(last.status(), 404);

    let total = FLOOD as u64 + 1;
    let deadline = Instant::now() + WAIT;
    let lines = loop {
        let lines = json_lines(&log);
        let (shown, suppressed) = refusals_accounted(&lines);
        let delivered = !with_message(&lines, "Event delivered.").is_empty();
        if delivered && shown as u64 + suppressed == total {
            break lines;
        }
        assert!(
            Instant::now() < deadline,
            "{shown} shown + {suppressed} suppressed of {total} refusals, delivered: {delivered}:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let delivered = with_message(&lines, "Event delivered.");
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let line = delivered[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["source"], "crash");
    assert!(line["event"].is_string(), "{line}");
    assert!(line["delivery_id"].is_string(), "{line}");
    assert_eq!(line["sl1_status"], 201);
    assert_eq!(line["attempts"], 1);
    assert!(line["latency_ms"].is_u64(), "{line}");

    let refused = with_message(&lines, "Webhook refused.");
    let first = refused[0];
    assert_eq!(first["level"], "INFO");
    assert_eq!(first["reason"], "unknown_source");
    assert_eq!(first["source"], "nosuch");
    assert_eq!(first["client"], "127.0.0.1");
    assert_eq!(first["status"], 404);

    // The flood limit: at most LINES_PER_WINDOW lines per started window.
    let windows = flood_took.as_secs() + 2;
    let limit = u64::from(genhook::refused::LINES_PER_WINDOW) * windows;
    let (shown, suppressed) = refusals_accounted(&lines);
    println!("{total} refusals in {flood_took:?}: {shown} lines, {suppressed} suppressed");
    assert!(shown as u64 <= limit, "{shown} lines > {limit}");
    assert!(suppressed > 0);

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("not-a-secret-but-kept-out"),
        "a header value in the log"
    );
    drop(server);
}
