//! The dispatch stage's own error: the queue could not take the webhook.

use std::borrow::Cow;
use std::time::Duration;

use genhook_core::queue::QueueError;
use genhook_core::Reject;
use http::StatusCode;

/// How long a sender refused with 503 is asked to wait (`Retry-After: 1`).
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Why the dispatch stage could not accept a webhook. Nothing was queued; the sender should
/// deliver it again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DispatchError {
    /// The queue holds `queue_max_size` events (503, `Retry-After: 1`).
    #[error("queue is full")]
    QueueFull,
    /// The service is shutting down (503, `Retry-After: 1`).
    #[error("service is shutting down")]
    ShuttingDown,
    /// The queue's store cannot be reached or written right now, e.g. Redis is restarting or
    /// the disk is full (503, `Retry-After: 1`; the cause is logged, never sent).
    #[error("queue is unavailable")]
    Unavailable(#[source] QueueError),
    /// The queue's store failed (500 `internal error`; the cause is logged, never sent).
    #[error("queue storage failed")]
    Storage(#[source] QueueError),
}

impl From<QueueError> for DispatchError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::Full => Self::QueueFull,
            QueueError::Closed => Self::ShuttingDown,
            unavailable @ QueueError::Unavailable(_) => Self::Unavailable(unavailable),
            other => Self::Storage(other),
        }
    }
}

impl Reject for DispatchError {
    fn status(&self) -> StatusCode {
        match self {
            Self::QueueFull | Self::ShuttingDown | Self::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn public_reason(&self) -> Cow<'static, str> {
        match self {
            Self::QueueFull => Cow::Borrowed("queue is full"),
            Self::ShuttingDown => Cow::Borrowed("service is shutting down"),
            Self::Unavailable(_) => Cow::Borrowed("queue is unavailable"),
            Self::Storage(_) => Cow::Borrowed("internal error"),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::QueueFull | Self::ShuttingDown | Self::Unavailable(_) => Some(RETRY_AFTER),
            Self::Storage(_) => None,
        }
    }

    fn metric_reason(&self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::ShuttingDown => "shutting_down",
            Self::Unavailable(_) => "queue_unavailable",
            Self::Storage(_) => "internal",
        }
    }
}
