//! The `redis` backend (being written: opening it fails for now).

use std::sync::Arc;

use genhook_core::queue::{DeadLetters, DedupStore, QueueError};

use super::memory::{MemoryDedup, MemoryQueue};

/// The redis queue.
#[derive(Debug)]
pub struct RedisQueue(MemoryQueue);

impl RedisQueue {
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
    QueueError::Storage("the redis backend is not available yet".into())
}

/// Opens the backend.
pub(crate) async fn open_backend(
    _settings: &super::QueueSettings,
) -> Result<super::Backend, QueueError> {
    Err(unavailable())
}
