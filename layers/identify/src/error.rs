//! The identify stage's own errors: a body it cannot read. Each is answered `400` with a reason a
//! provider's delivery log can show (no payload content is ever echoed).

use std::borrow::Cow;

use genhook_core::Reject;
use http::StatusCode;

/// Why the identify stage refused a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifyError {
    /// `Content-Type` names a charset other than UTF-8.
    #[error("unsupported charset `{charset}`: the body must be UTF-8")]
    UnsupportedCharset {
        /// The charset as sent (truncated to 40 characters).
        charset: String,
    },
    /// The body (or a percent-decoded form field) is not valid UTF-8.
    #[error("body is not valid UTF-8")]
    InvalidUtf8,
    /// The body is empty.
    #[error("body is empty")]
    EmptyBody,
    /// The body is valid JSON but a bare string, number, boolean or null: there is no field to
    /// map (webhooks are JSON objects, or arrays of them).
    #[error("body is a JSON {kind}, not an object or an array")]
    NotAnObject {
        /// `string`, `number`, `boolean` or `null`.
        kind: &'static str,
    },
    /// The body is a JSON array but not a batch of events (Event Grid, CloudEvents): other
    /// providers send one JSON object per webhook.
    #[error("body is a JSON array but not an Event Grid or CloudEvents batch; send one JSON object per webhook")]
    NotABatch,
    /// The body (or a form's `payload` field) is not valid JSON.
    #[error("body is not valid JSON: {reason}")]
    InvalidJson {
        /// The parser's reason, with line and column (never the input itself).
        reason: String,
    },
}

impl IdentifyError {
    pub(crate) fn json(error: &serde_json::Error) -> Self {
        Self::InvalidJson {
            reason: error.to_string(),
        }
    }

    pub(crate) fn charset(charset: &str) -> Self {
        Self::UnsupportedCharset {
            charset: charset.chars().take(40).collect(),
        }
    }
}

impl Reject for IdentifyError {
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn public_reason(&self) -> Cow<'static, str> {
        Cow::Owned(self.to_string())
    }

    fn metric_reason(&self) -> &'static str {
        match self {
            Self::UnsupportedCharset { .. } => "unsupported_charset",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::EmptyBody => "empty_body",
            Self::InvalidJson { .. } => "invalid_json",
            Self::NotAnObject { .. } => "not_an_object",
            Self::NotABatch => "not_a_batch",
        }
    }
}
