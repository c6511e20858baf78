//! Properties of the HMAC family (any body: sign then verify passes; flip one bit of the body
//! or the signature and it is refused), and the header and field parsers on arbitrary input
//! (never panic) — the same bodies the cargo-fuzz targets in `fuzz/` run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use genhook_core::WebhookRequest;
use genhook_verify::scheme::{self, Encoding, HmacHeader, Slack, StandardWebhooks, Stripe};
use genhook_verify::{FixedClock, Secrets, SharedClock, Verifier, VerifyError};
use proptest::prelude::*;
use support::{b64, hmac256, request};

const NOW: i64 = 1_700_000_000;
const WINDOW: Duration = Duration::from_secs(300);

fn clock() -> SharedClock {
    SharedClock::new(FixedClock(NOW))
}

/// (verifier, signer producing the headers for a body)
type Case = (
    Box<dyn Verifier>,
    Box<dyn Fn(&[u8]) -> Vec<(String, String)>>,
);

fn cases(secret: &str) -> Vec<Case> {
    let secrets = Secrets::parse(secret).unwrap();
    let key = secret.as_bytes().to_vec();
    let (k1, k2, k3, k4, k5) = (key.clone(), key.clone(), key.clone(), key.clone(), key);
    let whsec = format!("whsec_{}", b64(secret.as_bytes()));
    vec![
        (
            Box::new(scheme::github::verifier(&secrets)),
            Box::new(move |body| {
                vec![(
                    "X-Hub-Signature-256".into(),
                    format!("sha256={}", hex::encode(hmac256(&k1, &[body]))),
                )]
            }),
        ),
        (
            Box::new(scheme::shopify::verifier(&secrets)),
            Box::new(move |body| {
                vec![("X-Shopify-Hmac-Sha256".into(), b64(&hmac256(&k2, &[body])))]
            }),
        ),
        (
            Box::new(HmacHeader::new("X-Sig", "", Encoding::Base64, &secrets)),
            Box::new(move |body| vec![("X-Sig".into(), b64(&hmac256(&k3, &[body])))]),
        ),
        (
            Box::new(Stripe::new(&secrets, WINDOW, clock())),
            Box::new(move |body| {
                let mac = hmac256(&k4, &[NOW.to_string().as_bytes(), b".", body]);
                vec![(
                    "Stripe-Signature".into(),
                    format!("t={NOW},v1={}", hex::encode(mac)),
                )]
            }),
        ),
        (
            Box::new(Slack::new(&secrets, WINDOW, clock())),
            Box::new(move |body| {
                let mac = hmac256(&k5, &[b"v0:", NOW.to_string().as_bytes(), b":", body]);
                vec![
                    ("X-Slack-Request-Timestamp".into(), NOW.to_string()),
                    (
                        "X-Slack-Signature".into(),
                        format!("v0={}", hex::encode(mac)),
                    ),
                ]
            }),
        ),
        (
            Box::new(
                StandardWebhooks::new(&Secrets::parse(&whsec).unwrap(), WINDOW, clock()).unwrap(),
            ),
            {
                let key = secret.as_bytes().to_vec();
                Box::new(move |body| {
                    let mac = hmac256(&key, &[b"id1.", NOW.to_string().as_bytes(), b".", body]);
                    vec![
                        ("webhook-id".into(), "id1".into()),
                        ("webhook-timestamp".into(), NOW.to_string()),
                        ("webhook-signature".into(), format!("v1,{}", b64(&mac))),
                    ]
                })
            },
        ),
    ]
}

