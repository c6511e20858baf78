//! [`DispatchLayer`]: the configuration of the dispatch stage.

use std::fmt;
use std::sync::Arc;

use genhook_core::queue::Queue;
use tower::Layer;

use crate::{Dispatch, DispatchSettings};

/// Ends a source's stack: de-duplicates, then enqueues (or dead-letters) the webhook durably and
/// answers 202. The service it wraps is never called.
#[derive(Clone)]
pub struct DispatchLayer {
    pub(crate) queue: Arc<dyn Queue>,
    pub(crate) settings: Arc<DispatchSettings>,
}

// === impl DispatchLayer ===

impl DispatchLayer {
    /// A layer accepting into `queue`, which also de-duplicates delivery ids.
    pub fn new(queue: Arc<dyn Queue>, settings: DispatchSettings) -> Self {
        Self {
            queue,
            settings: Arc::new(settings),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &DispatchSettings {
        &self.settings
    }
}

impl fmt::Debug for DispatchLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatchLayer")
            .field("queue", &self.queue.backend())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for DispatchLayer {
    type Service = Dispatch<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Dispatch::new(inner, self)
    }
}
