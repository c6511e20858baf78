//! `verify = aws-sns` end to end: a generated CA and SNS signing certificate (rcgen), the
//! certificate served by a loopback HTTPS server (tokio-rustls), messages signed with
//! SignatureVersion 1 (SHA-1) and 2 (SHA-256), verified through an `SnsTrust` that trusts the
//! test CA and the loopback host (an override only code can set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use genhook_core::PipelineLayer;
use genhook_verify::sns::SnsTrust;
use http::StatusCode;
use rcgen::{CertificateParams, KeyPair};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::{json, Value};
use sha2::Digest;
use support::https::{HttpsServer, TestCa};
use support::{b64, request, run, Section};

/// A throw-away RSA-2048 key (generated for these tests; it signs nothing else).
const SIGNING_KEY: &str = include_str!("fixtures/sns_test_signing_key.pem");

/// The test CA and the SNS signing certificate it issued for the test key.
struct Pki {
    ca: TestCa,
    signing_cert_pem: String,
}

fn pki() -> Pki {
    let ca = TestCa::new();
    let signing_key = KeyPair::from_pem(SIGNING_KEY).unwrap();
    let signing_cert = CertificateParams::new(vec!["sns.us-west-2.amazonaws.com".to_owned()])
        .unwrap()
        .signed_by(&signing_key, ca.issuer())
        .unwrap();
    Pki {
        ca,
        signing_cert_pem: signing_cert.pem(),
    }
}

/// Serves `pem` at `/*.pem` (404 at other paths and at paths naming "missing") over HTTPS on
/// 127.0.0.1; counts the requests.
async fn serve(pki: &Pki, pem: String) -> HttpsServer {
    pki.ca
        .serve("application/x-pem-file", move |path| {
            (path.ends_with(".pem") && !path.contains("missing")).then(|| pem.clone())
        })
        .await
}

fn loopback_trust(pki: &Pki) -> SnsTrust {
    SnsTrust::builder()
        .add_root_certificate_pem(pki.ca.pem().as_bytes())
        .unwrap()
        .allow_hosts(|host| host == "127.0.0.1")
        .build()
        .unwrap()
}

/// A server serving the signing certificate, and an `aws-sns` stage that trusts it.
async fn serving_the_signing_certificate() -> (HttpsServer, PipelineLayer) {
    let pki = pki();
    let server = serve(&pki, pki.signing_cert_pem.clone()).await;
    let layer = Section::new()
        .set("verify", "aws-sns")
        .build_with(0, Some(&loopback_trust(&pki)))
        .unwrap();
    (server, layer)
}

