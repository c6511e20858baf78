//! [`ExtractLayer`]: the configuration of the extract stage.

use std::sync::Arc;

use genhook_mapping::CompiledSource;
use tower::Layer;

use crate::Extract;

/// What to do with an event the source's mapping has no line for (`unmapped =`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Unmapped {
    /// Answer `422 {"error":"no mapping for event …"}` (the default): the provider's delivery log
    /// shows the webhook was not used.
    #[default]
    Reject,
    /// Answer `202 {"status":"ignored"}`: the provider sees success, nothing is queued.
    Ignore,
}

impl Unmapped {
    /// Parses `reject` or `ignore`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "reject" => Some(Self::Reject),
            "ignore" => Some(Self::Ignore),
            _ => None,
        }
    }
}

/// Picks the source's mapping line for the event and extracts its fields.
#[derive(Debug, Clone)]
pub struct ExtractLayer {
    source: Arc<CompiledSource>,
    unmapped: Unmapped,
}

// === impl ExtractLayer ===

impl ExtractLayer {
    /// A layer selecting lines of `source`, refusing unmapped events with 422.
    pub fn new(source: Arc<CompiledSource>) -> Self {
        Self {
            source,
            unmapped: Unmapped::Reject,
        }
    }

    /// The same layer with another policy for unmapped events.
    #[must_use]
    pub fn with_unmapped(mut self, unmapped: Unmapped) -> Self {
        self.unmapped = unmapped;
        self
    }

    /// The policy for unmapped events.
    pub fn unmapped(&self) -> Unmapped {
        self.unmapped
    }
}

impl<S> Layer<S> for ExtractLayer {
    type Service = Extract<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Extract::from_parts(inner, Arc::clone(&self.source), self.unmapped)
    }
}
