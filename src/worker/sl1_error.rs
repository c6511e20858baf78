//! [`Sl1Error`]: why an attempt to deliver to SL1 failed, and what that means for retrying. Its
//! own module because the client (`sl1.rs`), its TLS settings (`tls.rs`), the retry policy and
//! the pool all name it, and none of them should depend on another for it.

use std::time::Duration;

use http::StatusCode;

/// Why an attempt to deliver to SL1 failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Sl1Error {
    /// No connection could be made (refused, DNS, TLS handshake).
    #[error("cannot connect to SL1")]
    Connect(#[source] reqwest::Error),
    /// SL1 answered with a status other than 200, 201 or 202.
    #[error("SL1 answered {status}")]
    Status {
        /// The status.
        status: StatusCode,
        /// Its `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
        /// Its `X-EM7-status-message`, when it sent one.
        em7_message: Option<String>,
    },
    /// The connection failed after it was made (reset, broken body).
    #[error("SL1 request failed")]
    Transport(#[source] reqwest::Error),
    /// reqwest gave up waiting (the connection was not made within `sl1_timeout`); an attempt
    /// that takes too long otherwise ends with tower's `Elapsed` from the attempt timeout.
    #[error("SL1 did not answer in time")]
    Timeout,
    /// The client could not be built (bad URL, unreadable CA file).
    #[error("invalid SL1 client settings: {0}")]
    Config(String),
}

impl Sl1Error {
    /// Whether another attempt may succeed: connection problems, timeouts, 5xx, 408 and 429.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connect(_) | Self::Transport(_) | Self::Timeout => true,
            Self::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Self::Config(_) => false,
        }
    }

    /// The `Retry-After` hint of an error answer.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The label of the `genhook_sl1_requests_total{status}` metric.
    pub fn metric_status(&self) -> String {
        match self {
            Self::Connect(_) => "connect".into(),
            Self::Transport(_) => "transport".into(),
            Self::Timeout => "timeout".into(),
            Self::Status { status, .. } => status.as_str().to_owned(),
            Self::Config(_) => "config".into(),
        }
    }

    /// Sorts a reqwest failure: timeout, connect or transport.
    pub(super) fn from_reqwest(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Connect(error)
        } else {
            Self::Transport(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_statuses_are_5xx_408_429_only() {
        let status = |code: u16| Sl1Error::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
            em7_message: None,
        };
        for code in [500, 502, 503, 504, 408, 429] {
            assert!(status(code).is_retryable(), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 422] {
            assert!(!status(code).is_retryable(), "{code}");
        }
        assert!(Sl1Error::Timeout.is_retryable());
        assert!(!Sl1Error::Config("x".into()).is_retryable());
    }
}
