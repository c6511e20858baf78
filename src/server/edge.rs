//! The edge: the fixed tower-http stack in front of the router, outermost first. Each layer says
//! why it sits where it does.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use axum::Router;
use http::header::CONTENT_TYPE;
use http::{HeaderName, Request, StatusCode};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, OnResponse, TraceLayer};

use super::respond::error_response;

/// Wraps the router in the edge stack.
pub fn wrap(router: Router, request_timeout: Duration) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    // `Router::layer` wraps outside what is already there: the last call is the outermost.
    router
        // Innermost: a slow upload plus processing is bounded (408, turned into JSON below).
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        // A panic in a handler or a stage becomes a JSON 500, not a dropped connection; caught
        // inside the request-id layers, so that answer carries `x-request-id` as every other
        // does, and logged inside the request's span.
        .layer(CatchPanicLayer::custom(panic_response))
        // The request id goes back on the answer so a provider's delivery log can quote it.
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        // One span per request, after the secrets are marked sensitive (tower-http's order).
        // Failures are logged where their cause is known (respond.rs, the panic handler), so the
        // trace layer's own per-request failure line stays at debug: a load-shedding 503 (queue
        // full, shutting down, Redis away) answered to every request must not flood the log.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_response(record_duration)
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        // Secret headers marked sensitive by the one redaction policy (genhook_core::redact), the
        // same rules that decide what stored events and dead letters keep.
        .layer(axum::middleware::map_request(mark_sensitive))
        // Answers produced by the layers above (408) carry no JSON body: give them one.
        .layer(axum::middleware::map_response(json_error_body))
}

/// Records the answer's time in `genhook_http_request_duration_seconds{status}` (every answer,
/// the edge's own 408 and 500 included), then logs it as tower-http does (at debug).
fn record_duration(response: &Response, latency: Duration, span: &tracing::Span) {
    ::metrics::histogram!(
        genhook_core::metrics::REQUEST_DURATION,
        "status" => genhook_core::metrics::status_label(response.status())
    )
    .record(latency.as_secs_f64());
    DefaultOnResponse::default().on_response(response, latency, span);
}

async fn mark_sensitive(mut request: Request<Body>) -> Request<Body> {
    genhook_core::redact::mark_sensitive(request.headers_mut());
    request
}

fn make_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %redacted_path(request.uri().path()),
        request_id,
    )
}

/// The path with a `/webhook/{source}/{token}` token hidden: URL tokens are secrets.
pub fn redacted_path(path: &str) -> String {
    let mut parts = path.splitn(4, '/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(""), Some("webhook"), Some(source), Some(_token)) => {
            format!("/webhook/{source}/<token>")
        }
        _ => path.to_owned(),
    }
}

async fn json_error_body(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let reason = match status {
            StatusCode::REQUEST_TIMEOUT => "request took too long",
            StatusCode::PAYLOAD_TOO_LARGE => "body is larger than max_body_size",
            _ => status.canonical_reason().unwrap_or("error"),
        };
        return error_response(status, reason, None);
    }
    response
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("A request handler panicked.");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal error", None)
}

#[cfg(test)]
mod tests {
    use super::redacted_path;

    #[test]
    fn url_tokens_are_hidden() {
        assert_eq!(
            redacted_path("/webhook/github/s3cret"),
            "/webhook/github/<token>"
        );
        assert_eq!(redacted_path("/webhook/github"), "/webhook/github");
        assert_eq!(redacted_path("/healthz"), "/healthz");
    }
}
