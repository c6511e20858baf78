//! [`AdminError`]: every way an admin call fails, and its JSON answer.

use axum::response::{IntoResponse, Response};
use axum::Json;
use genhook_core::queue::QueueError;
use http::StatusCode;

/// Why an admin call failed. Answered as `{"error": "..."}` with the status below.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No or wrong bearer token (401).
    #[error("missing or wrong admin token")]
    Unauthorized,
    /// No such dead letter or route (404).
    #[error("{0}")]
    NotFound(String),
    /// The method is not allowed here (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A bad query string (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The event still cannot be rendered; it is back in the dead-letter queue (422).
    #[error("render failed: {0}")]
    RenderFailed(String),
    /// The queue refused the replay; the event is back in the dead-letter queue (503).
    #[error("queue refused the replay: {0}")]
    QueueRefused(QueueError),
    /// The store cannot be reached for now, e.g. Redis is restarting (503, `Retry-After`).
    #[error("queue storage is unavailable; try again shortly")]
    Unavailable(#[source] QueueError),
    /// The SL1 event policy could not be built (`404` unknown source, `422` bad severity or
    /// nothing to match), SL1's GraphQL API is not configured (`503`) or failed or refused it
    /// (`502`).
    #[error("{0}")]
    Policy(crate::policy::PolicyError),
    /// The store failed (500); the cause goes to the log only.
    #[error("queue storage failed")]
    Storage(#[source] QueueError),
    /// The request conflicts with the state of what it targets, e.g. deleting a built-in
    /// mapping (409, with the reason).
    #[error("{0}")]
    Conflict(String),
    /// The server failed at something that is not the queue store, e.g. a background task
    /// that panicked or a file it could not write (500, with the reason).
    #[error("{0}")]
    Internal(String),
}

impl From<QueueError> for AdminError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::NotFound => Self::NotFound("no such dead letter".into()),
            unavailable @ QueueError::Unavailable(_) => Self::Unavailable(unavailable),
            other => Self::Storage(other),
        }
    }
}

impl AdminError {
    /// The HTTP status it is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RenderFailed(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::QueueRefused(_) | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Storage(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Policy(error) => policy_status(error),
        }
    }
}

fn policy_status(error: &crate::policy::PolicyError) -> StatusCode {
    use crate::policy::PolicyError;
    match error {
        PolicyError::UnknownSource(_) => StatusCode::NOT_FOUND,
        PolicyError::Config(_) => StatusCode::SERVICE_UNAVAILABLE,
        other if other.is_request_error() => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match &self {
            Self::Storage(cause) => {
                tracing::error!(error = ?cause, "Admin call failed in the queue store.");
            }
            Self::Unavailable(cause) => {
                tracing::warn!(error = ?cause, "Admin call refused: the queue store is unavailable.");
            }
            Self::Internal(reason) => tracing::error!(%reason, "Admin call failed."),
            _ => {}
        }
        let mut response = (
            self.status(),
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        match self {
            Self::Unauthorized => {
                response.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    http::HeaderValue::from_static("Bearer"),
                );
            }
            Self::QueueRefused(_) | Self::Unavailable(_) => {
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static("5"),
                );
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_store_is_503_with_retry_after_and_no_internals() {
        let cause = QueueError::Unavailable("connection refused (os error 111) at 10.0.0.7".into());
        let error = AdminError::from(cause);
        assert!(!error.to_string().contains("10.0.0.7"), "{error}");
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "5");
    }

    #[test]
    fn other_store_failures_stay_500() {
        let cause = QueueError::Storage("disk full".into());
        let error = AdminError::from(cause);
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.to_string(), "queue storage failed");
    }
}
