//! Behaviour of every scheme through the layer: signed requests pass and carry `Verified`; one
//! byte changed, a wrong secret, a missing header, a stale or future timestamp each give 401
//! and the inner service never sees the request (checked with `tower_test::mock` too); two
//! secrets rotate; nothing secret shows in `Debug` output or public reasons.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
use http::StatusCode;
use support::{b64, hmac256, request, run, Section};
use tokio_test::{assert_pending, assert_ready_ok};
use tower::{Layer, ServiceExt};

const NOW: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"action":"opened","number":7,"repository":{"name":"genhook"}}"#;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Timestamps {
    None,
    PastOnly,
    BothWays,
}

/// Headers a sender adds, as (name, value).
type Headers = Vec<(String, String)>;

/// A body-signing scheme: how to configure it and how its sender signs (independently of the
/// library).
struct Family {
    name: &'static str,
    section: fn(&str) -> Section,
    secret: &'static str,
    other_secret: &'static str,
    sign: fn(&str, &[u8], i64) -> Headers,
    timestamps: Timestamps,
}

fn whsec(raw: &str) -> String {
    format!("whsec_{}", b64(raw.as_bytes()))
}

fn families() -> Vec<Family> {
    vec![
        Family {
            name: "github",
            section: |s| Section::new().set("verify", "github").set("secret", s),
            secret: "first-secret",
            other_secret: "second-secret",
            sign: |s, body, _| {
                vec![(
                    "X-Hub-Signature-256".into(),
                    format!("sha256={}", hex::encode(hmac256(s.as_bytes(), &[body]))),
                )]
            },
            timestamps: Timestamps::None,
        },
        Family {
            name: "jira",
            section: |s| Section::new().set("verify", "jira").set("secret", s),
            secret: "first-secret",
            other_secret: "second-secret",
            sign: |s, body, _| {
                vec![(
                    "X-Hub-Signature".into(),
                    format!("sha256={}", hex::encode(hmac256(s.as_bytes(), &[body]))),
                )]
            },
            timestamps: Timestamps::None,
        },
        Family {
            name: "shopify",
            section: |s| Section::new().set("verify", "shopify").set("secret", s),
            secret: "first-secret",
            other_secret: "second-secret",
            sign: |s, body, _| {
                vec![(
                    "X-Shopify-Hmac-Sha256".into(),
                    b64(&hmac256(s.as_bytes(), &[body])),
                )]
            },
            timestamps: Timestamps::None,
        },
        Family {
            name: "hmac-sha256 (hex, prefix)",
            section: |s| {
                Section::new()
                    .set("verify", "hmac-sha256")
                    .set("secret", s)
                    .set("signature_header", "X-Signature")
                    .set("signature_prefix", "sha256=")
            },
            secret: "first-secret",
            other_secret: "second-secret",
            sign: |s, body, _| {
                vec![(
                    "X-Signature".into(),
                    format!("sha256={}", hex::encode(hmac256(s.as_bytes(), &[body]))),
                )]
            },
            timestamps: Timestamps::None,
        },
        Family {
            name: "hmac-sha256 (base64)",
            section: |s| {
                Section::new()
                    .set("verify", "hmac-sha256")
                    .set("secret", s)
                    .set("signature_header", "X-Body-Mac")
                    .set("signature_encoding", "base64")
            },
            secret: "first-secret",
            other_secret: "second-secret",
            sign: |s, body, _| vec![("X-Body-Mac".into(), b64(&hmac256(s.as_bytes(), &[body])))],
            timestamps: Timestamps::None,
        },
        Family {
            name: "stripe",
            section: |s| Section::new().set("verify", "stripe").set("secret", s),
            secret: "whsec_first",
            other_secret: "whsec_second",
            sign: |s, body, ts| {
                let t = ts.to_string();
                let mac = hmac256(s.as_bytes(), &[t.as_bytes(), b".", body]);
                vec![(
                    "Stripe-Signature".into(),
                    format!("t={t},v1={},v0=deadbeef", hex::encode(mac)),
                )]
            },
            timestamps: Timestamps::PastOnly,
        },
        Family {
            name: "slack",
            section: |s| Section::new().set("verify", "slack").set("secret", s),
            secret: "first-secret",
            other_secret: "second-secret",
            sign: |s, body, ts| {
                let t = ts.to_string();
                let mac = hmac256(s.as_bytes(), &[b"v0:", t.as_bytes(), b":", body]);
                vec![
                    ("X-Slack-Request-Timestamp".into(), t),
                    (
                        "X-Slack-Signature".into(),
                        format!("v0={}", hex::encode(mac)),
                    ),
                ]
            },
            timestamps: Timestamps::BothWays,
        },
        Family {
            name: "standard-webhooks",
            section: |s| {
                Section::new()
                    .set("verify", "standard-webhooks")
                    .set("secret", s)
            },
            secret: "whsec_Zmlyc3Qtc2VjcmV0LWtleS1ieXRlcw==",
            other_secret: "whsec_c2Vjb25kLXNlY3JldC1rZXktYnl0ZXM=",
            sign: |s, body, ts| {
                let key = support::b64_decode(s.strip_prefix("whsec_").unwrap());
                let t = ts.to_string();
                let mac = hmac256(&key, &[b"msg_1.", t.as_bytes(), b".", body]);
                vec![
                    ("webhook-id".into(), "msg_1".into()),
                    ("webhook-timestamp".into(), t),
                    (
                        "webhook-signature".into(),
                        format!("v1a,AAAA v1,{}", b64(&mac)),
                    ),
                ]
            },
            timestamps: Timestamps::BothWays,
        },
    ]
}