/// An SNS message signed with the test key.
fn message(kind: &str, version: u8, cert_url: &str) -> Value {
    let mut m = json!({
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
        "Message": "{\"AlarmName\":\"db01-cpu\",\n\"NewStateValue\":\"ALARM\"}",
        "Timestamp": "2026-11-28T12:00:00.000Z",
        "SignatureVersion": version.to_string(),
        "SigningCertURL": cert_url,
    });
    let keys: &[&str] = if kind == "Notification" {
        m["Subject"] = json!("ALARM: \"db01-cpu\" in US West (Oregon)");
        m["UnsubscribeURL"] = json!("https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe");
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        m["Token"] = json!("2336412f37f");
        m["SubscribeURL"] = json!(
            "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37f"
        );
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let mut canonical = String::new();
    for key in keys {
        canonical.push_str(key);
        canonical.push('\n');
        canonical.push_str(m[*key].as_str().unwrap());
        canonical.push('\n');
    }
    let key = RsaPrivateKey::from_pkcs8_pem(SIGNING_KEY).unwrap();
    let signature = if version == 1 {
        key.sign(
            Pkcs1v15Sign::new::<sha1::Sha1>(),
            &sha1::Sha1::digest(canonical.as_bytes()),
        )
    } else {
        key.sign(
            Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(canonical.as_bytes()),
        )
    }
    .unwrap();
    m["Signature"] = json!(b64(&signature));
    m
}

fn sns_request(message: &Value) -> genhook_core::WebhookRequest {
    request(
        "/webhook/aws",
        &[
            ("x-amz-sns-message-type", message["Type"].as_str().unwrap()),
            ("Content-Type", "text/plain; charset=UTF-8"),
        ],
        message.to_string(),
    )
}

#[tokio::test]
async fn signature_versions_1_and_2_verify_with_a_fetched_certificate_cached_by_url() {
    let pki = pki();
    let server = serve(&pki, pki.signing_cert_pem.clone()).await;
    let trust = loopback_trust(&pki);
    let layer = Section::new()
        .set("verify", "aws-sns")
        .build_with(0, Some(&trust))
        .unwrap();
    let url = format!("{}/SimpleNotificationService-test.pem", server.authority());
    for (kind, version) in [
        ("Notification", 1),
        ("Notification", 2),
        ("SubscriptionConfirmation", 1),
        ("UnsubscribeConfirmation", 2),
    ] {
        let outcome = run(&layer, sns_request(&message(kind, version, &url))).await;
        assert!(outcome.accepted(), "{kind} v{version}: {outcome:?}");
        assert_eq!(outcome.result.unwrap().into_body(), "aws-sns");
    }
    assert_eq!(server.hits(), 1, "fetched once, then cached");
}

#[tokio::test]
async fn tampered_message_is_401_and_never_reaches_inner() {
    let (server, layer) = serving_the_signing_certificate().await;
    let url = format!("{}/cert.pem", server.authority());
    for version in [1, 2] {
        let mut m = message("Notification", version, &url);
        m["Message"] = json!("{\"AlarmName\":\"db01-cpu\",\n\"NewStateValue\":\"OK\"}");
        let outcome = run(&layer, sns_request(&m)).await;
        assert!(outcome.refused_401(), "v{version}: {outcome:?}");
        assert_eq!(outcome.error().metric_reason(), "bad_signature");
        // A changed signature version is a different algorithm: refused too.
        let mut m = message("Notification", version, &url);
        m["SignatureVersion"] = json!(if version == 1 { "2" } else { "1" });
        assert!(run(&layer, sns_request(&m)).await.refused_401());
    }
}

#[tokio::test]
async fn non_sns_host_is_refused_without_fetching() {
    let pki = pki();
    let server = serve(&pki, pki.signing_cert_pem.clone()).await;
    // The production trust: the loopback server is not an SNS host.
    let layer = Section::new()
        .set("verify", "aws-sns")
        .build_with(0, Some(&SnsTrust::new().unwrap()))
        .unwrap();
    let url = format!("{}/cert.pem", server.authority());
    let outcome = run(&layer, sns_request(&message("Notification", 2, &url))).await;
    assert!(outcome.refused_401(), "{outcome:?}");
    assert_eq!(outcome.error().metric_reason(), "untrusted_certificate");
    // http, a non-.pem path and a look-alike host are refused by the loopback trust too.
    let trust = loopback_trust(&pki);
    let layer = Section::new()
        .set("verify", "aws-sns")
        .build_with(0, Some(&trust))
        .unwrap();
    for bad in [
        format!("http://127.0.0.1:{}/cert.pem", server.port()),
        format!("{}/cert.txt", server.authority()),
        format!("https://127.0.0.2:{}/cert.pem", server.port()),
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem".to_owned(),
    ] {
        let outcome = run(&layer, sns_request(&message("Notification", 2, &bad))).await;
        assert!(outcome.refused_401(), "{bad}: {outcome:?}");
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn raw_message_delivery_is_refused() {
    let layer = Section::new()
        .set("verify", "aws-sns")
        .build_with(0, Some(&SnsTrust::new().unwrap()))
        .unwrap();
    let raw = request(
        "/",
        &[("x-amz-sns-rawdelivery", "true")],
        "{\"AlarmName\":\"x\"}",
    );
    let outcome = run(&layer, raw).await;
    assert!(outcome.refused_401());
    let bare = request("/", &[], "plain text message");
    let outcome = run(&layer, bare).await;
    assert!(outcome.refused_401());
    assert_eq!(outcome.error().metric_reason(), "missing_signature");
}

#[tokio::test]
async fn unavailable_certificate_is_503_with_retry_after() {
    let (server, layer) = serving_the_signing_certificate().await;
    let url = format!("{}/missing.pem", server.authority());
    let outcome = run(&layer, sns_request(&message("Notification", 2, &url))).await;
    assert_eq!(outcome.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(outcome.error().retry_after().is_some());
    assert_eq!(outcome.leaf_calls, 0);
}

#[tokio::test]
async fn a_failed_certificate_url_is_not_fetched_again_at_once() {
    let (server, layer) = serving_the_signing_certificate().await;
    let url = format!("{}/missing.pem", server.authority());
    for _ in 0..3 {
        let outcome = run(&layer, sns_request(&message("Notification", 2, &url))).await;
        assert_eq!(outcome.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(server.hits(), 1);
    // Another URL is still fetched.
    let good = format!("{}/good.pem", server.authority());
    assert!(run(&layer, sns_request(&message("Notification", 2, &good)))
        .await
        .accepted());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn a_certificate_that_is_not_rsa_is_refused() {
    let pki = pki();
    // Serve the CA (an ECDSA certificate) as if it were the signing certificate.
    let server = serve(&pki, pki.ca.pem().to_owned()).await;
    let layer = Section::new()
        .set("verify", "aws-sns")
        .build_with(0, Some(&loopback_trust(&pki)))
        .unwrap();
    let url = format!("{}/cert.pem", server.authority());
    for _ in 0..2 {
        let outcome = run(&layer, sns_request(&message("Notification", 2, &url))).await;
        assert!(outcome.refused_401(), "{outcome:?}");
    }
}

#[tokio::test]
async fn topic_arn_setting_restricts_topics_and_payload_is_left_for_identify() {
    let pki = pki();
    let url = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-x.pem";
    let trust = SnsTrust::builder()
        .pin_certificate(url, pki.signing_cert_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let other = Section::new()
        .set("verify", "aws-sns")
        .set("sns_topic_arn", "arn:aws:sns:us-west-2:123456789012:Other")
        .build_with(0, Some(&trust))
        .unwrap();
    assert!(run(&other, sns_request(&message("Notification", 2, url)))
        .await
        .refused_401());
    let mine = Section::new()
        .set("verify", "aws-sns")
        .set(
            "sns_topic_arn",
            "arn:aws:sns:us-west-2:123456789012:Other, arn:aws:sns:us-west-2:123456789012:MyTopic",
        )
        .build_with(0, Some(&trust))
        .unwrap();
    use tower::{Layer, ServiceExt};
    let service = mine.layer(tower::util::BoxCloneSyncService::new(tower::service_fn(
        |r: genhook_core::WebhookRequest| async move {
            let payload = r
                .extensions()
                .get::<genhook_core::stage::Payload>()
                .cloned();
            let message_id = payload
                .map(|p| p.0["MessageId"].to_string())
                .unwrap_or_default();
            Ok::<_, genhook_core::PipelineError>(genhook_core::WebhookResponse::new(
                message_id.into(),
            ))
        },
    )));
    let body = service
        .oneshot(sns_request(&message("Notification", 1, url)))
        .await
        .unwrap()
        .into_body();
    assert_eq!(body, "\"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\"");
}
