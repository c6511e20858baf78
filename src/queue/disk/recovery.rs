//! Riding out a storage fault: after a failed write redb refuses everything until the database
//! is closed and opened again, so the writer thread closes it, refuses writes as
//! back-pressure, and reopens it in the background with backoff until a write succeeds again.
//!
//! - [`Store`] is what the queue's readers and the writer share: the open database (none while
//!   a fault lasts, so reads fail fast as unavailable) and the fault's reason (`/readyz`, the
//!   self alert).
//! - [`Outage`] is the writer's side. While the store is closed, an `accept` (and any write a
//!   sender waits for) is refused with [`QueueError::Unavailable`]: `503` + `Retry-After`, never
//!   `202`. Writes that only settle events already stored (an ack, a dead letter of a delivered
//!   event) are kept in memory and written first once the store is reopened, so an event SL1
//!   accepted during the fault is not delivered again (if the process dies before, it is
//!   delivered again: at-least-once).
//! - Reopening is a plain `Database::create` (redb repairs the file after the failed commit),
//!   then one probe write that must reach the disk, then the kept writes. Only then is the
//!   store published again and the fault cleared.
//! - A commit whose sync failed may still be found in the reopened store (its pages reached
//!   the page cache). The events of the failed batch that the store holds are handed to the
//!   queue ([`Store::take_landed`]) so they are delivered now, not only after a restart; their
//!   senders were answered 503 and may send them again (at-least-once; a retry with the same
//!   delivery id is answered `duplicate`, its claim having landed with the event).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use genhook_core::queue::QueueError;
use redb::Database;
use tokio::sync::{watch, Notify};

use super::apply::write_kept;
use super::fault::{self, Opener, StorageFault};
use super::ops::{Job, Op, Reply};
use super::store::{self, DEDUP};
use crate::queue::memory::lock;

/// The first wait before reopening; it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);

/// The probe's key in the de-duplication table: already expired, so the sweep removes it.
const PROBE_KEY: &str = "\u{0}genhook-storage-probe";

/// The store as the readers and the writer share it.
#[derive(Debug)]
pub(super) struct Store {
    db: ArcSwapOption<Database>,
    /// The fault's reason while the store is closed.
    health: watch::Sender<Option<String>>,
    opener: Opener,
    /// Events of a failed commit found in the reopened store, for the queue to take.
    landed: Mutex<Vec<u64>>,
    /// Wakes a worker waiting for events when some have landed.
    pub(super) landed_ready: Notify,
}

impl Store {
    pub(super) fn new(db: Arc<Database>, opener: Opener) -> Self {
        Self {
            db: ArcSwapOption::new(Some(db)),
            health: watch::Sender::new(None),
            opener,
            landed: Mutex::new(Vec::new()),
            landed_ready: Notify::new(),
        }
    }

    /// The open database, or [`QueueError::Unavailable`] while a fault keeps it closed.
    pub(super) fn db(&self) -> Result<Arc<Database>, QueueError> {
        self.db.load_full().ok_or_else(|| {
            StorageFault::unavailable(self.fault().unwrap_or_else(|| "store reopening".into()))
        })
    }

    /// Why the store cannot take writes, while it cannot.
    pub(super) fn fault(&self) -> Option<String> {
        self.health.borrow().clone()
    }

    /// Takes the sequence numbers of events whose commit failed but which the reopened store
    /// holds.
    pub(super) fn take_landed(&self) -> Vec<u64> {
        std::mem::take(&mut *lock(&self.landed))
    }

    /// The store file.
    pub(super) fn path(&self) -> &std::path::Path {
        &self.opener.path
    }

    /// Runs `f` with the store to itself (writer thread only): the readers' handle is withdrawn
    /// (they get [`QueueError::Unavailable`] meanwhile) and `f` runs once every reader let go,
    /// then the store is handed back. `None` when readers still hold it after `grace` (the store
    /// is handed back untouched). Blocking.
    pub(super) fn exclusive<T>(
        &self,
        grace: Duration,
        f: impl FnOnce(&mut Database) -> T,
    ) -> Option<T> {
        let mut db = self.db.swap(None)?;
        let deadline = Instant::now() + grace;
        let result = loop {
            match Arc::get_mut(&mut db) {
                Some(db) => break Some(f(db)),
                None if Instant::now() >= deadline => break None,
                // The writer thread (never a runtime thread) waits for readers to let go.
                #[allow(clippy::disallowed_methods)]
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        };
        self.db.store(Some(db));
        result
    }

    /// Resolves once the store is open (at once when it is).
    pub(super) async fn healthy(&self) {
        let mut health = self.health.subscribe();
        let _ = health.wait_for(Option::is_none).await;
    }
}

/// The writer's side of a fault: the writes kept for after it, and when to try reopening.
#[derive(Debug, Default)]
pub(super) struct Outage {
    deferred: Vec<Op>,
    /// Events of the failed commit: found in the reopened store or not.
    suspects: Vec<u64>,
    backoff: Duration,
    /// When to try reopening; `None` while the store is open.
    next_try: Option<Instant>,
}

impl Outage {
    /// The next job; while the store is closed, tries reopening it whenever no job comes in
    /// before the next retry is due. `None` once every handle to the writer is dropped (the kept
    /// writes get one last chance first).
    pub(super) fn next_job(&mut self, rx: &mpsc::Receiver<Job>, store: &Store) -> Option<Job> {
        loop {
            let Some(next_try) = self.next_try else {
                return rx.recv().ok();
            };
            match rx.recv_timeout(next_try.saturating_duration_since(Instant::now())) {
                Ok(job) => return Some(job),
                Err(RecvTimeoutError::Timeout) => {
                    self.open_store(store);
                }
                Err(RecvTimeoutError::Disconnected) => {
                    if !self.deferred.is_empty() {
                        self.next_try = Some(Instant::now());
                        self.open_store(store);
                    }
                    return None;
                }
            }
        }
    }

