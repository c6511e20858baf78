//! The CloudEvents / Event Grid abuse-protection handshake: an `OPTIONS` request with
//! `WebHook-Request-Origin` is answered 200 with `WebHook-Allowed-Origin` and
//! `WebHook-Allowed-Rate` (CloudEvents HTTP webhook spec 1.0 §4). The edge router calls
//! [`options_response`] before choosing a source stack, since the request has no body.

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode};

/// The answer to an abuse-protection `OPTIONS` request, or `None` when `request` is not one.
pub fn options_response<B>(request: &http::Request<B>) -> Option<Response<Bytes>> {
    if request.method() != Method::OPTIONS {
        return None;
    }
    let origin = request.headers().get("webhook-request-origin")?.clone();
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert("webhook-allowed-origin", origin);
    headers.insert("webhook-allowed-rate", HeaderValue::from_static("*"));
    headers.insert(
        http::header::ALLOW,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_abuse_protection_handshake() {
        let request = http::Request::builder()
            .method(Method::OPTIONS)
            .header("WebHook-Request-Origin", "eventgrid.azure.net")
            .body(())
            .unwrap();
        let response = options_response(&request).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["webhook-allowed-origin"],
            "eventgrid.azure.net"
        );
        assert_eq!(response.headers()["webhook-allowed-rate"], "*");
    }

    #[test]
    fn other_requests_are_not_handshakes() {
        let no_origin = http::Request::builder()
            .method(Method::OPTIONS)
            .body(())
            .unwrap();
        assert!(options_response(&no_origin).is_none());
        let post = http::Request::builder()
            .method(Method::POST)
            .header("WebHook-Request-Origin", "eventgrid.azure.net")
            .body(())
            .unwrap();
        assert!(options_response(&post).is_none());
    }
}
