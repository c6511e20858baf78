//! The `disk` backend, the default: an embedded [redb](https://docs.rs/redb) store under
//! `data_dir/queue.redb`. `accept` resolves only once the event is committed and fsynced, so a
//! 202 survives a crash of the process or of the machine. A delivery id's de-duplication claim is
//! written in the same write transaction as its event: one commit covers both, so a crash leaves
//! both or neither.
//!
//! # Why redb (and not SQLite in WAL mode)
//!
//! - **Pure Rust, no C toolchain or bundled SQLite**: one less build dependency, and no `unsafe`
//!   FFI in the process that holds every accepted webhook.
//! - **ACID with a copy-on-write B-tree and checksummed pages**: a commit is one fsync
//!   (`Durability::Immediate`), a crash mid-commit leaves the previous commit intact, and a page
//!   scribbled over is detected (checksum) instead of silently read.
//! - **Typed tables and MVCC**: readers (`next`, the admin API) never block the writer. SQLite
//!   would give the same durability, but we need no SQL, and its single-writer rule is what we
//!   build by hand anyway.
//!
//! # Group commit
//!
//! One writer thread owns every write (`writer::Writer`). Callers send it their operation with a
//! oneshot; it drains everything waiting into **one** write transaction, commits once (one
//! fsync), then answers them all: under load many concurrent webhooks cost one sync. Each sync is
//! counted in `genhook_queue_syncs_total` and its size in `genhook_queue_events_per_sync`. A batch
//! of nothing but acknowledgements is committed without a sync of its own and made durable by
//! the next one, within 50 ms (`durability`): a crash may deliver those alerts once more.
//!
//! # Tables and recovery
//!
//! `events` (unacknowledged events by sequence number, each a binary record of
//! [`genhook_core::queue::record`]: the raw body, no base64; JSON records of earlier versions are
//! still read), `dead_letters` (+ `dead_letter_ids`), and
//! `dedup` (delivery ids with their expiry, so the de-duplication memory survives a restart;
//! expired ids are removed every five minutes by the writer).
//! A lease (an event handed to a worker by `next`) is kept in memory only: the event stays in
//! `events` until it is acknowledged, so after a crash **everything not acknowledged is pending
//! again** (at-least-once, never lost). A requeue rewrites the row with its attempt count.
//!
//! A store file that is empty, truncated or corrupted is an error naming the file and what is
//! wrong; GenHook then refuses to start and never deletes or recreates the file. A data directory
//! it cannot write (read-only, permission denied) is an error naming the directory.
//!
//! # Bounds and disk space
//!
//! The queue holds at most `queue_max_bytes` of event records (and `queue_max_size` events when
//! set): the sizes are kept in memory by sequence number, counted from the store at open.
//! redb reuses the pages of acknowledged events but never shrinks its file; once a backlog has
//! drained the writer compacts the store (`compact`), so the disk space comes back.
//!
//! # Storage faults
//!
//! A write that fails because of the storage (disk full, quota, I/O error, read-only: see
//! `fault`) is back-pressure: [`QueueError::Unavailable`] (503 + `Retry-After`), `/readyz` 503
//! with the reason ([`Queue::unavailable_reason`]). redb refuses everything after such an error,
//! so the writer closes the store and reopens it in the background until a write succeeds again
//! (`recovery`); acks made meanwhile are kept and written first. `next` waits for the store.
//!
//! Blocking calls never run on the async threads: writes go through the writer thread, reads
//! through `spawn_blocking`.
//!
//! # Reads
//!
//! `next` hands out a copy kept in memory since the event's commit when it has one, and
//! otherwise reads the event with the ones queued after it in one read transaction (`hot`): the
//! store is read once per batch of a backlog, not once per event.

mod apply;
mod compact;
mod dead_letters;
mod durability;
mod fault;
mod hot;
mod ops;
mod read;
mod records;
mod recovery;
mod state;
mod store;
mod writer;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use genhook_core::queue::{Accepted, Claim, DeadLetter, Event, Queue, QueueError};
use redb::Database;
use tokio::sync::Notify;

