//! The writer thread: it owns every write to the store, drains what waits into one write
//! transaction and commits it once (group commit), synced unless it holds nothing but
//! acknowledgements (`durability`); it also sweeps expired de-duplication ids, compacts the
//! store when idle, and rides out storage faults (`recovery`).

use std::sync::mpsc;
use std::sync::Arc;

use genhook_core::metrics::{QUEUE_EVENTS_PER_SYNC, QUEUE_SYNCS};
use genhook_core::queue::{DeadLetter, DeadLetterFilter, QueueError};
use redb::{Database, ReadableTable};
use tokio::sync::oneshot;

use super::compact::Compactor;
use super::durability::{AckSync, Commit};
use super::fault;
use super::recovery::{Outage, Store};
use super::store::{decode_dead, DEAD, DEAD_IDS, DEDUP, EVENTS};

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

/// One write, as the writer thread receives it.
#[derive(Debug)]
pub(super) enum Op {
    /// Stores (or replaces) an event: enqueue, or requeue with its new attempt count.
    Put { seq: u64, bytes: Vec<u8> },
    /// Removes an event: SL1 accepted it.
    Remove { seq: u64 },
    /// Moves an event to the dead letters (`seq` is its events row, if it has one).
    Dead {
        seq: Option<u64>,
        dead_seq: u64,
        id: String,
        bytes: Vec<u8>,
    },
    /// Removes and returns a dead letter.
    TakeDead { id: String },
    /// Removes the dead letters matching a filter.
    PurgeDead { filter: DeadLetterFilter },
    /// Accepts a new event: claims its delivery id `key` until `until_ms` and applies `then` (a
    /// `Put` or a `Dead`) in the same transaction, so one commit covers both. If `key` is
    /// claimed and not expired at `now_ms`, nothing is written.
    Accept {
        key: String,
        now_ms: u64,
        until_ms: u64,
        then: Box<Op>,
    },
}

impl Op {
    /// The sequence number of the event row it writes, if it writes one (a `Put`, or an
    /// `Accept` of one).
    pub(super) fn event_seq(&self) -> Option<u64> {
        match self {
            Op::Put { seq, .. } => Some(*seq),
            Op::Accept { then, .. } => then.event_seq(),
            _ => None,
        }
    }
}

/// What an operation answers.
#[derive(Debug)]
pub(super) enum Reply {
    /// Done.
    Done,
    /// An accept whose key was claimed already: nothing written.
    Duplicate,
    /// A dead letter taken, if there was one.
    Taken(Option<Box<DeadLetter>>),
    /// How many were purged.
    Purged(usize),
}

pub(super) type Job = (Op, oneshot::Sender<Result<Reply, QueueError>>);

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

/// Writes operations nobody waits for any more (those kept during a storage fault) in one
/// transaction; gives them back when it fails.
pub(super) fn write_kept(db: &Database, ops: Vec<Op>) -> Result<(), (Vec<Op>, redb::Error)> {
    let jobs: Vec<Job> = ops
        .into_iter()
        .map(|op| (op, oneshot::channel().0))
        .collect();
    match apply(db, &jobs, None, Commit::Synced) {
        Ok(_) => Ok(()),
        Err(error) => Err((jobs.into_iter().map(|(op, _)| op).collect(), error)),
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

/// Applies a batch in one write transaction and commits it once, with an fsync unless it is
/// [`Commit::Unsynced`] (see `durability`). Answers each operation, and how many events were
/// stored.
fn apply(
    db: &Database,
    batch: &[Job],
    sweep: Option<u64>,
    commit: Commit,
) -> Result<(Vec<Reply>, usize), redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(commit.durability());
    let mut replies = Vec::with_capacity(batch.len());
    let stored;
    {
        let mut tables = Tables {
            events: txn.open_table(EVENTS)?,
            dead: txn.open_table(DEAD)?,
            dead_ids: txn.open_table(DEAD_IDS)?,
            dedup: txn.open_table(DEDUP)?,
            stored: 0,
        };
        if let Some(now_ms) = sweep {
            tables.dedup.retain(|_, until| until > now_ms)?;
        }
        for (op, _) in batch {
            replies.push(tables.apply(op)?);
        }
        stored = tables.stored;
    }
    txn.commit()?;
    Ok((replies, stored))
}

/// The tables of one write transaction.
struct Tables<'txn> {
    events: redb::Table<'txn, u64, &'static [u8]>,
    dead: redb::Table<'txn, u64, &'static [u8]>,
    dead_ids: redb::Table<'txn, &'static str, u64>,
    dedup: redb::Table<'txn, &'static str, u64>,
    /// Events stored so far.
    stored: usize,
}

impl Tables<'_> {
    fn apply(&mut self, op: &Op) -> Result<Reply, redb::Error> {
        Ok(match op {
            Op::Put { seq, bytes } => {
                self.events.insert(*seq, bytes.as_slice())?;
                self.stored += 1;
                Reply::Done
            }
            Op::Remove { seq } => {
                self.events.remove(*seq)?;
                Reply::Done
            }
            Op::Dead {
                seq,
                dead_seq,
                id,
                bytes,
            } => {
                if let Some(seq) = seq {
                    self.events.remove(*seq)?;
                }
                self.dead.insert(*dead_seq, bytes.as_slice())?;
                self.dead_ids.insert(id.as_str(), *dead_seq)?;
                Reply::Done
            }
            Op::TakeDead { id } => {
                let seq = self.dead_ids.remove(id.as_str())?.map(|g| g.value());
                let letter = match seq {
                    Some(seq) => self
                        .dead
                        .remove(seq)?
                        .and_then(|bytes| decode_dead(bytes.value()))
                        .map(Box::new),
                    None => None,
                };
                Reply::Taken(letter)
            }
            Op::PurgeDead { filter } => {
                let mut budget = filter.limit.unwrap_or(usize::MAX);
                let mut doomed = Vec::new();
                for row in self.dead.iter()? {
                    if budget == 0 {
                        break;
                    }
                    let (key, value) = row?;
                    if let Some(letter) = decode_dead(value.value()) {
                        if filter.matches(&letter) {
                            doomed.push((key.value(), letter.event.id));
                            budget -= 1;
                        }
                    }
                }
                for (seq, id) in &doomed {
                    self.dead.remove(*seq)?;
                    self.dead_ids.remove(id.as_str())?;
                }
                Reply::Purged(doomed.len())
            }
            Op::Accept {
                key,
                now_ms,
                until_ms,
                then,
            } => {
                let taken = self
                    .dedup
                    .get(key.as_str())?
                    .is_some_and(|until| until.value() > *now_ms);
                if taken {
                    Reply::Duplicate
                } else {
                    self.dedup.insert(key.as_str(), *until_ms)?;
                    self.apply(then)?
                }
            }
        })
    }
}
