//! The error of a per-source stack: [`Reject`] says how a stage's own error is answered,
//! [`PipelineError`] carries it through the stack to the one place that answers
//! (`genhook::server::respond`).

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// A boxed error, as generic tower middleware produce them.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// An error that knows how it should be answered over HTTP.
///
/// Each stage has its own `thiserror` enum implementing this trait, so that the status lives next
/// to the error that causes it.
pub trait Reject: StdError + Send + Sync + 'static {
    /// The HTTP status of the answer.
    fn status(&self) -> StatusCode;

    /// A reason safe to show in a provider's delivery log: no secrets, no internals.
    fn public_reason(&self) -> Cow<'static, str> {
        Cow::Owned(self.to_string())
    }

    /// How long the sender should wait before trying again (sent as `Retry-After`).
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// A short, stable label for the `genhook_webhooks_rejected_total{reason=…}` metric.
    fn metric_reason(&self) -> &'static str {
        "rejected"
    }
}

/// The single error type of a per-source stack.
///
/// It deliberately does not implement [`Reject`], so that every `E: Reject` converts into it with
/// `?` or `.into()`. The public reason is kept apart from the cause: only the reason is ever sent
/// to a client, the cause (`source()`) goes to the logs.
pub struct PipelineError {
    status: StatusCode,
    reason: Cow<'static, str>,
    metric_reason: &'static str,
    retry_after: Option<Duration>,
    source: BoxError,
}

impl PipelineError {
    /// An internal fault: answered `500 {"error":"internal error"}`, the cause kept for the logs.
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            reason: Cow::Borrowed("internal error"),
            metric_reason: "internal",
            retry_after: None,
            source: cause.into(),
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The reason shown to the client.
    pub fn public_reason(&self) -> &str {
        &self.reason
    }

    /// The metric label of the rejection.
    pub fn metric_reason(&self) -> &'static str {
        self.metric_reason
    }

    /// How long the client should wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The original error.
    pub fn cause(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.source
    }

    /// Whether the original error is of type `E` (classification by type, never by text).
    pub fn is<E: StdError + 'static>(&self) -> bool {
        self.source.is::<E>()
    }

    /// The original error as `E`, if it is one.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.source.downcast_ref::<E>()
    }
}

impl<E: Reject> From<E> for PipelineError {
    fn from(error: E) -> Self {
        Self {
            status: error.status(),
            reason: error.public_reason(),
            metric_reason: error.metric_reason(),
            retry_after: error.retry_after(),
            source: Box::new(error),
        }
    }
}

impl From<BoxError> for PipelineError {
    /// Errors from generic tower middleware arrive boxed: recover a boxed `PipelineError`,
    /// otherwise answer 500 and keep the cause for the logs.
    fn from(error: BoxError) -> Self {
        match error.downcast::<PipelineError>() {
            Ok(pipeline) => *pipeline,
            Err(other) => Self::internal(other),
        }
    }
}

impl fmt::Debug for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineError")
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("retry_after", &self.retry_after)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl StdError for PipelineError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

/// An error and its causes, `: `-separated: the one way GenHook writes an error chain into a log
/// line, a dead letter's `last_error` or a start-up failure. A cause whose text is already in
/// the chain (an error that prints its source) is not written twice.
pub fn error_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let more = current.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = current.source();
    }
    text
}

/// A stage ran before the stage whose output it needs. The load-time order check should make
/// this impossible; if it ever happens the request gets a 500, never a panic.
#[derive(Debug, thiserror::Error)]
#[error("stage output `{0}` is missing: layer order is wrong")]
pub struct MissingStage(pub &'static str);

impl Reject for MissingStage {
    fn status(&self) -> StatusCode {
        StatusCode::INTERNAL_SERVER_ERROR
    }
    fn public_reason(&self) -> Cow<'static, str> {
        Cow::Borrowed("internal error")
    }
    fn metric_reason(&self) -> &'static str {
        "internal"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("slow down")]
    struct Limited;

    impl Reject for Limited {
        fn status(&self) -> StatusCode {
            StatusCode::TOO_MANY_REQUESTS
        }
        fn retry_after(&self) -> Option<Duration> {
            Some(Duration::from_millis(1500))
        }
    }

    #[test]
    fn reject_converts_with_status_reason_and_type() {
        let error = PipelineError::from(Limited);
        assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(error.public_reason(), "slow down");
        assert_eq!(error.retry_after(), Some(Duration::from_millis(1500)));
        assert!(error.is::<Limited>());
    }

    #[test]
    fn boxed_pipeline_error_is_recovered_and_others_are_internal() {
        let boxed: BoxError = Box::new(PipelineError::from(Limited));
        assert_eq!(
            PipelineError::from(boxed).status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        let other: BoxError = "database exploded at /var/lib/x".into();
        let error = PipelineError::from(other);
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.public_reason(), "internal error");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open the store: {0}")]
    struct Opening(#[source] std::io::Error);

    #[test]
    fn error_chain_writes_each_cause_once() {
        let io = std::io::Error::other("disk full");
        assert_eq!(error_chain(&io), "disk full");
        // The cause's text is already in the message: written once.
        let error = Opening(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&error), "cannot open the store: disk full");
        let error = PipelineError::internal(Opening(std::io::Error::other("disk full")));
        assert_eq!(
            error_chain(&error),
            "internal error: cannot open the store: disk full"
        );
    }
}
