//! Durable delivery: the queue between accepting a webhook (202) and delivering it to SL1, the
//! dead-letter queue, and the memory of delivery ids already accepted.
//!
//! Three backends implement [`genhook_core::queue::Queue`] and [`DeadLetters`]. Each takes a
//! delivery id's de-duplication claim and its event in one step (`Queue::accept`):
//!
//! | backend | module | promise of `accept` | claim and event | use |
//! |---|---|---|---|---|
//! | `disk` (default) | [`disk`] | committed and fsynced in an embedded redb store (group commit) | one redb write transaction | one instance |
//! | `memory` | [`memory`] | none: volatile, lost on exit (the count dropped is logged) | one lock | tests, throwaway |
//! | `redis` | [`redis`] | acknowledged by Redis (`XADD`) | one Lua script | many instances sharing one queue |
//!
//! The server calls [`open`] once with the [`QueueSettings`] the config maps from the INI keys,
//! and hands the [`Backend`]'s two handles to the dispatch stage, the workers and the admin API.
//!
//! Every backend is bounded by the bytes of the events it holds (`queue_max_bytes`), and
//! optionally by their count (`queue_max_size`): see [`limits`]. Past the bound `accept` fails
//! with [`QueueError::Full`] (`503` + `Retry-After`), and [`Queue::has_room`] lets the door refuse
//! before reading a body.
//!
//! Every backend dispatches by priority with a weighted round robin (high : normal : low =
//! 4 : 2 : 1, see [`priority`]): with a backlog, high goes first, and no priority starves.

pub mod disk;
pub mod limits;
pub mod memory;
pub mod priority;
pub mod redis;
mod settings;

use std::sync::Arc;

use genhook_core::queue::{DeadLetters, Queue, QueueError};

pub use limits::Limits;
pub use settings::{QueueBackend, QueueSettings};

/// The two handles of one opened backend: plain data, cheap to clone.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The queue of accepted events.
    pub queue: Arc<dyn Queue>,
    /// The dead-letter queue (the admin API's view).
    pub dead_letters: Arc<dyn DeadLetters>,
}

/// Opens the backend the settings name.
///
/// # Errors
///
/// [`QueueError::Storage`] when the store cannot be opened: for `disk` a data directory that
/// cannot be created, or a store file that is corrupted or truncated (the error names the path
/// and what is wrong; the file is never deleted or recreated); for `redis` an unreachable server
/// or a bad `redis_url`.
pub async fn open(settings: &QueueSettings) -> Result<Backend, QueueError> {
    match settings.backend {
        QueueBackend::Memory => {
            let queue = Arc::new(memory::MemoryQueue::with_limits(settings.limits()));
            Ok(Backend {
                dead_letters: queue.dead_letters(),
                queue,
            })
        }
        QueueBackend::Disk => disk::open_backend(&settings.data_dir, settings.limits()).await,
        QueueBackend::Redis => redis::open_backend(settings).await,
    }
}

/// Unix time now, in milliseconds.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
