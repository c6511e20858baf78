//! Provider handshakes and detection at the edge, before a source's stack is known: the
//! `OPTIONS` abuse-protection handshake and picking the source for `POST /webhook`.

use axum::response::Response;
use http::HeaderMap;

use crate::stack::{SourceRoute, Stacks};

/// The source for a webhook posted to `/webhook`: detected from the headers and payload.
pub fn source_for<'a>(
    stacks: &'a Stacks,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<&'a SourceRoute> {
    let _ = (stacks, headers, body);
    None
}

/// The answer to an `OPTIONS` handshake, when the request is one.
pub fn options_response<B>(request: &http::Request<B>) -> Option<Response> {
    let _ = request;
    None
}