    /// The open store, reopening it first when a fault closed it and a retry is due.
    pub(super) fn open_store(&mut self, store: &Store) -> Option<Arc<Database>> {
        if let Some(db) = store.db.load_full() {
            return Some(db);
        }
        if self.next_try.is_some_and(|at| Instant::now() < at) {
            return None;
        }
        match self.reopen(&store.opener) {
            Ok((db, landed)) => {
                if !landed.is_empty() {
                    lock(&store.landed).extend(landed);
                    store.landed_ready.notify_one();
                }
                store.db.store(Some(Arc::clone(&db)));
                let reason = store.health.send_replace(None);
                self.next_try = None;
                tracing::warn!(
                    backend = "disk",
                    fault = reason.as_deref().unwrap_or_default(),
                    "Queue storage recovered: the store was reopened and takes webhooks again."
                );
                Some(db)
            }
            Err(error) => {
                self.backoff = (self.backoff * 2).clamp(FIRST_RETRY, MAX_RETRY);
                self.next_try = Some(Instant::now() + self.backoff);
                tracing::debug!(backend = "disk", %error, retry_in = ?self.backoff, "Queue store not reopened yet.");
                None
            }
        }
    }

    /// A write failed because the storage did: close the store (reads now fail fast as
    /// unavailable, and redb's handle is dropped so the file can be reopened).
    pub(super) fn begin(&mut self, store: &Store, reason: String, batch: &[Job]) {
        store.db.store(None);
        self.suspects
            .extend(batch.iter().filter_map(|(op, _)| op.event_seq()));
        tracing::error!(
            backend = "disk",
            fault = %reason,
            "Queue storage failed: webhooks are answered 503 until the store can be written again; it is reopened in the background."
        );
        store.health.send_replace(Some(reason));
        self.backoff = FIRST_RETRY;
        self.next_try = Some(Instant::now() + FIRST_RETRY);
    }

    /// Keeps writes to make first once the store is reopened (acknowledgements the fault ended
    /// before they were synced).
    pub(super) fn keep(&mut self, ops: impl IntoIterator<Item = Op>) {
        self.deferred.extend(ops);
    }

    /// Answers a batch the closed store cannot take: writes that settle stored events are kept
    /// for after the fault (answered done), the rest are refused as unavailable.
    pub(super) fn refuse(&mut self, batch: &mut Vec<Job>, store: &Store) {
        let reason = store.fault().unwrap_or_default();
        for (op, reply) in batch.drain(..) {
            if settles_stored(&op) {
                self.deferred.push(op);
                let _ = reply.send(Ok(Reply::Done));
            } else {
                let _ = reply.send(Err(StorageFault::unavailable(reason.clone())));
            }
        }
    }

    /// Opens the store again, proves a write reaches the disk, writes what was kept, and finds
    /// which events of the failed commit the store holds.
    fn reopen(&mut self, opener: &Opener) -> Result<(Arc<Database>, Vec<u64>), String> {
        let db = reopen(opener, &mut self.deferred)?;
        let landed = store::present(&db, &self.suspects)
            .map_err(|e| fault::reason(&e).unwrap_or_else(|| e.to_string()))?;
        self.suspects.clear();
        Ok((db, landed))
    }
}

/// Whether a write only settles what the store holds already (an ack, a dead letter of a
/// stored event): losing it to a crash redelivers, never loses.
fn settles_stored(op: &Op) -> bool {
    matches!(op, Op::Remove { .. } | Op::Dead { seq: Some(_), .. })
}

/// Opens the store again, proves a write reaches the disk, and writes what was kept.
fn reopen(opener: &Opener, deferred: &mut Vec<Op>) -> Result<Arc<Database>, String> {
    let opened = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| opener.open()))
        .map_err(|_| "redb panicked while reopening the store".to_owned())?;
    let db = opened.map_err(|error| match error {
        redb::DatabaseError::DatabaseAlreadyOpen => "a reader still holds the old store".into(),
        other => {
            let other = redb::Error::from(other);
            fault::reason(&other).unwrap_or_else(|| other.to_string())
        }
    })?;
    let failed = |error: redb::Error| fault::reason(&error).unwrap_or_else(|| error.to_string());
    probe(&db).map_err(failed)?;
    if !deferred.is_empty() {
        let writes = deferred.len();
        if let Err((ops, error)) = write_kept(&db, std::mem::take(deferred)) {
            *deferred = ops;
            return Err(failed(error));
        }
        tracing::info!(
            backend = "disk",
            writes,
            "Acknowledgements kept during the storage fault were written."
        );
    }
    Ok(Arc::new(db))
}

/// One committed write: the storage takes writes again.
fn probe(db: &Database) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    txn.open_table(DEDUP)?.insert(PROBE_KEY, 0)?;
    txn.commit()?;
    Ok(())
}