fn signed(family: &Family, secret: &str, body: &[u8], ts: i64) -> WebhookRequest {
    let headers = (family.sign)(secret, body, ts);
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    request("/webhook/test", &headers, body.to_vec())
}

#[test]
fn whsec_helper_encodes_like_the_fixture_secrets() {
    assert_eq!(whsec("first-secret-key-bytes"), families()[7].secret);
}

#[tokio::test]
async fn signed_request_is_accepted_and_marked_verified() {
    for family in families() {
        let layer = (family.section)(family.secret).build_at(NOW).unwrap();
        let outcome = run(&layer, signed(&family, family.secret, BODY, NOW)).await;
        assert!(outcome.accepted(), "{}: {outcome:?}", family.name);
        let scheme = outcome.result.unwrap().into_body();
        let expected = family.name.split(' ').next().unwrap();
        assert_eq!(
            scheme,
            expected.as_bytes(),
            "{}: Verified.scheme",
            family.name
        );
    }
}

#[tokio::test]
async fn one_byte_changed_is_401_and_never_reaches_inner() {
    for family in families() {
        let layer = (family.section)(family.secret).build_at(NOW).unwrap();
        for index in [0, BODY.len() / 2, BODY.len() - 1] {
            let original = signed(&family, family.secret, BODY, NOW);
            let (parts, body) = original.into_parts();
            let mut tampered = body.to_vec();
            tampered[index] ^= 0x01;
            let outcome = run(&layer, http::Request::from_parts(parts, tampered.into())).await;
            assert!(
                outcome.refused_401(),
                "{} byte {index}: {outcome:?}",
                family.name
            );
            assert_eq!(outcome.error().metric_reason(), "bad_signature");
        }
    }
}

#[tokio::test]
async fn wrong_secret_is_401_and_never_reaches_inner() {
    for family in families() {
        let layer = (family.section)(family.secret).build_at(NOW).unwrap();
        let outcome = run(&layer, signed(&family, family.other_secret, BODY, NOW)).await;
        assert!(outcome.refused_401(), "{}: {outcome:?}", family.name);
    }
}

