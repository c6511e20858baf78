//! Provider trust end to end, over real sockets: every real fixture is identified on
//! `POST /webhook` (no source in the path), a redelivery storm yields one alert, and a template
//! that fails keeps the event in the dead-letter queue until the mapping is fixed and replayed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use serde_json::Value;
use support::golden::{self, repo_file, with_shipped_mappings as shipped_mappings};
use support::sl1_mock::Sl1Mock;
use support::TestGenHook;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn every_providers_fixture_is_identified_on_post_webhook() {
    let manifest = golden::manifest();
    let genhook = shipped_mappings(TestGenHook::builder())
        .set("queue_max_size", 1000)
        .start()
        .await;
    let mut failures = Vec::new();
    for entry in &manifest {
        let source = entry["source"].as_str().unwrap();
        let fixture = entry["fixture"].as_str().unwrap();
        if entry["event"] == "ping" {
            continue; // a handshake: answered before a source's event is accepted
        }
        let headers = golden::headers(entry);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body = golden::body(entry);
        let response = genhook.post("/webhook", &headers, body).await;
        let status = response.status().as_u16();
        let answer: Value =
            serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
        // A batch answers with one entry per event; a repeated delivery id answers "duplicate".
        let answered_source = answer["source"]
            .as_str()
            .or_else(|| answer["events"][0]["source"].as_str())
            .unwrap_or_default();
        if !(status == 202 || status == 200) || answered_source != source {
            failures.push(format!(
                "{fixture}: HTTP {status}, source `{answered_source}` (want `{source}`): {answer}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} misidentified:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_redelivery_storm_of_fifty_concurrent_copies_makes_one_alert() {
    let sl1 = Sl1Mock::start().await;
    let genhook = shipped_mappings(TestGenHook::builder())
        .sl1(&sl1.url())
        .start()
        .await;
    let body = std::fs::read(repo_file("tests/fixtures/github/pull_request.opened.json")).unwrap();
    let url = genhook.url("/webhook/github");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = genhook.client.clone();
        let (url, body) = (url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .header("x-github-event", "pull_request")
                .header("x-github-delivery", "storm-0001")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        49,
        "{statuses:?}"
    );
    sl1.wait_for_accepted(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sl1.request_count(), 1);
}

#[tokio::test]
async fn a_failing_template_is_dead_lettered_then_delivered_after_the_fix_and_a_replay() {
    let sl1 = Sl1Mock::start().await;
    let broken = "[shop]\nevent = type\n*: type,id::Order {{truncate id type}}\n";
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", broken)
        .sl1(&sl1.url())
        .set("admin_token", "adm1n-t0ken")
        .start()
        .await;
    let response = genhook
        .post("/webhook/shop", &[], r#"{"type":"paid","id":"A-17"}"#)
        .await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "dead_lettered");

    let letters: Value = genhook
        .client
        .get(genhook.url("/admin/dlq"))
        .bearer_auth("adm1n-t0ken")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(letters["count"], 1, "{letters}");
    let render_error = letters["dead_letters"][0]["render_error"]
        .as_str()
        .unwrap_or_default();
    assert!(render_error.contains("truncate"), "{letters}");

    std::fs::write(
        genhook.mappings_dir().join("shop.ini"),
        "[shop]\nevent = type\n*: type,id::Order $id$ $type$\n",
    )
    .unwrap();
    assert!(genhook.running().reload());
    let replay = genhook.replay_all("adm1n-t0ken").await;
    assert!(
        replay.status().is_success(),
        "{}",
        replay.text().await.unwrap()
    );
    let delivered = sl1.wait_for_accepted(1, WAIT).await;
    assert_eq!(delivered[0].message(), Some("Order A-17 paid"));
}

/// An Event Grid delivery to an Entra-protected webhook, over a real socket: the shipped Azure
/// mapping with `azure_tenant` / `azure_audience`, the tenant's keys pinned in the `EntraTrust`
/// resource (as if fetched), a token signed with the verify tests' throw-away RSA key (read, not
/// generated: RSA key generation takes seconds in a debug build).
#[tokio::test]
async fn an_event_grid_delivery_needs_a_valid_entra_token() {
    use base64::Engine as _;
    use genhook_verify::entra::{EntraTrust, EVENT_GRID_APP_ID};
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const AUDIENCE: &str = "api://genhook-webhook";
    let pem = std::fs::read_to_string(repo_file(
        "layers/verify/tests/fixtures/sns_test_signing_key.pem",
    ))
    .unwrap();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).unwrap();
    let b64url = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let jwks = serde_json::json!({"keys": [{
        "kty": "RSA", "use": "sig", "kid": "k1",
        "n": b64url(&key.n().to_bytes_be()), "e": b64url(&key.e().to_bytes_be()),
    }]});
    let trust = EntraTrust::builder()
        .pin_keys(TENANT, jwks.to_string().as_bytes())
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "aud": AUDIENCE,
        "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        "nbf": now - 60, "exp": now + 3600,
        "azp": EVENT_GRID_APP_ID,
        "roles": ["AzureEventGridSecureWebhookSubscriber"],
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("k1".to_owned());
    let der = key.to_pkcs1_der().unwrap();
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
    )
    .unwrap();

    let mapping = std::fs::read_to_string(repo_file("mappings/azure.ini")).unwrap().replace(
        "[azure]\n",
        &format!(
            "[azure]\nverify = azure\nazure_tenant = {TENANT}\nazure_audience = {AUDIENCE}\nazure_role = AzureEventGridSecureWebhookSubscriber\n"
        ),
    );
    assert!(
        mapping.contains("azure_tenant"),
        "the [azure] section was found"
    );
    let genhook = TestGenHook::builder()
        .mapping("azure.ini", &mapping)
        .customize(move |builder| builder.resource(trust))
        .start()
        .await;
    let body = std::fs::read(repo_file("tests/fixtures/azure/storage.blob-created.json")).unwrap();
    let headers = [
        ("Content-Type", "application/json"),
        ("aeg-event-type", "Notification"),
        ("aeg-subscription-name", "GENHOOK"),
        ("aeg-delivery-count", "0"),
    ];

    let response = genhook.post("/webhook/azure", &headers, body.clone()).await;
    assert_eq!(response.status(), 401);
    let text = response.text().await.unwrap();
    assert!(text.contains("missing `Authorization` header"), "{text}");

    let forged = format!("Bearer {token}x");
    let mut with_forged = headers.to_vec();
    with_forged.push(("Authorization", &forged));
    let response = genhook
        .post("/webhook/azure", &with_forged, body.clone())
        .await;
    assert_eq!(response.status(), 401);
    let text = response.text().await.unwrap();
    let signature = token.rsplit('.').next().unwrap();
    assert!(
        !text.contains(signature),
        "the answer echoes the token: {text}"
    );

    let bearer = format!("Bearer {token}");
    let mut with_token = headers.to_vec();
    with_token.push(("Authorization", &bearer));
    let response = genhook.post("/webhook/azure", &with_token, body).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn an_event_grid_delivery_is_answered_like_any_webhook() {
    let genhook = shipped_mappings(TestGenHook::builder()).start().await;
    let notification = [
        ("content-type", "application/json"),
        ("aeg-event-type", "Notification"),
    ];
    // Event Grid posts an array even for one event: the answer is the single-webhook one.
    let one = std::fs::read(repo_file("tests/fixtures/azure/storage.blob-created.json")).unwrap();
    let response = genhook.post("/webhook/azure", &notification, one).await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["source"], "azure", "{answer}");
    assert_eq!(answer["event"], "Microsoft.Storage.BlobCreated", "{answer}");
    assert_eq!(answer["status"], "queued", "{answer}");
    assert!(answer["id"].is_string(), "{answer}");
    assert!(answer.get("events").is_none(), "{answer}");

    // Two events: the first one's answer, then every one. (Each carries some of its line's
    // fields: an event with none of them is answered "ignored", not queued.)
    let two = serde_json::json!([
        {"id": "ev-1", "eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": "/a", "eventTime": "2026-11-28T10:00:00Z", "data": {"status": "Succeeded", "resourceUri": "/a"}, "dataVersion": "2", "metadataVersion": "1", "topic": "/subscriptions/x"},
        {"id": "ev-2", "eventType": "Microsoft.Resources.ResourceWriteSuccess", "subject": "/b", "eventTime": "2026-11-28T10:00:01Z", "data": {"status": "Succeeded", "resourceUri": "/b"}, "dataVersion": "2", "metadataVersion": "1", "topic": "/subscriptions/x"}
    ]);
    let response = genhook
        .post("/webhook/azure", &notification, two.to_string())
        .await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "queued", "{answer}");
    assert_eq!(
        answer["event"], "Microsoft.Resources.ResourceWriteSuccess",
        "{answer}"
    );
    assert_eq!(answer["count"], 2, "{answer}");
    assert_eq!(
        answer["events"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );
}
