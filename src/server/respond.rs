//! The one place that turns a stack's result into an HTTP answer: `{"error": reason}` bodies,
//! `Retry-After` on 429 and 503 (rounded up, never 0), logging 5xx with their cause and counting
//! every rejection by reason.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use genhook_core::{metrics as names, PipelineError, WebhookResponse};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};

/// The answer for a stack's result.
pub fn respond(source: &str, result: Result<WebhookResponse, PipelineError>) -> Response {
    match result {
        Ok(response) => response.map(Body::from),
        Err(error) => reject(source, &error),
    }
}

/// The answer for a refused request.
pub fn reject(source: &str, error: &PipelineError) -> Response {
    let status = error.status();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // Load shedding (queue full, Redis away, shutting down): answered to every request while
        // it lasts, so not one log line each; the queue logs the outage itself, once.
        tracing::debug!(source, cause = %genhook_core::error_chain(error.cause()), "Webhook refused for now (503).");
    } else if status.is_server_error() {
        tracing::error!(source, status = status.as_u16(), cause = %genhook_core::error_chain(error.cause()), "Webhook failed.");
    } else {
        tracing::debug!(
            source,
            status = status.as_u16(),
            reason = error.public_reason(),
            "Webhook refused."
        );
    }
    metrics::counter!(names::WEBHOOKS_REJECTED, "source" => source.to_owned(), "reason" => error.metric_reason())
        .increment(1);
    error_response(status, error.public_reason(), error.retry_after())
}

/// A JSON error answer; 429 and 503 always carry `Retry-After` (at least 1 s).
pub fn error_response(status: StatusCode, reason: &str, retry_after: Option<Duration>) -> Response {
    let body = serde_json::json!({ "error": reason }).to_string();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let needs_retry_after =
        status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
    if let Some(wait) = retry_after.or(needs_retry_after.then_some(Duration::from_secs(1))) {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs(wait)));
    }
    response
}

/// Seconds to wait, rounded up and at least 1 (`Retry-After: 0` would invite an immediate retry).
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// A JSON answer with the given status.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    genhook_core::json_response(status, value).map(Body::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use genhook_core::Reject;

    #[derive(Debug, thiserror::Error)]
    #[error("rate limit exceeded")]
    struct Limited;

    impl Reject for Limited {
        fn status(&self) -> StatusCode {
            StatusCode::TOO_MANY_REQUESTS
        }
        fn retry_after(&self) -> Option<Duration> {
            Some(Duration::from_millis(1500))
        }
    }

    async fn body_text(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn rate_limited_is_429_json_with_retry_after_rounded_up() {
        let response = respond("github", Err(Limited.into()));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "2");
        assert_eq!(
            body_text(response).await,
            r#"{"error":"rate limit exceeded"}"#
        );
    }

    #[tokio::test]
    async fn internal_error_shows_none_of_its_cause() {
        let cause: genhook_core::BoxError = "redb: table pending is corrupt at /var/lib".into();
        let response = respond("github", Err(PipelineError::from(cause)));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get(RETRY_AFTER).is_none());
        assert_eq!(body_text(response).await, r#"{"error":"internal error"}"#);
    }

    #[test]
    fn retry_after_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(7)), 7);
        assert_eq!(retry_after_secs(Duration::from_millis(7001)), 8);
    }
}