#[tokio::test]
async fn missing_header_is_401_and_never_reaches_inner() {
    for family in families() {
        let layer = (family.section)(family.secret).build_at(NOW).unwrap();
        let headers = (family.sign)(family.secret, BODY, NOW);
        for dropped in 0..headers.len() {
            let kept: Vec<(&str, &str)> = headers
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != dropped)
                .map(|(_, (k, v))| (k.as_str(), v.as_str()))
                .collect();
            let outcome = run(&layer, request("/webhook/test", &kept, BODY)).await;
            assert!(
                outcome.refused_401(),
                "{} without {}: {outcome:?}",
                family.name,
                headers[dropped].0
            );
            assert_eq!(outcome.error().metric_reason(), "missing_signature");
        }
    }
}

#[tokio::test]
async fn stale_timestamp_is_401_and_never_reaches_inner() {
    for family in families()
        .into_iter()
        .filter(|f| f.timestamps != Timestamps::None)
    {
        let layer = (family.section)(family.secret).build_at(NOW).unwrap();
        let edge = run(&layer, signed(&family, family.secret, BODY, NOW - 300)).await;
        assert!(
            edge.accepted(),
            "{}: 300 s old is still inside",
            family.name
        );
        let outcome = run(&layer, signed(&family, family.secret, BODY, NOW - 301)).await;
        assert!(outcome.refused_401(), "{}: {outcome:?}", family.name);
        assert_eq!(outcome.error().metric_reason(), "stale_timestamp");
    }
}

#[tokio::test]
async fn future_timestamp_is_401_where_the_provider_refuses_it() {
    for family in families()
        .into_iter()
        .filter(|f| f.timestamps != Timestamps::None)
    {
        let layer = (family.section)(family.secret).build_at(NOW).unwrap();
        let edge = run(&layer, signed(&family, family.secret, BODY, NOW + 300)).await;
        assert!(
            edge.accepted(),
            "{}: 300 s ahead is still inside",
            family.name
        );
        let outcome = run(&layer, signed(&family, family.secret, BODY, NOW + 301)).await;
        match family.timestamps {
            Timestamps::BothWays => {
                assert!(outcome.refused_401(), "{}: {outcome:?}", family.name);
                assert_eq!(outcome.error().metric_reason(), "future_timestamp");
            }
            // stripe-node and stripe-python only refuse the past.
            _ => assert!(outcome.accepted(), "{}: {outcome:?}", family.name),
        }
    }
}

#[tokio::test]
async fn tolerance_setting_changes_the_window() {
    let section = Section::new()
        .set("verify", "slack")
        .set("secret", "s")
        .set("tolerance", "60s");
    let family = &families()[6];
    assert_eq!(family.name, "slack");
    let layer = section.build_at(NOW).unwrap();
    assert!(run(&layer, signed(family, "s", BODY, NOW - 60))
        .await
        .accepted());
    assert!(run(&layer, signed(family, "s", BODY, NOW - 61))
        .await
        .refused_401());
}

#[tokio::test]
async fn two_secrets_rotate() {
    for family in families() {
        let both = format!("{}, {}", family.secret, family.other_secret);
        let layer = (family.section)(&both).build_at(NOW).unwrap();
        for secret in [family.secret, family.other_secret] {
            let outcome = run(&layer, signed(&family, secret, BODY, NOW)).await;
            assert!(
                outcome.accepted(),
                "{} with {secret}: {outcome:?}",
                family.name
            );
        }
        let only_new = (family.section)(family.other_secret).build_at(NOW).unwrap();
        let outcome = run(&only_new, signed(&family, family.secret, BODY, NOW)).await;
        assert!(
            outcome.refused_401(),
            "{}: old secret after rotation",
            family.name
        );
    }
}

