//! The template stage's own error, used only by a layer built with
//! [`TemplateLayer::rejecting`](crate::TemplateLayer::rejecting).

use std::borrow::Cow;

use genhook_core::Reject;
use http::StatusCode;

/// Why the template stage refused a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The mapping line's template failed on this webhook's fields.
    #[error("message template failed")]
    RenderFailed {
        /// Why, for the logs (the public reason does not include it).
        reason: String,
    },
}

impl Reject for TemplateError {
    fn status(&self) -> StatusCode {
        match self {
            Self::RenderFailed { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn public_reason(&self) -> Cow<'static, str> {
        match self {
            Self::RenderFailed { .. } => Cow::Borrowed("message template failed"),
        }
    }

    fn metric_reason(&self) -> &'static str {
        match self {
            Self::RenderFailed { .. } => "render_failed",
        }
    }
}
