//! Provider handshakes and detection at the edge, before a source's stack is known: the
//! `OPTIONS` abuse-protection handshake and picking the source for `POST /webhook`. Both ask the
//! [`Detector`](genhook_core::Detector) the stacks were built with (identify's, in the built-in
//! registry): the edge itself knows no provider.

use axum::body::Body;
use axum::response::Response;
use http::HeaderMap;

use crate::stack::{SourceRoute, Stacks};

/// The source for a webhook posted to `/webhook`: the detected provider's source (the one named
/// after it), else the only one whose `verify` scheme is that provider's.
pub fn source_for<'a>(
    stacks: &'a Stacks,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<&'a SourceRoute> {
    let detector = stacks.detector();
    let provider = detector.detect(headers, body)?;
    if let Some(route) = stacks.route(provider) {
        return Some(route);
    }
    let mut verifying = stacks.routes().filter(|route| {
        route
            .source
            .setting("verify")
            .and_then(|scheme| detector.provider_of_scheme(&scheme.value))
            == Some(provider)
    });
    match (verifying.next(), verifying.next()) {
        (Some(route), None) => Some(route),
        _ => None,
    }
}

/// The answer to an `OPTIONS` abuse-protection handshake (CloudEvents / Event Grid), when the
/// request is one.
pub fn options_response<B>(stacks: &Stacks, request: &http::Request<B>) -> Option<Response> {
    let mut head = http::Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.headers_mut() = request.headers().clone();
    stacks
        .detector()
        .handshake(&head)
        .map(|response| response.map(Body::from))
}