#[tokio::test]
async fn mock_inner_never_sees_a_refused_request() {
    for family in families() {
        let layer = (family.section)(family.secret).build_at(NOW).unwrap();
        let (mut service, mut handle) = tower_test::mock::spawn_with(
            |mock: tower_test::mock::Mock<WebhookRequest, WebhookResponse>| {
                layer.layer(tower::util::BoxCloneSyncService::new(
                    mock.map_err(PipelineError::from),
                ))
            },
        );
        handle.allow(1);
        assert_ready_ok!(service.poll_ready());
        let forged = signed(&family, family.other_secret, BODY, NOW);
        let error = service.call(forged).await.unwrap_err();
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED, "{}", family.name);
        assert_pending!(handle.poll_request());

        // And a good one does reach it, with `Verified`.
        handle.allow(1);
        assert_ready_ok!(service.poll_ready());
        let response = service.call(signed(&family, family.secret, BODY, NOW));
        let (request, send) = handle.next_request().await.unwrap();
        assert!(request
            .extensions()
            .get::<genhook_core::stage::Verified>()
            .is_some());
        send.send_response(WebhookResponse::new(bytes::Bytes::new()));
        assert_eq!(response.await.unwrap().status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn mock_inner_never_sees_a_refused_credential() {
    let cases = [
        (
            Section::new().set("verify", "token").set("secret", "t"),
            request("/", &[("X-Webhook-Token", "u")], BODY),
        ),
        (
            Section::new().set("verify", "api-key").set("secret", "k"),
            request("/", &[], BODY),
        ),
        (
            Section::new()
                .set("verify", "basic")
                .set("username", "u")
                .set("secret", "p"),
            request("/", &[("Authorization", "Basic dTpx")], BODY),
        ),
        (
            Section::new().set("verify", "azure").set("secret", "a"),
            request("/?code=b", &[], BODY),
        ),
        (
            Section::new().set("verify", "meraki").set("secret", "m"),
            request("/", &[], r#"{"sharedSecret":"n"}"#),
        ),
    ];
    for (section, forged) in cases {
        let layer = section.build();
        let (mut service, mut handle) = tower_test::mock::spawn_with(
            |mock: tower_test::mock::Mock<WebhookRequest, WebhookResponse>| {
                layer.layer(tower::util::BoxCloneSyncService::new(
                    mock.map_err(PipelineError::from),
                ))
            },
        );
        handle.allow(1);
        assert_ready_ok!(service.poll_ready());
        let error = service.call(forged).await.unwrap_err();
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
        assert_pending!(handle.poll_request());
    }
}

// === the schemes that do not sign the body ===

#[tokio::test]
async fn token_header_checks_the_token() {
    let layer = Section::new()
        .set("verify", "token")
        .set("secret", "tok-1, tok-2")
        .build();
    for good in ["tok-1", "tok-2"] {
        let outcome = run(&layer, request("/", &[("X-Webhook-Token", good)], BODY)).await;
        assert!(outcome.accepted());
    }
    let wrong = run(&layer, request("/", &[("X-Webhook-Token", "tok-3")], BODY)).await;
    assert!(wrong.refused_401());
    assert_eq!(wrong.error().metric_reason(), "bad_credential");
    let missing = run(&layer, request("/", &[("X-Other", "tok-1")], BODY)).await;
    assert!(missing.refused_401());
    let custom = Section::new()
        .set("verify", "token")
        .set("secret", "tok-1")
        .set("token_header", "X-Hook-Key")
        .build();
    assert!(run(&custom, request("/", &[("X-Hook-Key", "tok-1")], BODY))
        .await
        .accepted());
    assert!(
        run(&custom, request("/", &[("X-Webhook-Token", "tok-1")], BODY))
            .await
            .refused_401()
    );
}

#[tokio::test]
async fn api_key_uses_its_default_header() {
    let layer = Section::new()
        .set("verify", "api-key")
        .set("secret", "k-1")
        .build();
    assert!(run(&layer, request("/", &[("X-API-Key", "k-1")], BODY))
        .await
        .accepted());
    assert!(run(&layer, request("/", &[("X-API-Key", "k-1 ")], BODY))
        .await
        .refused_401());
    assert!(run(&layer, request("/", &[], BODY)).await.refused_401());
}

#[tokio::test]
async fn basic_checks_user_and_each_password() {
    let layer = Section::new()
        .set("verify", "basic")
        .set("username", "genhook")
        .set("secret", "old-pass,new-pass")
        .build();
    let header =
        |user: &str, pass: &str| format!("Basic {}", b64(format!("{user}:{pass}").as_bytes()));
    for pass in ["old-pass", "new-pass"] {
        let h = header("genhook", pass);
        assert!(run(&layer, request("/", &[("Authorization", &h)], BODY))
            .await
            .accepted());
    }
    for (user, pass) in [
        ("genhook", "other"),
        ("someone", "new-pass"),
        ("genhook", ""),
    ] {
        let h = header(user, pass);
        assert!(run(&layer, request("/", &[("Authorization", &h)], BODY))
            .await
            .refused_401());
    }
    for bad in [
        "Bearer abc",
        "Basic !!!",
        "Basic",
        &format!("Basic {}", b64(b"no-colon")),
    ] {
        let outcome = run(&layer, request("/", &[("Authorization", bad)], BODY)).await;
        assert!(outcome.refused_401(), "{bad}");
    }
    assert!(run(&layer, request("/", &[], BODY)).await.refused_401());
}

#[tokio::test]
async fn azure_accepts_the_query_parameter_or_the_header() {
    let layer = Section::new()
        .set("verify", "azure")
        .set("secret", "az-1,az-2")
        .set("azure_header", "X-GenHook-Key")
        .build();
    assert!(run(&layer, request("/webhook/azure?code=az-1", &[], BODY))
        .await
        .accepted());
    assert!(
        run(&layer, request("/webhook/azure?x=1&code=az%2D2", &[], BODY))
            .await
            .accepted()
    );
    assert!(run(
        &layer,
        request("/webhook/azure", &[("X-GenHook-Key", "az-2")], BODY)
    )
    .await
    .accepted());
    assert!(run(&layer, request("/webhook/azure?code=nope", &[], BODY))
        .await
        .refused_401());
    assert!(run(
        &layer,
        request("/webhook/azure", &[("X-GenHook-Key", "nope")], BODY)
    )
    .await
    .refused_401());
    let missing = run(&layer, request("/webhook/azure", &[], BODY)).await;
    assert!(missing.refused_401());
    assert_eq!(missing.error().metric_reason(), "missing_signature");
    let renamed = Section::new()
        .set("verify", "azure")
        .set("secret", "az-1")
        .set("azure_query_param", "key")
        .build();
    assert!(run(&renamed, request("/w?key=az-1", &[], BODY))
        .await
        .accepted());
    assert!(run(&renamed, request("/w?code=az-1", &[], BODY))
        .await
        .refused_401());
}

#[tokio::test]
async fn meraki_checks_the_shared_secret_and_leaves_the_payload() {
    let layer = Section::new()
        .set("verify", "meraki")
        .set("secret", "m-old,m-new")
        .build();
    let body = |secret: &str| {
        format!(r#"{{"alertId":"1","alertTypeId":"settings_changed","sharedSecret":"{secret}"}}"#)
    };
    for secret in ["m-old", "m-new"] {
        let leaf_saw_payload = {
            let service = tower::ServiceBuilder::new().layer(&layer).service(
                tower::util::BoxCloneSyncService::new(tower::service_fn(
                    |r: WebhookRequest| async move {
                        let payload = r
                            .extensions()
                            .get::<genhook_core::stage::Payload>()
                            .cloned();
                        Ok::<_, PipelineError>(WebhookResponse::new(bytes::Bytes::from(
                            payload
                                .map(|p| p.0["alertTypeId"].to_string())
                                .unwrap_or_default(),
                        )))
                    },
                )),
            );
            service
                .oneshot(request("/", &[], body(secret)))
                .await
                .unwrap()
                .into_body()
        };
        assert_eq!(leaf_saw_payload, "\"settings_changed\"");
    }
    assert!(run(&layer, request("/", &[], body("m-other")))
        .await
        .refused_401());
    assert!(run(&layer, request("/", &[], body("m-ol")))
        .await
        .refused_401());
    assert!(run(&layer, request("/", &[], r#"{"alertId":"1"}"#))
        .await
        .refused_401());
    assert!(run(&layer, request("/", &[], r#"{"sharedSecret":5}"#))
        .await
        .refused_401());
    let not_json = run(&layer, request("/", &[], "sharedSecret=m-old")).await;
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(not_json.leaf_calls, 0);
}

#[tokio::test]
async fn none_lets_everything_through() {
    let layer = Section::new().build();
    let outcome = run(&layer, request("/", &[], BODY)).await;
    assert!(outcome.accepted());
    assert_eq!(outcome.result.unwrap().into_body(), "none");
}

#[tokio::test]
async fn github_legacy_sha1_only_when_sha256_is_absent() {
    let layer = Section::new()
        .set("verify", "github")
        .set("secret", "It's a Secret to Everybody")
        .build();
    let sha1 = (
        "X-Hub-Signature",
        "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59",
    );
    assert!(run(&layer, request("/", &[sha1], "Hello, World!"))
        .await
        .accepted());
    // A wrong SHA-256 header is not rescued by a right SHA-1 one.
    let wrong256 = ("X-Hub-Signature-256", "sha256=00");
    assert!(
        run(&layer, request("/", &[wrong256, sha1], "Hello, World!"))
            .await
            .refused_401()
    );
    assert!(run(&layer, request("/", &[sha1], "Hello, World?"))
        .await
        .refused_401());
}

// === secrets stay secret ===

const SECRET: &str = "Sup3r-Secret-Value";

#[tokio::test]
async fn debug_and_public_reasons_show_no_secret() {
    let mut schemes: Vec<Section> = [
        "github", "jira", "shopify", "stripe", "slack", "meraki", "azure", "token", "api-key",
    ]
    .iter()
    .map(|s| Section::new().set("verify", s).set("secret", SECRET))
    .collect();
    schemes.push(
        Section::new()
            .set("verify", "basic")
            .set("username", "user")
            .set("secret", SECRET),
    );
    schemes.push(
        Section::new()
            .set("verify", "hmac-sha256")
            .set("signature_header", "X-Sig")
            .set("secret", SECRET),
    );
    schemes.push(
        Section::new()
            .set("verify", "standard-webhooks")
            .set("secret", &whsec(SECRET)),
    );
    let forged_value = "sha256=0123456789abcdef";
    for section in schemes {
        let layer = section.build_at(NOW).unwrap();
        let debug = format!(
            "{layer:?} {:?}",
            layer.layer(support::Leaf::default().service())
        );
        assert!(!debug.contains(SECRET), "{debug}");
        let headers = [
            ("X-Hub-Signature-256", forged_value),
            ("X-Hub-Signature", forged_value),
            ("Stripe-Signature", "t=1700000000,v1=0123456789abcdef"),
            ("X-Slack-Signature", "v0=0123456789abcdef"),
            ("X-Slack-Request-Timestamp", "1700000000"),
            ("X-Webhook-Token", "not-it"),
            ("X-API-Key", "not-it"),
            ("X-Sig", "0123456789abcdef"),
            ("Authorization", "Basic dXNlcjpub3QtaXQ="),
        ];
        let outcome = run(
            &layer,
            request("/?code=not-it", &headers, r#"{"sharedSecret":"not-it"}"#),
        )
        .await;
        let error = outcome.error();
        for text in [
            error.public_reason().to_owned(),
            error.to_string(),
            format!("{error:?}"),
        ] {
            assert!(!text.contains(SECRET), "{text}");
            assert!(
                !text.contains("0123456789abcdef"),
                "no signature value: {text}"
            );
            assert!(!text.contains("not-it"), "no credential value: {text}");
        }
    }
}

#[test]
fn verifier_debug_shows_no_secret() {
    let secrets = genhook_verify::Secrets::parse(SECRET).unwrap();
    let clock = genhook_verify::SharedClock::default();
    let window = std::time::Duration::from_secs(300);
    let shown = format!(
        "{:?} {:?} {:?} {:?} {:?} {:?}",
        genhook_verify::scheme::github::verifier(&secrets),
        genhook_verify::scheme::Stripe::new(&secrets, window, clock.clone()),
        genhook_verify::scheme::Slack::new(&secrets, window, clock),
        genhook_verify::scheme::BasicAuth::new("user", secrets.clone()),
        genhook_verify::scheme::Meraki::new(secrets.clone()),
        secrets,
    );
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("redacted"));
}
