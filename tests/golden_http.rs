//! The golden manifest (`tests/fixtures/golden.json`) replayed over HTTP: every real provider
//! payload, posted with the headers its provider sends to `/webhook/{source}` of a GenHook
//! running the shipped `mappings/`, reaches the SL1 mock with the expected message. This is the
//! whole pipeline — identification from real headers included — on real payloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::golden;
use support::sl1_mock::Sl1Mock;
use support::TestGenHook;

#[tokio::test]
async fn every_golden_payload_reaches_sl1_with_its_expected_message_over_http() {
    let manifest = golden::manifest();
    let sl1 = Sl1Mock::start().await;
    let mut failures = Vec::new();
    let mut delivered = 0;
    for entry in &manifest {
        let source = entry["source"].as_str().unwrap();
        let fixture = entry["fixture"].as_str().unwrap();
        let expected: Vec<String> = match &entry["expected"] {
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            other => vec![other.as_str().unwrap().to_owned()],
        };
        // A fresh service per entry: several published fixtures share one delivery id, which
        // de-duplication would (rightly) drop when replayed to the same service.
        let genhook = golden::with_shipped_mappings(TestGenHook::builder().sl1(&sl1.url()))
            .start()
            .await;
        let headers = golden::headers(entry);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body = golden::body(entry);
        let response = genhook
            .post(&format!("/webhook/{source}"), &headers, body)
            .await;
        let status = response.status();
        let answer = response.text().await.unwrap();
        // GitHub's ping is a handshake: answered 200, never forwarded (its mapping line serves
        // `genhook render`).
        if entry["event"] == "ping" {
            if status != 200 || !answer.contains("pong") {
                failures.push(format!(
                    "{fixture}: handshake answered HTTP {status} {answer}"
                ));
            }
            genhook.shutdown().await;
            continue;
        }
        if status != 202 {
            failures.push(format!("{fixture}: HTTP {status} {answer}"));
            genhook.shutdown().await;
            continue;
        }
        delivered += expected.len();
        let requests = sl1
            .wait_for_accepted(delivered, Duration::from_secs(10))
            .await;
        let mut got: Vec<String> = requests
            .iter()
            .skip(delivered - expected.len())
            .map(|r| r.message().unwrap_or_default().to_owned())
            .collect();
        let mut want = expected.clone();
        got.sort();
        want.sort();
        if got != want {
            failures.push(format!(
                "{fixture}:\n  expected {want:?}\n  got      {got:?}"
            ));
            delivered = requests.len();
        }
        genhook.shutdown().await;
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failures.len(),
        manifest.len(),
        failures.join("\n")
    );
}
