//! Shared helpers of the verify stage's tests: settings as a mapping would give them, a leaf
//! that counts its calls, request builders, and signers written independently of the library
//! (plain `hmac`), so that a bug shared by signer and verifier cannot hide; [`https`] is the
//! loopback HTTPS server for the schemes that fetch keys or certificates.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod https;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use genhook_core::{PipelineError, PipelineLayer, WebhookRequest, WebhookResponse};
use genhook_mapping::{Diagnostic, Setting, Span};
use genhook_verify::entra::EntraTrust;
use genhook_verify::sns::SnsTrust;
use genhook_verify::{FixedClock, SharedClock, VerifyFactory};
use hmac::{Hmac, Mac};
use http::StatusCode;
use sha2::Sha256;
use tower::{Layer, ServiceExt};

/// The file every test setting claims to come from.
pub const FILE: &str = "mappings/test.ini";

/// A span in [`FILE`].
pub fn span(line: u32) -> Span {
    Span {
        file: Arc::from(Path::new(FILE)),
        line,
    }
}

/// A source section's settings; each key on its own line (2, 3, …) after the header (line 1).
#[derive(Debug, Clone, Default)]
pub struct Section(BTreeMap<String, Setting>);

impl Section {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, key: &str, value: &str) -> Self {
        let line = u32::try_from(self.0.len()).unwrap() + 2;
        self.0.insert(
            key.to_owned(),
            Setting {
                value: value.to_owned(),
                span: span(line),
            },
        );
        self
    }

    pub fn line_of(&self, key: &str) -> u32 {
        self.0[key].span.line
    }

    /// Builds the verify stage with the clock stopped at `now`.
    pub fn build_at(&self, now: i64) -> Result<PipelineLayer, Vec<Diagnostic>> {
        self.build_with(now, None)
    }

    pub fn build_with(
        &self,
        now: i64,
        trust: Option<&SnsTrust>,
    ) -> Result<PipelineLayer, Vec<Diagnostic>> {
        VerifyFactory::with_clock(SharedClock::new(FixedClock(now))).build_with(
            |key| self.0.get(key),
            &span(1),
            trust,
            None,
        )
    }

    /// Builds the verify stage with the clock stopped at `now` and Entra keys through `entra`.
    pub fn build_entra(
        &self,
        now: i64,
        entra: &EntraTrust,
    ) -> Result<PipelineLayer, Vec<Diagnostic>> {
        VerifyFactory::with_clock(SharedClock::new(FixedClock(now))).build_with(
            |key| self.0.get(key),
            &span(1),
            None,
            Some(entra),
        )
    }

    pub fn build(&self) -> PipelineLayer {
        self.build_at(0).unwrap()
    }
}

/// A leaf answering 200 and counting its calls.
#[derive(Debug, Clone, Default)]
pub struct Leaf(Arc<AtomicUsize>);

impl Leaf {
    pub fn calls(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    pub fn service(&self) -> genhook_core::PipelineService {
        let calls = Arc::clone(&self.0);
        tower::util::BoxCloneSyncService::new(tower::service_fn(move |request: WebhookRequest| {
            calls.fetch_add(1, Ordering::SeqCst);
            let scheme = request
                .extensions()
                .get::<genhook_core::stage::Verified>()
                .map(|v| v.scheme)
                .unwrap_or("<none>");
            async move {
                let mut response = WebhookResponse::new(Bytes::from(scheme));
                *response.status_mut() = StatusCode::OK;
                Ok::<_, PipelineError>(response)
            }
        }))
    }
}

/// Runs one request through `layer` around a counting leaf: the status (200 when it reached the
/// leaf, the rejection's status otherwise), the error when refused, and whether the leaf ran.
pub async fn run(layer: &PipelineLayer, request: WebhookRequest) -> Outcome {
    let leaf = Leaf::default();
    let service = layer.layer(leaf.service());
    let result = service.oneshot(request).await;
    Outcome {
        leaf_calls: leaf.calls(),
        result,
    }
}

#[derive(Debug)]
pub struct Outcome {
    pub leaf_calls: usize,
    pub result: Result<WebhookResponse, PipelineError>,
}

impl Outcome {
    pub fn status(&self) -> StatusCode {
        match &self.result {
            Ok(response) => response.status(),
            Err(error) => error.status(),
        }
    }

    pub fn accepted(&self) -> bool {
        self.result.is_ok() && self.leaf_calls == 1
    }

    /// Refused with 401 and the leaf never called.
    pub fn refused_401(&self) -> bool {
        self.status() == StatusCode::UNAUTHORIZED && self.leaf_calls == 0
    }

    pub fn error(&self) -> &PipelineError {
        self.result.as_ref().expect_err("request was refused")
    }
}

/// A POST with headers and body.
pub fn request(uri: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> WebhookRequest {
    let mut builder = http::Request::post(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).unwrap()
}

/// HMAC-SHA256 over the concatenated parts (independent of the library).
pub fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn b64_decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}
