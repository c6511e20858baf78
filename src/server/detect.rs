//! Provider handshakes and detection at the edge, before a source's stack is known: the
//! `OPTIONS` abuse-protection handshake and picking the source for `POST /webhook`.

use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;

use crate::stack::{SourceRoute, Stacks};

/// The source for a webhook posted to `/webhook`: the provider is detected from the headers
/// (`genhook_identify::detect_by_headers`), or only when they cannot tell from the payload too
/// (`genhook_identify::detect`); then the source is the one named after the provider, else the
/// only one whose `verify` scheme is that provider's.
///
/// The body is parsed here only when the headers say nothing, and that parsed copy is dropped
/// before the source's stack runs: an unsigned body with a provider's headers costs no parse
/// before its signature is checked, and no request holds two parsed copies of its payload.
pub fn source_for<'a>(
    stacks: &'a Stacks,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<&'a SourceRoute> {
    let provider = genhook_identify::detect_by_headers(headers).or_else(|| {
        let payload = genhook_identify::parse_body(headers, body).ok();
        genhook_identify::detect(headers, payload.as_ref())
    })?;
    if let Some(route) = stacks.route(provider.name()) {
        return Some(route);
    }
    let mut verifying = stacks.routes().filter(|route| {
        route
            .source
            .setting("verify")
            .and_then(|scheme| genhook_identify::Provider::from_verify_scheme(&scheme.value))
            == Some(provider)
    });
    match (verifying.next(), verifying.next()) {
        (Some(route), None) => Some(route),
        _ => None,
    }
}

/// The answer to an `OPTIONS` abuse-protection handshake (CloudEvents / Event Grid), when the
/// request is one.
pub fn options_response<B>(request: &http::Request<B>) -> Option<Response> {
    genhook_identify::options_response(request).map(|response| response.map(Body::from))
}