pub use dead_letters::DiskDeadLetters;
pub use fault::{FaultSwitch, StorageFault};
use ops::{Op, Reply};
use records::{accept_op, encode_dead_letter, encode_event, NewRecord};
use recovery::Store;
use state::State;
pub use store::StoreOpenError;
use writer::{SyncStats, Writer};

use super::limits::Limits;
use super::memory::lock;

#[derive(Debug)]
struct Inner {
    store: Arc<Store>,
    writer: Writer,
    state: Mutex<State>,
    ready: Notify,
    /// Told when a read-ahead ended.
    read_done: Notify,
    next_seq: AtomicU64,
    limits: Limits,
    stats: Arc<SyncStats>,
}

impl Inner {
    fn seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    fn make_ready(&self, priority: genhook_core::queue::Priority, seq: u64) {
        let mut state = lock(&self.state);
        state.leased.remove(&seq);
        state.waiting.push(priority, seq);
        drop(state);
        self.ready.notify_one();
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, QueueError> + Send + 'static,
    ) -> Result<T, QueueError> {
        let db = self.store.db()?;
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| QueueError::Storage(Box::new(e)))?
    }
}

/// The disk queue. Its dead letters and de-duplication memory live in the same store.
#[derive(Debug, Clone)]
pub struct DiskQueue {
    inner: Arc<Inner>,
}

/// Opens the disk backend under `dir`.
pub(crate) async fn open_backend(dir: &Path, limits: Limits) -> Result<super::Backend, QueueError> {
    Ok(backend_of(DiskQueue::opened(dir, limits, None).await?))
}

/// Test hook: [`open_backend`] with a store whose writes fail while `faults` says so (see
/// [`DiskQueue::open_with_faults`]).
#[doc(hidden)]
pub async fn open_backend_with_faults(
    dir: &Path,
    capacity: usize,
    faults: FaultSwitch,
) -> Result<super::Backend, QueueError> {
    Ok(backend_of(
        DiskQueue::opened(dir, Limits::events(capacity), Some(faults)).await?,
    ))
}

fn backend_of(queue: DiskQueue) -> super::Backend {
    super::Backend {
        dead_letters: Arc::new(DiskDeadLetters {
            inner: Arc::clone(&queue.inner),
        }),
        queue: Arc::new(queue),
    }
}

impl DiskQueue {
    /// Opens (or creates) `dir/queue.redb`, holding at most `capacity` events and the default
    /// bytes ([`Limits::events`]); every event not yet acknowledged is pending again.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] with a [`StoreOpenError`] (path and reason) when the directory
    /// cannot be created or the file is empty, truncated, corrupted, or open in another process.
    pub async fn open(dir: &Path, capacity: usize) -> Result<Self, QueueError> {
        Self::opened(dir, Limits::events(capacity), None).await
    }

