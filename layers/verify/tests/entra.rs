//! `verify = azure` with Microsoft Entra ID bearer tokens, end to end: an RSA key generated here,
//! its JWKS served by a loopback HTTPS server (a generated CA, tokio-rustls), tokens signed with
//! the `jsonwebtoken` crate, verified through an `EntraTrust` that trusts the test CA and fetches
//! from the loopback authority (an override only code can set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use genhook_core::PipelineLayer;
use genhook_verify::entra::{EntraTrust, EntraTrustBuilder, EVENT_GRID_APP_ID};
use http::StatusCode;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use support::https::{HttpsServer, TestCa};
use support::{request, run, Outcome, Section};
use tokio::net::TcpListener;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const OTHER_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
const AUDIENCE: &str = "api://genhook-webhook";
const ROLE: &str = "AzureEventGridSecureWebhookSubscriber";
const KID: &str = "test-key-1";
/// The verify stage's clock in these tests (2030-03-17).
const NOW: i64 = 1_900_000_000;

// === keys and tokens ===

/// An RSA-2048 key generated once per test binary.
fn key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap())
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWKS document with the test key under each of `kids` (plus an EC key to skip).
fn jwks(kids: &[&str]) -> String {
    let public = key().to_public_key();
    let n = b64url(&public.n().to_bytes_be());
    let e = b64url(&public.e().to_bytes_be());
    let mut keys: Vec<Value> = kids
        .iter()
        .map(|kid| json!({"kty": "RSA", "use": "sig", "kid": kid, "x5t": kid, "n": n, "e": e}))
        .collect();
    keys.push(json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"}));
    json!({ "keys": keys }).to_string()
}

/// The claims Event Grid's v2 token carries.
fn v2_claims() -> Value {
    json!({
        "aud": AUDIENCE,
        "iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        "iat": NOW - 60,
        "nbf": NOW - 60,
        "exp": NOW + 3600,
        "azp": EVENT_GRID_APP_ID,
        "azpacr": "2",
        "oid": "0b5e4f6a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        "roles": [ROLE],
        "sub": "0b5e4f6a-1c2d-4e3f-8a9b-0c1d2e3f4a5b",
        "tid": TENANT,
        "ver": "2.0",
    })
}

/// The claims Event Grid's v1 token carries.
fn v1_claims() -> Value {
    json!({
        "aud": AUDIENCE,
        "iss": format!("https://sts.windows.net/{TENANT}/"),
        "iat": NOW - 60,
        "nbf": NOW - 60,
        "exp": NOW + 3600,
        "appid": EVENT_GRID_APP_ID,
        "appidacr": "2",
        "roles": [ROLE],
        "tid": TENANT,
        "ver": "1.0",
    })
}

fn sign_with(kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let der = key().to_pkcs1_der().unwrap();
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(der.as_bytes())).unwrap()
}

fn sign(claims: &Value) -> String {
    sign_with(KID, claims)
}

/// `claims` with `changes` merged in (`null` removes a claim).
fn with(mut claims: Value, changes: Value) -> Value {
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(key);
        } else {
            claims[key] = value.clone();
        }
    }
    claims
}