fn build(headers: &[(String, String)], body: Vec<u8>) -> WebhookRequest {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    request("/", &pairs, body)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_body_signed_verifies(body in proptest::collection::vec(any::<u8>(), 0..2048),
                                // No comma and no blank: `secret =` is a comma-separated, trimmed list.
                                secret in "[!-+\\--~]{1,40}") {
        for (verifier, sign) in cases(&secret) {
            let headers = sign(&body);
            prop_assert_eq!(verifier.verify(&build(&headers, body.clone())), Ok(()), "{}", verifier.scheme());
        }
    }

    #[test]
    fn any_flipped_body_bit_is_refused(body in proptest::collection::vec(any::<u8>(), 1..2048),
                                       index in any::<prop::sample::Index>(),
                                       bit in 0u8..8) {
        for (verifier, sign) in cases("a shared secret") {
            let headers = sign(&body);
            let mut tampered = body.clone();
            tampered[index.index(body.len())] ^= 1 << bit;
            prop_assert_eq!(verifier.verify(&build(&headers, tampered)), Err(VerifyError::Mismatch), "{}", verifier.scheme());
        }
    }

    #[test]
    fn stripe_header_parser_never_panics(header in ".{0,200}") {
        let _ = scheme::stripe::parse_header(&header);
    }

    #[test]
    fn stripe_header_parser_reads_what_it_is_given(t in any::<i64>(), sigs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 32), 1..4)) {
        let mut header = format!("t={t}");
        for sig in &sigs {
            header.push_str(&format!(",v1={}", hex::encode(sig)));
        }
        header.push_str(",v0=abc");
        let parsed = scheme::stripe::parse_header(&header).unwrap();
        prop_assert_eq!(parsed.timestamp, t);
        prop_assert_eq!(parsed.v1, sigs);
    }

    #[test]
    fn webhook_signature_parser_never_panics(header in ".{0,300}") {
        let _ = scheme::standard_webhooks::parse_signatures(&header).count();
    }

    #[test]
    fn sns_field_parser_never_panics(body in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = genhook_verify::sns::parse_message(&body);
    }

    #[test]
    fn sns_field_parser_on_envelopes_with_arbitrary_values(
        values in proptest::collection::vec(".{0,40}", 10),
        kind in prop::sample::select(vec!["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation", "Other"]),
        drop in 0usize..12,
    ) {
        let keys = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Token", "SubscribeURL", "SigningCertURL", "Signature", "SignatureVersion"];
        let mut object = serde_json::Map::new();
        for (key, value) in keys.iter().zip(&values) {
            object.insert((*key).to_owned(), serde_json::Value::String(value.clone()));
        }
        object.insert("Type".into(), kind.into());
        object.insert("SignatureVersion".into(), "2".into());
        object.insert("Signature".into(), "AAAA".into());
        if let Some(key) = keys.get(drop) {
            object.remove(*key);
        }
        let body = serde_json::Value::Object(object).to_string();
        if let Ok(message) = genhook_verify::sns::parse_message(body.as_bytes()) {
            let tail = format!("Type\n{kind}\n");
            prop_assert!(message.canonical_string().ends_with(&tail));
            prop_assert!(message.canonical_string().starts_with("Message\n"));
        }
    }

    #[test]
    fn every_scheme_survives_arbitrary_headers(value in "[ -~]{0,120}", body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let headers: Vec<(String, String)> = [
            "X-Hub-Signature-256", "X-Hub-Signature", "X-Shopify-Hmac-Sha256", "Stripe-Signature",
            "X-Slack-Signature", "X-Slack-Request-Timestamp", "webhook-id", "webhook-timestamp",
            "webhook-signature", "Authorization", "X-Sig",
        ].iter().map(|h| ((*h).to_owned(), value.clone())).collect();
        let secrets = Secrets::parse("s").unwrap();
        let extra: Vec<Box<dyn Verifier>> = vec![
            Box::new(scheme::BasicAuth::new("u", secrets.clone())),
            Box::new(scheme::Meraki::new(secrets)),
        ];
        for (verifier, _) in cases("s") {
            prop_assert!(verifier.verify(&build(&headers, body.clone())).is_err());
        }
        for verifier in extra {
            prop_assert!(verifier.verify(&build(&headers, body.clone())).is_err());
        }
    }
}
