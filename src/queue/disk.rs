//! The `disk` backend (being written: opening it fails for now).

use std::sync::Arc;

use genhook_core::queue::{DeadLetters, DedupStore, QueueError};

use super::memory::{MemoryDedup, MemoryQueue};

/// The disk queue.
#[derive(Debug)]
pub struct DiskQueue(MemoryQueue);

impl DiskQueue {
    /// Its dead-letter queue.
    pub fn dead_letters(&self) -> Arc<dyn DeadLetters> {
        self.0.dead_letters()
    }

    /// Its de-duplication memory.
    pub fn dedup(&self) -> Arc<dyn DedupStore> {
        Arc::new(MemoryDedup::new())
    }
}

/// Not yet available.
fn unavailable() -> QueueError {
    QueueError::Storage("the disk backend is not available yet".into())
}

/// Opens the backend.
pub(crate) async fn open_backend(
    _dir: &std::path::Path,
    _max: usize,
) -> Result<super::Backend, QueueError> {
    Err(unavailable())
}
