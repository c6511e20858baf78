//! AWS SNS through the HTTP edge, over real sockets: a signed `SubscriptionConfirmation` posted to
//! GenHook makes it fetch the `SubscribeURL` once and answer 200 without forwarding anything to
//! SL1; a forged one is 401 and fetches nothing; a signed `Notification` reaches SL1.
//!
//! "AWS" is a loopback HTTPS server (the SL1 mock in another role, with a generated CA) that
//! serves the signing certificate for every path and records the confirmation GET. GenHook
//! reaches it only because the test inserts an `SnsTrust` and an `SnsConfirmer` that allow
//! `127.0.0.1`, an override only code can make (no configuration key widens the SNS host rule).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use base64::Engine as _;
use genhook_identify::SnsConfirmer;
use genhook_verify::sns::SnsTrust;
use rcgen::{CertificateParams, KeyPair};
use rsa::pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::sl1_mock::{Answer, Sl1Mock, TestPki};
use support::TestGenHook;

/// A throw-away RSA-2048 key (generated for the verify tests; it signs nothing else).
const SIGNING_KEY: &str = include_str!("../layers/verify/tests/fixtures/sns_test_signing_key.pem");

const MAPPING: &str = "[aws]\nverify = aws-sns\n\nNotification: Type,Subject,TopicArn::AWS SNS $Type$: \"$Subject$\" from $TopicArn$\n";

const TOPIC: &str = "arn:aws:sns:us-west-2:123456789012:MyTopic";

/// The AWS side: a loopback HTTPS server answering 200 with the signing certificate.
async fn aws(pki: &TestPki) -> Sl1Mock {
    let key = KeyPair::from_pem(SIGNING_KEY).unwrap();
    let cert = CertificateParams::new(vec!["sns.us-west-2.amazonaws.com".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    Sl1Mock::builder()
        .default_answer(Answer::status(200).body(cert.pem()))
        .tls(pki.identity())
        .start()
        .await
}

/// A GenHook whose SNS certificate fetch and confirmation may reach `127.0.0.1` over HTTPS that
/// the test CA signed.
async fn genhook(pki: &TestPki, sl1: &Sl1Mock) -> TestGenHook {
    let trust = SnsTrust::builder()
        .add_root_certificate_pem(pki.ca_pem.as_bytes())
        .unwrap()
        .allow_hosts(|host| host == "127.0.0.1")
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let confirmer = SnsConfirmer::allowing_loopback(client);
    TestGenHook::builder()
        .mapping("aws.ini", MAPPING)
        .sl1(&sl1.url())
        .customize(move |builder| builder.resource(trust).resource(confirmer))
        .start()
        .await
}

/// An SNS message of `kind`, signed (SignatureVersion 2) with the test key; its certificate and
/// SubscribeURL point at `aws`.
fn signed(kind: &str, aws: &Sl1Mock) -> Value {
    let base = format!("https://127.0.0.1:{}", aws.addr().port());
    let mut m = json!({
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic.",
        "Timestamp": "2026-11-28T12:00:00.000Z",
        "SignatureVersion": "2",
        "SigningCertURL": format!("{base}/SimpleNotificationService-test.pem"),
    });
    let keys: &[&str] = if kind == "Notification" {
        m["Subject"] = json!("ALARM: \"db01-cpu\" in US West (Oregon)");
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
        m["SubscribeURL"] = json!(format!(
            "{base}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37f"
        ));
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
    // The canonical string of AWS's "Verifying the signatures of Amazon SNS messages".
    let canonical: String = keys
        .iter()
        .map(|key| format!("{key}\n{}\n", m[*key].as_str().unwrap()))
        .collect();
    let key = RsaPrivateKey::from_pkcs8_pem(SIGNING_KEY).unwrap();
    let signature = key
        .sign(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(canonical.as_bytes()),
        )
        .unwrap();
    m["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(signature));
    m
}

async fn post(genhook: &TestGenHook, message: &Value) -> (u16, Value) {
    let kind = message["Type"].as_str().unwrap();
    let response = genhook
        .post(
            "/webhook/aws",
            &[
                ("x-amz-sns-message-type", kind),
                ("content-type", "text/plain; charset=UTF-8"),
            ],
            message.to_string(),
        )
        .await;
    let status = response.status().as_u16();
    let body = serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null);
    (status, body)
}

fn confirmations(aws: &Sl1Mock) -> usize {
    aws.requests()
        .iter()
        .filter(|r| r.method == http::Method::GET && r.path.contains("Action=ConfirmSubscription"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_subscription_confirmation_is_confirmed_once_and_never_forwarded() {
    let pki = TestPki::generate();
    let aws = aws(&pki).await;
    let sl1 = Sl1Mock::start().await;
    let genhook = genhook(&pki, &sl1).await;

    let (status, body) = post(&genhook, &signed("SubscriptionConfirmation", &aws)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "subscription confirmed", "{body}");
    assert_eq!(confirmations(&aws), 1, "SubscribeURL fetched once");
    let certificate_fetches = aws
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(".pem"))
        .count();
    assert_eq!(
        certificate_fetches, 1,
        "the signing certificate was fetched"
    );

    // A handshake is never an alert.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sl1.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_subscription_confirmation_is_401_and_fetches_nothing() {
    let pki = TestPki::generate();
    let aws = aws(&pki).await;
    let sl1 = Sl1Mock::start().await;
    let genhook = genhook(&pki, &sl1).await;

    let mut forged = signed("SubscriptionConfirmation", &aws);
    // Someone swaps the SubscribeURL for one of their own: the signature no longer holds.
    forged["SubscribeURL"] = json!(format!(
        "https://127.0.0.1:{}/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:666:Evil&Token=1",
        aws.addr().port()
    ));
    let (status, body) = post(&genhook, &forged).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].is_string(), "a JSON reason: {body}");
    assert_eq!(
        confirmations(&aws),
        0,
        "nothing confirmed for a forged message"
    );
    assert_eq!(sl1.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_notification_reaches_sl1() {
    let pki = TestPki::generate();
    let aws = aws(&pki).await;
    let sl1 = Sl1Mock::start().await;
    let genhook = genhook(&pki, &sl1).await;

    let (status, body) = post(&genhook, &signed("Notification", &aws)).await;
    assert_eq!(status, 202, "{body}");
    let alerts = sl1.wait_for_accepted(1, Duration::from_secs(10)).await;
    assert_eq!(
        alerts[0].message(),
        Some(
            format!(
                "AWS SNS Notification: \"ALARM: \"db01-cpu\" in US West (Oregon)\" from {TOPIC}"
            )
            .as_str()
        )
    );
    assert_eq!(confirmations(&aws), 0);
}
