//! What the identify layer tests share: a webhook request as the edge hands it on.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use genhook_core::WebhookRequest;

/// A `POST /webhook/test` with these headers and body.
pub(crate) fn request(headers: &[(&str, &str)], body: impl Into<Bytes>) -> WebhookRequest {
    let mut builder = http::Request::post("/webhook/test");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).unwrap()
}
