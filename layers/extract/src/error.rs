//! The extract stage's own error: no mapping line for the event.

use std::borrow::Cow;

use genhook_core::Reject;
use http::StatusCode;

/// Why the extract stage refused a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The source's mapping has no line for the event type (and no `*` or sectionless line).
    #[error("no mapping for event `{event}` of source `{source_name}`")]
    NoMapping {
        /// The event type.
        event: String,
        /// The source.
        source_name: String,
    },
}

impl Reject for ExtractError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NoMapping { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn public_reason(&self) -> Cow<'static, str> {
        Cow::Owned(self.to_string())
    }

    fn metric_reason(&self) -> &'static str {
        match self {
            Self::NoMapping { .. } => "no_mapping",
        }
    }
}
