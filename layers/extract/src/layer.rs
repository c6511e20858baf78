//! [`ExtractLayer`]: the configuration of the extract stage.

use std::sync::Arc;

use genhook_mapping::{CompiledSource, Unmapped};
use tower::Layer;

use crate::Extract;

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
