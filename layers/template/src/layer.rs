//! [`TemplateLayer`]: the configuration of the template stage.

use tower::Layer;

use crate::Template;

/// Renders the message of the mapping line chosen by `extract`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemplateLayer {
    reject_on_failure: bool,
}

// === impl TemplateLayer ===

impl TemplateLayer {
    /// A layer that, when a template fails, records [`RenderFailed`](genhook_core::stage::RenderFailed)
    /// and goes on, so that `dispatch` keeps the webhook in the dead-letter queue (what the
    /// `template` stage of a mapping's `layers =` line does).
    pub const fn new() -> Self {
        Self {
            reject_on_failure: false,
        }
    }

    /// A layer that answers a failed template with `422 {"error":"message template failed"}`
    /// instead, for a library consumer who wants the sender to see the failure.
    pub const fn rejecting() -> Self {
        Self {
            reject_on_failure: true,
        }
    }

    /// Whether a failed template is refused (422) rather than passed on for dead-lettering.
    pub const fn rejects_on_failure(&self) -> bool {
        self.reject_on_failure
    }
}

impl<S> Layer<S> for TemplateLayer {
    type Service = Template<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Template::from_parts(inner, self.reject_on_failure)
    }
}
