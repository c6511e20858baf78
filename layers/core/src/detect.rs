//! What the edge asks before any source's stack runs: which provider sent a webhook posted to
//! `/webhook` without a source, and whether an `OPTIONS` request is a provider's handshake.
//!
//! The server knows no provider: it asks a [`Detector`], which the identify stage's crate
//! implements and the stage registry carries. A registry without one detects nothing
//! ([`NoDetector`]): every webhook must then name its source.

use bytes::Bytes;
use http::HeaderMap;

/// Tells providers apart at the edge.
pub trait Detector: Send + Sync + std::fmt::Debug + 'static {
    /// The provider a webhook came from, by its headers, else (only when they cannot tell) by
    /// its body: its name, which is also the name of the source that serves it by default.
    fn detect(&self, headers: &HeaderMap, body: &[u8]) -> Option<&'static str>;

    /// The provider whose signatures a `verify` scheme checks, by the same name.
    fn provider_of_scheme(&self, scheme: &str) -> Option<&'static str>;

    /// The answer to an `OPTIONS` abuse-protection handshake, when `request` is one.
    fn handshake(&self, request: &http::Request<()>) -> Option<http::Response<Bytes>>;
}

/// A [`Detector`] that knows no provider.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDetector;

impl Detector for NoDetector {
    fn detect(&self, _headers: &HeaderMap, _body: &[u8]) -> Option<&'static str> {
        None
    }

    fn provider_of_scheme(&self, _scheme: &str) -> Option<&'static str> {
        None
    }

    fn handshake(&self, _request: &http::Request<()>) -> Option<http::Response<Bytes>> {
        None
    }
}
