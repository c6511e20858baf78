//! The load: real GitHub `pull_request` deliveries, signed as GitHub signs them.
//!
//! The body is the repository's fixture `tests/fixtures/github/pull_request.opened.json`, sent
//! byte for byte. GitHub signs the raw body with HMAC-SHA256 and sends the lowercase hex as
//! `X-Hub-Signature-256: sha256=…`; the body never changes, so it is signed once and every request
//! carries the same, correct signature. Each request gets its own `X-GitHub-Delivery` GUID so that
//! no de-duplication can short-cut the work.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderValue, Method, Request};
use http_body_util::Full;
use sha2::Sha256;

/// The shared secret of the bench's GitHub source (GenHook's mapping and the FastAPI app).
pub(crate) const SECRET: &str = "s3cret";

/// Delivery ids are unique across the whole process (every scenario and round).
static NEXT_DELIVERY: AtomicU64 = AtomicU64::new(1);

/// One signed GitHub delivery, ready to be sent many times.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    body: Bytes,
    signature: HeaderValue,
    expected: String,
}

impl Delivery {
    /// Reads the fixture, signs it with [`SECRET`] and works out the start of the SL1 message
    /// that GenHook's `pull_request` line must render from it.
    pub(crate) fn load(fixture: &Path) -> Self {
        let body = std::fs::read(fixture)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", fixture.display()));
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
        mac.update(&body);
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let json: serde_json::Value = serde_json::from_slice(&body).expect("the fixture is JSON");
        let text = |pointer: &str| match json.pointer(pointer) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => panic!("the fixture has no {pointer}"),
        };
        // The start of mappings/github.ini's pull_request line, from the fixture's own fields.
        let expected = format!(
            "GitHub pull_request {} in {} #{} \"{}\"",
            text("/action"),
            text("/repository/full_name"),
            text("/number"),
            text("/pull_request/title"),
        );
        Self {
            body: Bytes::from(body),
            signature: HeaderValue::try_from(signature).expect("hex is a valid header value"),
            expected,
        }
    }

    /// The size of the body in bytes.
    pub(crate) fn body_len(&self) -> usize {
        self.body.len()
    }

    /// What every delivered SL1 message must start with.
    pub(crate) fn expected_message(&self) -> &str {
        &self.expected
    }

    /// A `POST path` request with the delivery's headers and a fresh delivery id.
    pub(crate) fn request(&self, host: &HeaderValue, path: &str) -> Request<Full<Bytes>> {
        let n = NEXT_DELIVERY.fetch_add(1, Ordering::Relaxed);
        let delivery = format!("6c1e2b7a-{:04x}-4000-8000-{:012x}", (n >> 48) & 0xffff, n);
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(http::header::HOST, host.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "GitHub-Hookshot/bench")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", delivery)
            .header("x-github-hook-id", "292430182")
            .header("x-hub-signature-256", self.signature.clone())
            .body(Full::new(self.body.clone()))
            .expect("a valid request")
    }
}
