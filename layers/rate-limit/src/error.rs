//! The rate-limit stage's own error: the source sent more than its `rate_limit` allows.

use std::borrow::Cow;
use std::time::Duration;

use genhook_core::Reject;
use http::StatusCode;

/// Why the rate-limit stage refused a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The source is over its quota; the sender may try again after `retry_after`.
    #[error("rate limit exceeded")]
    Limited {
        /// How long until the limiter lets one more webhook through.
        retry_after: Duration,
    },
}

impl Reject for RateLimitError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Limited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn public_reason(&self) -> Cow<'static, str> {
        match self {
            Self::Limited { .. } => Cow::Borrowed("rate limit exceeded"),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Limited { retry_after } => Some(*retry_after),
        }
    }

    fn metric_reason(&self) -> &'static str {
        match self {
            Self::Limited { .. } => "rate_limited",
        }
    }
}
