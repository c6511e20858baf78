//! Provider handshakes and detection at the edge, before a source's stack is known: the
//! `OPTIONS` abuse-protection handshake and picking the source for `POST /webhook`.

use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;

use crate::stack::{SourceRoute, Stacks};

/// The source for a webhook posted to `/webhook`: the provider is detected from the headers and
/// the payload (`genhook_identify::detect`), then the source is the one named after the provider,
/// else the only one whose `verify` scheme is that provider's.
pub fn source_for<'a>(
    stacks: &'a Stacks,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<&'a SourceRoute> {
    let payload = genhook_identify::parse_body(headers, body).ok();
    let provider = genhook_identify::detect(headers, payload.as_ref())?;
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