    /// [`open`](Self::open) within these bounds.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub async fn open_with_limits(dir: &Path, limits: Limits) -> Result<Self, QueueError> {
        Self::opened(dir, limits, None).await
    }

    /// Test hook: [`open`](Self::open) on a store whose writes, resizes and syncs fail with the
    /// OS error set on `faults` (a full disk, an I/O error, a read-only file system) until it is
    /// cleared. The production path never injects anything.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    #[doc(hidden)]
    pub async fn open_with_faults(
        dir: &Path,
        capacity: usize,
        faults: FaultSwitch,
    ) -> Result<Self, QueueError> {
        Self::opened(dir, Limits::events(capacity), Some(faults)).await
    }

    /// Test hook: [`open_with_limits`](Self::open_with_limits) with the store compacted once
    /// the queue drained after the file grew by `compact_after` bytes (instead of 64 MiB), so a
    /// test sees a compaction without writing hundreds of megabytes.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    #[doc(hidden)]
    pub async fn open_compacting_after(
        dir: &Path,
        limits: Limits,
        compact_after: u64,
    ) -> Result<Self, QueueError> {
        Self::opened_with(dir, limits, None, compact_after).await
    }

    async fn opened(
        dir: &Path,
        limits: Limits,
        faults: Option<FaultSwitch>,
    ) -> Result<Self, QueueError> {
        Self::opened_with(dir, limits, faults, compact::MIN_GROWTH).await
    }

    async fn opened_with(
        dir: &Path,
        limits: Limits,
        faults: Option<FaultSwitch>,
        compact_after: u64,
    ) -> Result<Self, QueueError> {
        let dir = dir.to_path_buf();
        let loaded = tokio::task::spawn_blocking(move || store::open(&dir, faults))
            .await
            .map_err(|e| QueueError::Storage(Box::new(e)))??;
        let mut state = State::default();
        let recovered = loaded.events.len();
        for (seq, id, priority, size) in loaded.events {
            state.waiting.push(priority, seq);
            state.ids.insert(id, seq);
            state.hold(seq, size);
        }
        if recovered > 0 {
            tracing::info!(
                backend = "disk",
                recovered,
                "Queue store opened with undelivered events; delivering them again."
            );
        }
        let stats = Arc::new(SyncStats::default());
        let store = Arc::new(Store::new(loaded.db, loaded.opener));
        let writer = Writer::spawn(Arc::clone(&store), Arc::clone(&stats), compact_after)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                writer,
                state: Mutex::new(state),
                ready: Notify::new(),
                read_done: Notify::new(),
                next_seq: AtomicU64::new(loaded.next_seq),
                limits,
                stats,
            }),
        })
    }

    /// Syncs (commits) made since open that stored events, and the events they stored: their
    /// ratio is the group commit's events per sync.
    pub fn sync_stats(&self) -> (u64, u64) {
        (
            self.inner.stats.event_syncs.load(Ordering::Relaxed),
            self.inner.stats.events.load(Ordering::Relaxed),
        )
    }
}

/// Runs a store operation to its end even if the caller stops waiting, so the in-memory index
/// always follows what was committed.
async fn detached<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T, QueueError>> + Send + 'static,
) -> Result<T, QueueError> {
    tokio::spawn(f)
        .await
        .map_err(|e| QueueError::Storage(Box::new(e)))?
}

