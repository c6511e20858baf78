//! The writer thread: it owns every write to the store, drains what waits into one write
//! transaction and commits it once (group commit), synced unless it holds nothing but
//! acknowledgements (`durability`); it also sweeps expired de-duplication ids, compacts the
//! store when idle, and rides out storage faults (`recovery`).

use std::sync::mpsc;
use std::sync::Arc;

use genhook_core::metrics::{QUEUE_EVENTS_PER_SYNC, QUEUE_SYNCS};
use genhook_core::queue::QueueError;
use tokio::sync::oneshot;

use super::apply::apply;
use super::compact::Compactor;
use super::durability::{AckSync, Commit};
use super::fault;
use super::ops::{Job, Op, Reply};
use super::recovery::{Outage, Store};

/// Counts of the writer's syncs, for benches and diagnostics.
#[derive(Debug, Default)]
pub(super) struct SyncStats {
    /// Commits (each one fsync).
    pub(super) syncs: std::sync::atomic::AtomicU64,
    /// Events stored by those commits.
    pub(super) events: std::sync::atomic::AtomicU64,
    /// Commits that stored at least one event.
    pub(super) event_syncs: std::sync::atomic::AtomicU64,
}

impl SyncStats {
    /// A synced commit that stored `puts` events.
    fn count(&self, puts: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.syncs.fetch_add(1, Relaxed);
        self.events.fetch_add(puts as u64, Relaxed);
        if puts > 0 {
            self.event_syncs.fetch_add(1, Relaxed);
        }
        metrics::counter!(QUEUE_SYNCS, "backend" => "disk").increment(1);
        #[allow(clippy::cast_precision_loss)] // a batch is at most MAX_BATCH
        metrics::histogram!(QUEUE_EVENTS_PER_SYNC, "backend" => "disk").record(puts as f64);
    }
}

/// How often expired de-duplication ids are removed from the store.
const DEDUP_SWEEP: std::time::Duration = std::time::Duration::from_secs(300);

/// The most operations one write transaction takes.
const MAX_BATCH: usize = 4096;

/// The handle to the writer thread. Dropping every clone stops it after the last batch.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread that owns every write to the store (and reopens it after a
    /// storage fault).
    /// `compact_after`: how much the file must grow before it is compacted once the queue
    /// drained (see `compact`).
    pub(super) fn spawn(
        store: Arc<Store>,
        stats: Arc<SyncStats>,
        compact_after: u64,
    ) -> Result<Self, QueueError> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("genhook-queue-writer".into())
            .spawn(move || run(&store, &rx, &stats, compact_after))
            .map_err(|e| QueueError::Storage(Box::new(e)))?;
        Ok(Self { tx })
    }

    /// Submits one operation; resolves once its batch is committed and synced.
    pub(super) async fn submit(&self, op: Op) -> Result<Reply, QueueError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((op, reply)).map_err(|_| QueueError::Closed)?;
        answer.await.map_err(|_| QueueError::Closed)?
    }
}

fn run(store: &Store, rx: &mpsc::Receiver<Job>, stats: &SyncStats, compact_after: u64) {
    let mut batch: Vec<Job> = Vec::new();
    let mut last_sweep = std::time::Instant::now();
    let mut outage = Outage::default();
    let mut compactor = Compactor::new(store, compact_after);
    let mut acks = AckSync::default();
    loop {
        let first = match rx.try_recv() {
            Ok(job) => Some(job),
            // Idle: the moment to sync acknowledgements committed without a sync, and to give
            // disk space back, if a drained backlog left any.
            Err(_) => {
                if store.fault().is_none() {
                    settle_acks(store, &mut acks, &mut outage);
                    compactor.idle(store);
                }
                outage.next_job(rx, store)
            }
        };
        let Some(first) = first else {
            break;
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let Some(db) = outage.open_store(store) else {
            outage.refuse(&mut batch, store);
            continue;
        };
        // Expired de-duplication ids are dropped every few minutes, inside a regular batch.
        let sweep = (last_sweep.elapsed() >= DEDUP_SWEEP).then(|| {
            last_sweep = std::time::Instant::now();
            super::super::now_ms()
        });
        let commit = acks.commit(&batch);
        match apply(&db, &batch, sweep, commit) {
            Ok((replies, puts)) => {
                acks.committed(commit, &batch);
                if commit == Commit::Synced {
                    stats.count(puts);
                }
                for ((_, reply), answer) in batch.drain(..).zip(replies) {
                    let _ = reply.send(Ok(answer));
                }
            }
            Err(error) => {
                if let Some(reason) = fault::reason(&error) {
                    drop(db);
                    outage.begin(store, reason, &batch);
                    outage.keep(acks.unsynced());
                    outage.refuse(&mut batch, store);
                    continue;
                }
                tracing::error!(backend = "disk", %error, operations = batch.len(), "Queue store write failed; nothing in the batch was committed.");
                let text = error.to_string();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(QueueError::Storage(text.clone().into())));
                }
            }
        }
    }
}

/// Syncs the acknowledgements committed without a sync. A storage fault begins the outage
/// with them kept, to be written again once the store is reopened.
fn settle_acks(store: &Store, acks: &mut AckSync, outage: &mut Outage) {
    let Ok(db) = store.db() else {
        return;
    };
    if let Err(error) = acks.settle(&db) {
        match fault::reason(&error) {
            Some(reason) => {
                drop(db);
                outage.begin(store, reason, &[]);
                outage.keep(acks.unsynced());
            }
            None => {
                tracing::warn!(backend = "disk", %error, "Syncing acknowledgements failed; the next write syncs them.");
            }
        }
    }
}