fn event_grid(uri: &str, authorization: Option<&str>) -> genhook_core::WebhookRequest {
    let mut headers = vec![
        ("aeg-event-type", "Notification"),
        ("Content-Type", "application/json"),
    ];
    if let Some(value) = authorization {
        headers.push(("Authorization", value));
    }
    request(
        uri,
        &headers,
        r#"[{"id":"1","eventType":"Microsoft.Storage.BlobCreated","subject":"/x","data":{}}]"#,
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Runs an Event Grid delivery with `authorization` (when given) through `layer`.
async fn deliver(layer: &PipelineLayer, authorization: Option<&str>) -> Outcome {
    run(layer, event_grid("/webhook/azure", authorization)).await
}

/// Runs an Event Grid delivery carrying `Bearer {token}` through `layer`.
async fn send(layer: &PipelineLayer, token: &str) -> Outcome {
    deliver(layer, Some(&bearer(token))).await
}

// === loopback JWKS server ===

/// The tenant's key set on a loopback HTTPS server: `GET /{TENANT}/discovery/v2.0/keys` answers
/// the current key set (404 elsewhere), counting requests.
struct JwksServer {
    server: HttpsServer,
    jwks: Arc<Mutex<String>>,
}

impl JwksServer {
    async fn start(ca: &TestCa, jwks: String) -> Self {
        let jwks = Arc::new(Mutex::new(jwks));
        let document = Arc::clone(&jwks);
        let keys = format!("/{TENANT}/discovery/v2.0/keys");
        let server = ca
            .serve("application/json", move |path| {
                (path == keys).then(|| document.lock().unwrap().clone())
            })
            .await;
        Self { server, jwks }
    }

    /// Serves `jwks` from now on (a key rotation).
    fn publish(&self, jwks: String) {
        *self.jwks.lock().unwrap() = jwks;
    }

    fn authority(&self) -> String {
        self.server.authority()
    }

    fn hits(&self) -> usize {
        self.server.hits()
    }
}

/// A trust builder that trusts the test CA.
fn trusting(ca: &TestCa) -> EntraTrustBuilder {
    EntraTrust::builder()
        .add_root_certificate_pem(ca.pem().as_bytes())
        .unwrap()
}

/// A JWKS server with the test key under [`KID`], and a trust that fetches from it, built by
/// `configure` from a builder that trusts the test CA and has the server as its authority.
async fn fetching(
    configure: impl FnOnce(EntraTrustBuilder) -> EntraTrustBuilder,
) -> (JwksServer, EntraTrust) {
    let ca = TestCa::new();
    let server = JwksServer::start(&ca, jwks(&[KID])).await;
    let trust = configure(trusting(&ca).authority(&server.authority()))
        .build()
        .unwrap();
    (server, trust)
}

fn entra_section() -> Section {
    Section::new()
        .set("verify", "azure")
        .set("azure_tenant", TENANT)
        .set(
            "azure_audience",
            &format!("{AUDIENCE}, 11111111-2222-3333-4444-555555555555"),
        )
}

// === tests ===

#[tokio::test]
async fn v1_and_v2_tokens_verify_with_keys_fetched_once_and_cached_by_kid() {
    let (server, trust) = fetching(|trust| trust).await;
    let layer = entra_section()
        .set("azure_role", ROLE)
        .build_entra(NOW, &trust)
        .unwrap();
    for claims in [
        v2_claims(),
        v1_claims(),
        with(
            v2_claims(),
            json!({"aud": "11111111-2222-3333-4444-555555555555"}),
        ),
    ] {
        let outcome = send(&layer, &sign(&claims)).await;
        assert!(outcome.accepted(), "{claims}: {outcome:?}");
        assert_eq!(outcome.result.unwrap().into_body(), "azure");
    }
    // Within the clock skew (5 min) either way.
    let edge = with(v2_claims(), json!({"exp": NOW - 299, "nbf": NOW + 299}));
    assert!(send(&layer, &sign(&edge)).await.accepted());
    // The scheme word is case-insensitive (RFC 9110).
    let token = sign(&v1_claims());
    assert!(deliver(&layer, Some(&format!("bearer {token}")))
        .await
        .accepted());
    assert_eq!(server.hits(), 1, "fetched once, then cached");
}

#[tokio::test]
async fn every_failed_check_is_401_naming_the_check_never_the_token() {
    let (server, trust) = fetching(|trust| trust).await;
    let layer = entra_section()
        .set("azure_role", ROLE)
        .build_entra(NOW, &trust)
        .unwrap();
    let other_app = "2b8f5c1e-0d4a-4c6b-9e7f-1a2b3c4d5e6f";
    let tampered = {
        let token = sign(&v2_claims());
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = b64url(
            with(v2_claims(), json!({"roles": [ROLE, "Admin"]}))
                .to_string()
                .as_bytes(),
        );
        parts.join(".")
    };
    let alg_none = format!(
        "{}.{}.",
        b64url(br#"{"alg":"none","typ":"JWT","kid":"test-key-1"}"#),
        b64url(v2_claims().to_string().as_bytes())
    );
    // HS256 "signed" with the public key's bytes (the classic algorithm confusion).
    let hs256 = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(KID.to_owned());
        let public = key().to_public_key().n().to_bytes_be();
        jsonwebtoken::encode(&header, &v2_claims(), &EncodingKey::from_secret(&public)).unwrap()
    };
    let no_kid = {
        let der = key().to_pkcs1_der().unwrap();
        jsonwebtoken::encode(
            &Header::new(Algorithm::RS256),
            &v2_claims(),
            &EncodingKey::from_rsa_der(der.as_bytes()),
        )
        .unwrap()
    };
    // Tokens properly signed with the test key whose claims fail a check: (case, claims, reason).
    let bad_claims = [
        (
            "wrong audience",
            with(v2_claims(), json!({"aud": "api://someone-else"})),
            "wrong audience",
        ),
        (
            "other tenant (v2)",
            with(
                v2_claims(),
                json!({"iss": format!("https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"), "tid": OTHER_TENANT}),
            ),
            "wrong issuer",
        ),
        (
            "other tenant (v1)",
            with(
                v1_claims(),
                json!({"iss": format!("https://sts.windows.net/{OTHER_TENANT}/")}),
            ),
            "wrong issuer",
        ),
        (
            "issuer of another cloud",
            with(
                v2_claims(),
                json!({"iss": format!("https://login.evil.example/{TENANT}/v2.0")}),
            ),
            "wrong issuer",
        ),
        (
            "expired",
            with(v2_claims(), json!({"exp": NOW - 301})),
            "expired",
        ),
        (
            "exp as a string",
            with(v2_claims(), json!({"exp": (NOW + 3600).to_string()})),
            "malformed claims",
        ),
        ("no exp", with(v2_claims(), json!({"exp": null})), "claim"),
        (
            "not yet valid",
            with(v2_claims(), json!({"nbf": NOW + 301})),
            "not yet valid",
        ),
        (
            "nbf as a string",
            with(v2_claims(), json!({"nbf": (NOW + 99_999).to_string()})),
            "malformed claims",
        ),
        (
            "other app (v2 azp)",
            with(v2_claims(), json!({"azp": other_app})),
            "caller is not the expected application",
        ),
        (
            "other app (v1 appid)",
            with(v1_claims(), json!({"appid": other_app})),
            "caller is not the expected application",
        ),
        (
            "v1 token with azp only",
            with(
                v1_claims(),
                json!({"appid": null, "azp": EVENT_GRID_APP_ID}),
            ),
            "caller is not the expected application",
        ),
        (
            "missing role",
            with(v2_claims(), json!({"roles": ["Reader"]})),
            "required role is missing",
        ),
        (
            "no roles",
            with(v2_claims(), json!({"roles": null})),
            "required role is missing",
        ),
    ];
    // Tokens that are not what they claim to be: (case, token, reason).
    let bad_tokens = [
        ("tampered claims", tampered, "signature does not match"),
        ("alg none", alg_none, "malformed"),
        ("HS256 with the public key", hs256, "algorithm is not RS256"),
        ("no kid", no_kid, "no key id"),
        ("garbage", "not.a.jwt".to_owned(), "malformed"),
    ];
    let signed = bad_claims
        .into_iter()
        .map(|(name, claims, reason)| (name, sign(&claims), reason));
    for (name, token, reason) in signed.chain(bad_tokens) {
        let outcome = send(&layer, &token).await;
        assert!(outcome.refused_401(), "{name}: {outcome:?}");
        let public = outcome.error().public_reason().to_owned();
        assert!(public.contains(reason), "{name}: {public}");
        assert_eq!(outcome.error().metric_reason(), "bad_token", "{name}");
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(
                !public.contains(part),
                "{name}: the reason echoes the token"
            );
        }
    }
    // No header, or another scheme.
    for (authorization, reason) in [
        (None, "missing `Authorization` header"),
        (
            Some("Basic dXNlcjpwYXNz"),
            "bearer token rejected: not a Bearer token",
        ),
    ] {
        let outcome = deliver(&layer, authorization).await;
        assert!(outcome.refused_401(), "{outcome:?}");
        assert_eq!(outcome.error().public_reason(), reason);
    }
    assert!(deliver(&layer, Some("Bearer ")).await.refused_401());
    // Only tokens that got past the header checks needed the keys: fetched once.
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_different_caller_app_id_and_no_role_requirement_can_be_configured() {
    let (_server, trust) = fetching(|trust| trust).await;
    let own_app = "2b8f5c1e-0d4a-4c6b-9e7f-1a2b3c4d5e6f";
    let layer = entra_section()
        .set("azure_app_id", own_app)
        .build_entra(NOW, &trust)
        .unwrap();
    let token = sign(&with(v2_claims(), json!({"azp": own_app, "roles": null})));
    assert!(send(&layer, &token).await.accepted());
    let event_grid_token = sign(&v2_claims());
    assert!(send(&layer, &event_grid_token).await.refused_401());
}

#[tokio::test]
async fn an_unknown_kid_refetches_once_then_is_401_and_cannot_drive_more_fetches() {
    let (server, trust) = fetching(|trust| trust).await;
    let layer = entra_section().build_entra(NOW, &trust).unwrap();
    let forged = sign_with("made-up-1", &v2_claims());
    let outcome = send(&layer, &forged).await;
    assert!(outcome.refused_401(), "{outcome:?}");
    assert_eq!(
        outcome.error().public_reason(),
        "bearer token rejected: unknown signing key"
    );
    assert_eq!(server.hits(), 1, "one refetch");
    for i in 2..10 {
        let forged = sign_with(&format!("made-up-{i}"), &v2_claims());
        assert!(send(&layer, &forged).await.refused_401());
    }
    assert_eq!(server.hits(), 1, "at most one fetch a minute");
    // The keys that did come are used.
    assert!(send(&layer, &sign(&v2_claims())).await.accepted());
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_by_a_refresh() {
    let (server, trust) = fetching(|trust| trust.refresh_interval(Duration::ZERO)).await;
    let layer = entra_section().build_entra(NOW, &trust).unwrap();
    assert!(send(&layer, &sign(&v2_claims())).await.accepted());
    server.publish(jwks(&[KID, "test-key-2"]));
    let rotated = sign_with("test-key-2", &v2_claims());
    assert!(send(&layer, &rotated).await.accepted());
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn keys_that_cannot_be_fetched_answer_503_with_retry_after() {
    let ca = TestCa::new();
    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = format!("https://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let trust = trusting(&ca).authority(&authority).build().unwrap();
    let layer = entra_section().build_entra(NOW, &trust).unwrap();
    for _ in 0..2 {
        let outcome = send(&layer, &sign(&v2_claims())).await;
        assert_eq!(
            outcome.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{outcome:?}"
        );
        assert_eq!(outcome.leaf_calls, 0);
        let error = outcome.error();
        assert_eq!(error.public_reason(), "token signing keys are unavailable");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(10)));
    }

    // A server that answers something other than a key set: 503 too.
    let server = JwksServer::start(&ca, r#"{"keys":[]}"#.to_owned()).await;
    let trust = trusting(&ca)
        .authority(&server.authority())
        .build()
        .unwrap();
    let layer = entra_section().build_entra(NOW, &trust).unwrap();
    let outcome = send(&layer, &sign(&v2_claims())).await;
    assert_eq!(
        outcome.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "{outcome:?}"
    );
}

#[tokio::test]
async fn with_a_secret_too_both_are_required_and_the_secret_is_checked_first() {
    let (server, trust) = fetching(|trust| trust).await;
    let layer = entra_section()
        .set("secret", "s3cret-code")
        .build_entra(NOW, &trust)
        .unwrap();
    let token = sign(&v2_claims());
    let outcome = send(&layer, &token).await;
    assert!(outcome.refused_401(), "{outcome:?}");
    assert_eq!(
        outcome.error().public_reason(),
        "missing `code` query parameter"
    );
    let outcome = run(
        &layer,
        event_grid("/webhook/azure?code=wrong", Some(&bearer(&token))),
    )
    .await;
    assert!(outcome.refused_401());
    assert_eq!(server.hits(), 0, "no key fetch without the secret");
    assert!(
        run(&layer, event_grid("/webhook/azure?code=s3cret-code", None))
            .await
            .refused_401()
    );
    let outcome = run(
        &layer,
        event_grid("/webhook/azure?code=s3cret-code", Some(&bearer(&token))),
    )
    .await;
    assert!(outcome.accepted(), "{outcome:?}");
}

#[tokio::test]
async fn pinned_keys_verify_without_a_fetch_and_the_authority_must_be_https() {
    let trust = EntraTrust::builder()
        .pin_keys(TENANT, jwks(&[KID]).as_bytes())
        .build()
        .unwrap();
    assert_eq!(
        trust.jwks_url(TENANT),
        format!("https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys")
    );
    let layer = entra_section().build_entra(NOW, &trust).unwrap();
    assert!(send(&layer, &sign(&v2_claims())).await.accepted());

    for authority in [
        "http://127.0.0.1:8080",
        "https://127.0.0.1/path",
        "login.microsoftonline.com",
    ] {
        assert!(
            EntraTrust::builder().authority(authority).build().is_err(),
            "{authority}"
        );
    }
    assert!(EntraTrust::builder()
        .pin_keys("contoso.onmicrosoft.com", jwks(&[KID]).as_bytes())
        .build()
        .is_err());
    assert!(EntraTrust::builder()
        .pin_keys(TENANT, br#"{"keys":[]}"#)
        .build()
        .is_err());
}

/// A stage whose key set is refreshed before every use, after one token was accepted with it:
/// the server, the stage and that token.
async fn accepted_then_due_for_refresh() -> (JwksServer, PipelineLayer, String) {
    let (server, trust) = fetching(|trust| {
        trust
            .refresh_interval(Duration::ZERO)
            .max_key_age(Duration::ZERO)
    })
    .await;
    let layer = entra_section().build_entra(NOW, &trust).unwrap();
    let token = sign(&v2_claims());
    assert!(send(&layer, &token).await.accepted());
    (server, layer, token)
}

#[tokio::test]
async fn a_withdrawn_key_stops_verifying_once_the_key_set_is_old() {
    let (server, layer, token) = accepted_then_due_for_refresh().await;
    server.publish(jwks(&["test-key-2"]));
    let outcome = send(&layer, &token).await;
    assert!(outcome.refused_401(), "{outcome:?}");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn known_keys_stay_usable_while_a_refresh_fails() {
    let (server, layer, token) = accepted_then_due_for_refresh().await;
    // Entra answers garbage now: the old key set is due for a refresh, and the refresh fails.
    server.publish("<html>Service Unavailable</html>".to_owned());
    let outcome = send(&layer, &token).await;
    assert!(outcome.accepted(), "{outcome:?}");
    assert_eq!(server.hits(), 2, "the refresh was tried");
}
