//! Giving disk space back after a backlog drained: redb reuses the pages of acknowledged events
//! but never shrinks its file by itself, so a store that once held a 10k backlog of 25 KB
//! webhooks kept ~320 MB for good. [`Compactor`] runs redb's `Database::compact` (which moves
//! the live pages to the front and truncates the file) when it is both safe and worth it:
//!
//! - **On the writer thread, between batches, only when no write waits**: the writer owns every
//!   write, so nothing else writes meanwhile; compaction needs the store to itself (no read
//!   transaction), so the readers' handle is withdrawn for the time it takes (a reader gets
//!   [`QueueError::Unavailable`](genhook_core::queue::QueueError::Unavailable) and `next` tries
//!   again 100 ms later) and writes that arrive wait in the writer's queue, as they would for a
//!   slow commit. Nothing is refused and nothing queued is touched: compaction moves pages
//!   inside redb's own transactions (crash-safe like any commit).
//! - **When the queue is (nearly) empty after having been large**: at most
//!   [`SMALL_QUEUE`] events held, and the file at least [`MIN_GROWTH`] larger than it was after
//!   the last compaction (or at open) and twice that size. A drained store holds little, so
//!   compacting it is quick (BENCHMARKS.md has the figure), and a file that cannot shrink (a large
//!   dead-letter queue) is not compacted again until it grows by as much once more.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Database, ReadableTableMetadata};

use super::recovery::Store;
use super::store::EVENTS;

/// Compaction runs only when the queue holds at most this many events.
pub(super) const SMALL_QUEUE: u64 = 64;
/// …and the file grew by at least this much since the last compaction (or open).
pub(super) const MIN_GROWTH: u64 = 64 << 20;
/// How long to wait for readers to let go of the store before giving up this time.
const READERS_GRACE: Duration = Duration::from_millis(500);

/// When to compact, as the writer thread sees it.
#[derive(Debug)]
pub(super) struct Compactor {
    /// The file's size after the last compaction (or at open).
    floor: u64,
    /// Grown by this much (and twice the floor) the file is worth compacting.
    min_growth: u64,
}

impl Compactor {
    pub(super) fn new(store: &Store, min_growth: u64) -> Self {
        Self {
            floor: file_len(store),
            min_growth,
        }
    }

    /// The writer is idle: compacts the store when it is worth it. Blocking.
    pub(super) fn idle(&mut self, store: &Store) {
        let len = file_len(store);
        if len
            < self
                .floor
                .saturating_mul(2)
                .max(self.floor.saturating_add(self.min_growth))
        {
            return;
        }
        let Ok(db) = store.db() else {
            return; // A storage fault: the writer is reopening the store.
        };
        if !holds_few(&db) {
            return;
        }
        drop(db);
        let started = Instant::now();
        match store.exclusive(READERS_GRACE, compact) {
            Some(Ok(())) => {
                self.floor = file_len(store);
                tracing::info!(
                    backend = "disk",
                    before_bytes = len,
                    after_bytes = self.floor,
                    took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "Queue store compacted after its backlog drained."
                );
            }
            Some(Err(error)) => {
                // Not worth retrying at once: wait for the file to grow again.
                self.floor = len;
                tracing::warn!(backend = "disk", %error, "Queue store compaction failed; the store is unchanged and kept in use.");
            }
            None => {
                tracing::debug!(
                    backend = "disk",
                    "Queue store compaction skipped: readers busy."
                );
            }
        }
    }
}

/// Whether the store holds at most [`SMALL_QUEUE`] events.
fn holds_few(db: &Arc<Database>) -> bool {
    let count = || -> Result<u64, redb::Error> {
        let txn = db.begin_read()?;
        Ok(txn.open_table(EVENTS)?.len()?)
    };
    count().is_ok_and(|n| n <= SMALL_QUEUE)
}

/// Compacts; redb panics are turned into errors (the store is then handed back as it is).
fn compact(db: &mut Database) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.compact()))
        .map_err(|_| "redb panicked while compacting".to_owned())?
        .map(drop)
        .map_err(|e| redb::Error::from(e).to_string())
}

fn file_len(store: &Store) -> u64 {
    std::fs::metadata(store.path()).map_or(0, |m| m.len())
}
