//! [`Providers`]: the identify crate's answer to the edge's [`Detector`] questions, from the
//! same provider rules the stage uses.

use bytes::Bytes;
use genhook_core::Detector;
use http::HeaderMap;

use crate::{detect, detect_by_headers, options_response, parse_body, Provider};

/// Detects the providers GenHook knows (see [`Provider`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Providers;

impl Detector for Providers {
    /// The body is parsed only when the headers say nothing, and that parsed copy is dropped
    /// before any stack runs: an unsigned body with a provider's headers costs no parse before
    /// its signature is checked.
    fn detect(&self, headers: &HeaderMap, body: &[u8]) -> Option<&'static str> {
        detect_by_headers(headers)
            .or_else(|| {
                let payload = parse_body(headers, body).ok();
                detect(headers, payload.as_ref())
            })
            .map(|provider| provider.name())
    }

    fn provider_of_scheme(&self, scheme: &str) -> Option<&'static str> {
        Provider::from_verify_scheme(scheme).map(|provider| provider.name())
    }

    fn handshake(&self, request: &http::Request<()>) -> Option<http::Response<Bytes>> {
        options_response(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_providers_by_headers_then_body_and_schemes() {
        let mut headers = HeaderMap::new();
        headers.insert("x-github-event", "push".parse().unwrap());
        assert_eq!(Providers.detect(&headers, b"{}"), Some("github"));
        assert_eq!(Providers.detect(&HeaderMap::new(), b"{}"), None);
        assert_eq!(Providers.provider_of_scheme("github"), Some("github"));
        assert_eq!(Providers.provider_of_scheme("nonsense"), None);
        let options = http::Request::builder()
            .method(http::Method::OPTIONS)
            .header("webhook-request-origin", "eventgrid.azure.net")
            .body(())
            .unwrap();
        assert!(Providers.handshake(&options).is_some());
        let post = http::Request::post("/").body(()).unwrap();
        assert!(Providers.handshake(&post).is_none());
    }
}
