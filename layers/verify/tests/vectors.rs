//! Every vector of `tests/fixtures/signature_vectors.json` (origins in tests/fixtures/SOURCES.md): valid ones are
//! accepted and reach the inner service, invalid ones are refused with 401 and never reach it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use genhook_verify::sns::SnsTrust;
use serde_json::Value;
use support::{request, run, Section};

const VECTORS: &str = include_str!("../../../tests/fixtures/signature_vectors.json");

/// Vectors that are not the verify stage's business: Event Grid's handshakes (answered by the
/// handshake responder) and the SAS token Event Grid *publishers* send (never sent to webhooks).
const NOT_VERIFY_STAGE: &[&str] = &[
    "eventgrid-subscription-validation",
    "eventgrid-cloudevents-options",
    "eventgrid-sas-token-publisher-side",
];

fn section_for(vector: &Value) -> Option<Section> {
    let provider = vector["provider"].as_str().unwrap();
    let secret = vector["secret"].as_str().unwrap_or_default();
    let section = Section::new();
    Some(match provider {
        "github" | "stripe" | "slack" | "shopify" | "jira" | "meraki" | "standard-webhooks" => {
            section.set("verify", provider).set("secret", secret)
        }
        "aws-sns" => section.set("verify", "aws-sns"),
        "aws-eventbridge-api-destination" => {
            if vector["headers"].get("Authorization").is_some() {
                let (user, password) = secret.split_once(':').unwrap();
                section
                    .set("verify", "basic")
                    .set("username", user)
                    .set("secret", password)
            } else {
                let (header, key) = secret.split_once('=').unwrap();
                section
                    .set("verify", "api-key")
                    .set("api_key_header", header)
                    .set("secret", key)
            }
        }
        _ => return None,
    })
}

/// The SNS vectors' certificate, pinned at the URL the message names (the vectors use a
/// throw-away certificate, so it is injected rather than fetched).
fn sns_trust(vector: &Value) -> Option<SnsTrust> {
    let pem = vector["extra"].get("certificate_pem")?.as_str()?;
    let body: Value = serde_json::from_str(vector["body"].as_str()?).ok()?;
    let url = body["SigningCertURL"].as_str()?;
    Some(
        SnsTrust::builder()
            .pin_certificate(url, pem.as_bytes())
            .unwrap()
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn every_vector_is_accepted_or_refused_as_published() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(vectors.len(), 41, "the vector file holds 41 vectors");
    let mut skipped = Vec::new();
    let mut checked = 0;
    for vector in &vectors {
        let id = vector["id"].as_str().unwrap();
        let Some(section) = section_for(vector) else {
            skipped.push(id);
            continue;
        };
        // The bad-host SNS vector carries no certificate: pin the good one at its URL, so that
        // only the host rule can refuse it.
        let trust = sns_trust(vector).or_else(|| {
            let good = vectors
                .iter()
                .find(|v| v["id"] == "sns-notification-sigv1")?;
            let pem = good["extra"]["certificate_pem"].as_str()?;
            let body: Value = serde_json::from_str(vector["body"].as_str()?).ok()?;
            let url = body["SigningCertURL"].as_str()?;
            SnsTrust::builder()
                .pin_certificate(url, pem.as_bytes())
                .ok()?
                .build()
                .ok()
        });
        let now = vector["now"].as_i64().unwrap_or(0);
        let layer = section.build_with(now, trust.as_ref()).unwrap();
        let headers: Vec<(&str, &str)> = vector["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect();
        let body = vector["body"].as_str().unwrap().as_bytes().to_vec();
        let outcome = run(&layer, request("/webhook", &headers, body)).await;
        if vector["expected_valid"].as_bool().unwrap() {
            assert!(
                outcome.accepted(),
                "{id}: expected accepted, got {outcome:?}"
            );
        } else {
            assert!(outcome.refused_401(), "{id}: expected 401, got {outcome:?}");
        }
        checked += 1;
    }
    assert_eq!(
        skipped, NOT_VERIFY_STAGE,
        "only the handshake vectors are skipped"
    );
    assert_eq!(checked, 38);
}