impl Queue for DiskQueue {
    fn accept(
        &self,
        event: Event,
        claim: Option<Claim>,
    ) -> BoxFuture<'_, Result<Accepted, QueueError>> {
        let inner = Arc::clone(&self.inner);
        async move {
            let dead = event.render_error.is_some();
            let (id, priority) = (event.id.clone(), event.priority);
            let (record, kept) = NewRecord::of(event)?;
            let size = record.size();
            let seq = {
                let mut state = lock(&inner.state);
                if state.closed {
                    return Err(QueueError::Closed);
                }
                if !dead {
                    if !inner.limits.fits(state.depth(), state.bytes, size) {
                        return Err(QueueError::Full);
                    }
                    state.reserved += 1;
                    state.bytes += size;
                }
                inner.seq()
            };
            detached(async move {
                let (op, done) = accept_op(seq, record, claim);
                let result = match inner.writer.submit(op).await {
                    Ok(Reply::Duplicate) => Ok(Accepted::Duplicate),
                    Ok(_) => Ok(done),
                    Err(e) => Err(e),
                };
                let mut state = lock(&inner.state);
                if !dead {
                    state.reserved -= 1;
                    state.bytes -= size;
                }
                if matches!(result, Ok(Accepted::Queued)) {
                    state.hold(seq, size);
                    if let Some(event) = kept {
                        state.hot.keep(seq, event, size);
                    }
                    state.ids.insert(id, seq);
                    state.waiting.push(priority, seq);
                    drop(state);
                    inner.ready.notify_one();
                }
                result
            })
            .await
        }
        .boxed()
    }

    fn next(&self) -> BoxFuture<'_, Result<Option<Event>, QueueError>> {
        self.next_event().boxed()
    }

    fn ack(&self, event: &Event) -> BoxFuture<'_, Result<(), QueueError>> {
        let inner = Arc::clone(&self.inner);
        let id = event.id.clone();
        detached(async move {
            let Some(seq) = lock(&inner.state).ids.get(&id).copied() else {
                return Ok(());
            };
            inner.writer.submit(Op::Remove { seq }).await?;
            let mut state = lock(&inner.state);
            state.ids.remove(&id);
            state.leased.remove(&seq);
            state.forget(seq);
            Ok(())
        })
        .boxed()
    }

    fn requeue(&self, event: Event, delay: Duration) -> BoxFuture<'_, Result<(), QueueError>> {
        let inner = Arc::clone(&self.inner);
        detached(async move {
            let known = lock(&inner.state).ids.get(&event.id).copied();
            let seq = known.unwrap_or_else(|| inner.seq());
            let bytes = encode_event(&event)?;
            let size = bytes.len() as u64;
            let written = inner.writer.submit(Op::Put { seq, bytes }).await;
            let (id, priority) = (event.id.clone(), event.priority);
            match written {
                Ok(_) => {
                    let mut state = lock(&inner.state);
                    state.hold(seq, size);
                    state.hot.keep(seq, event, size);
                }
                // A stored event is delivered again after a storage fault even if its new
                // attempt count could not be written.
                Err(QueueError::Unavailable(error)) if known.is_some() => {
                    tracing::warn!(backend = "disk", event_id = %id, %error, "Requeued event's attempt count not stored (storage fault); it is delivered again.");
                }
                Err(error) => return Err(error),
            }
            lock(&inner.state).ids.insert(id, seq);
            if delay.is_zero() {
                inner.make_ready(priority, seq);
            } else {
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    inner.make_ready(priority, seq);
                });
            }
            Ok(())
        })
        .boxed()
    }

    fn dead_letter(&self, event: Event) -> BoxFuture<'_, Result<(), QueueError>> {
        let inner = Arc::clone(&self.inner);
        detached(async move {
            let seq = lock(&inner.state).ids.get(&event.id).copied();
            let id = event.id.clone();
            let letter = DeadLetter {
                event,
                dead_at_ms: super::now_ms(),
            };
            inner
                .writer
                .submit(Op::Dead {
                    seq,
                    dead_seq: inner.seq(),
                    id: id.clone(),
                    bytes: encode_dead_letter(&letter)?,
                })
                .await?;
            let mut state = lock(&inner.state);
            state.ids.remove(&id);
            if let Some(seq) = seq {
                state.leased.remove(&seq);
                state.forget(seq);
            }
            Ok(())
        })
        .boxed()
    }

    fn depth(&self) -> usize {
        lock(&self.inner.state).depth()
    }

    fn capacity(&self) -> usize {
        self.inner.limits.max_events
    }

    fn bytes(&self) -> u64 {
        lock(&self.inner.state).bytes
    }

    fn max_bytes(&self) -> u64 {
        self.inner.limits.max_bytes
    }

    /// Under one lock.
    fn has_room(&self, admitted: usize) -> bool {
        let state = lock(&self.inner.state);
        self.inner
            .limits
            .has_room(state.depth(), state.bytes, admitted)
    }

    fn close(&self) {
        let kept = {
            let mut state = lock(&self.inner.state);
            state.closed = true;
            state.depth()
        };
        tracing::info!(
            backend = "disk",
            kept,
            "Disk queue closed; undelivered events stay in the store for the next start."
        );
        self.inner.ready.notify_waiters();
    }

    fn backend(&self) -> &'static str {
        "disk"
    }

    fn is_available(&self) -> bool {
        self.inner.store.fault().is_none()
    }

    fn unavailable_reason(&self) -> Option<String> {
        self.inner.store.fault()
    }
}
