//! The redb file: its tables, opening it (with clear errors), and the writer thread that owns
//! every write and group-commits them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use bytes::Bytes;
use genhook_core::metrics::{QUEUE_EVENTS_PER_SYNC, QUEUE_SYNCS};
use genhook_core::queue::{record, DeadLetter, DeadLetterFilter, Event, QueueError};
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use tokio::sync::oneshot;

use super::compact::Compactor;
use super::durability::{AckSync, Commit};
use super::fault::{self, FaultSwitch, Opener, StorageFault};
use super::recovery::{Outage, Store};

/// Events not yet acknowledged, by sequence number (an [`Event`]'s record, see
/// [`genhook_core::queue::record`]; older stores hold JSON records, still read).
pub(super) const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");
/// Dead letters, by sequence number (a [`DeadLetter`]'s record, likewise).
pub(super) const DEAD: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("dead_letters");
/// Event id of a dead letter to its sequence number.
pub(super) const DEAD_IDS: TableDefinition<'_, &str, u64> = TableDefinition::new("dead_letter_ids");
/// Delivery ids claimed, to their expiry in Unix milliseconds.
pub(super) const DEDUP: TableDefinition<'_, &str, u64> = TableDefinition::new("dedup");

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

/// The store could not be opened: which file, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("cannot open queue store {}: {reason}", path.display())]
pub struct StoreOpenError {
    /// The store file (or data directory).
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

fn open_error(path: &Path, reason: impl fmt::Display) -> QueueError {
    QueueError::Storage(Box::new(StoreOpenError {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }))
}

/// A storage failure after opening: [`QueueError::Unavailable`] when the storage failed (full,
/// read-only, an I/O error: the sender retries later), [`QueueError::Storage`] otherwise.
pub(super) fn storage(error: impl Into<redb::Error>) -> QueueError {
    let error = error.into();
    match fault::reason(&error) {
        Some(reason) => StorageFault::unavailable(reason),
        None => QueueError::Storage(Box::new(error)),
    }
}

/// An unacknowledged event found at open: (sequence, event id, priority).
pub(super) type Found = (u64, String, genhook_core::queue::Priority, u64);

/// What the store holds at open.
#[derive(Debug)]
pub(super) struct Loaded {
    pub(super) db: Arc<Database>,
    /// How to open it again after a storage fault.
    pub(super) opener: Opener,
    /// Unacknowledged events: (sequence, event id, priority).
    pub(super) events: Vec<Found>,
    /// The next free sequence number.
    pub(super) next_seq: u64,
}

/// Opens (or creates) `dir/queue.redb`. Blocking: call from `spawn_blocking`.
///
/// A file that exists but is empty, truncated, scribbled over or holds a record that does not
/// decode is an error naming the file; it is never deleted or recreated.
pub(super) fn open(dir: &Path, faults: Option<FaultSwitch>) -> Result<Loaded, QueueError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| open_error(dir, format!("cannot create the data directory: {e}")))?;
    let path = dir.join("queue.redb");
    match std::fs::metadata(&path) {
        Ok(meta) if meta.len() == 0 => {
            return Err(open_error(
                &path,
                "the file is empty (truncated?); move it away to start with an empty queue",
            ))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(open_error(&path, e)),
    }
    // redb asserts on some damaged files (a truncated one, for instance) instead of returning an
    // error: such a panic becomes the same clear error.
    let opener = Opener::new(&path, faults);
    let opened = guarded(&path, || opener.open())?;
    let db = opened.map_err(|e| {
        if let redb::DatabaseError::Storage(redb::StorageError::Io(io)) = &e {
            if let Some(reason) = fault::describe(io) {
                return unwritable(&path, &reason);
            }
        }
        match e {
            redb::DatabaseError::DatabaseAlreadyOpen => open_error(
                &path,
                "the store is already open (another GenHook on this data_dir?)",
            ),
            other => open_error(
                &path,
                format!("{other} (corrupted, or not a queue store?); the file was left untouched"),
            ),
        }
    })?;
    guarded(&path, || load_from(db, opener))?
}

/// The storage refuses writes at open (read-only, permission denied, full): names the data
/// directory and the fault, not the file as if it were corrupted.
fn unwritable(path: &Path, reason: &str) -> QueueError {
    open_error(
        path.parent().unwrap_or(path),
        format!("{reason}: the data directory must be writable by GenHook"),
    )
}

/// Runs `f`, turning a panic inside redb into an open error naming the file.
fn guarded<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T, QueueError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        open_error(
            path,
            format!("the file is truncated or corrupted ({what}); the file was left untouched"),
        )
    })
}

fn load_from(db: Database, opener: Opener) -> Result<Loaded, QueueError> {
    let fail = |e: redb::Error| match fault::reason(&e) {
        Some(reason) => unwritable(&opener.path, &reason),
        None => open_error(&opener.path, e),
    };
    let txn = db.begin_write().map_err(|e| fail(e.into()))?;
    for result in [
        txn.open_table(EVENTS).map(drop),
        txn.open_table(DEAD).map(drop),
        txn.open_table(DEAD_IDS).map(drop),
        txn.open_table(DEDUP).map(drop),
    ] {
        result.map_err(|e| fail(e.into()))?;
    }
    txn.commit().map_err(|e| fail(e.into()))?;
    let scan = || -> Result<(Vec<Found>, u64), redb::Error> {
        let txn = db.begin_read()?;
        let table = txn.open_table(EVENTS)?;
        let mut events = Vec::new();
        let mut next_seq = 1;
        for row in table.iter()? {
            let (key, value) = row?;
            let seq = key.value();
            next_seq = next_seq.max(seq.saturating_add(1));
            let bytes = value.value();
            let size = bytes.len() as u64;
            let event = record::decode_event(Bytes::copy_from_slice(bytes)).map_err(|e| {
                redb::Error::Corrupted(format!("event record {seq} does not decode: {e}"))
            })?;
            events.push((seq, event.id, event.priority, size));
        }
        if let Some(row) = txn.open_table(DEAD)?.last()? {
            next_seq = next_seq.max(row.0.value().saturating_add(1));
        }
        Ok((events, next_seq))
    };
    let (events, next_seq) = scan().map_err(fail)?;
    Ok(Loaded {
        db: Arc::new(db),
        opener,
        events,
        next_seq,
    })
}

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
                    settle_acks(store, &mut acks);
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
                acks.committed(commit);
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

/// Syncs the acknowledgements committed without a sync; a failure is left to the next batch
/// (synced, it meets the same fault and begins the outage).
fn settle_acks(store: &Store, acks: &mut AckSync) {
    let Ok(db) = store.db() else {
        return;
    };
    if let Err(error) = acks.settle(&db) {
        tracing::warn!(backend = "disk", %error, "Syncing acknowledgements failed; the next write syncs them.");
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

/// Reads the dead letters matching a filter, oldest first. Blocking.
pub(super) fn list_dead(
    db: &Database,
    filter: &DeadLetterFilter,
) -> Result<Vec<DeadLetter>, QueueError> {
    let read = || -> Result<Vec<DeadLetter>, redb::Error> {
        let txn = db.begin_read()?;
        let table = txn.open_table(DEAD)?;
        let mut found = Vec::new();
        for row in table.iter()? {
            if filter.limit.is_some_and(|limit| found.len() >= limit) {
                break;
            }
            let (_, value) = row?;
            if let Some(letter) = decode_dead(value.value()) {
                if filter.matches(&letter) {
                    found.push(letter);
                }
            }
        }
        Ok(found)
    };
    read().map_err(storage)
}

/// Reads one dead letter. Blocking.
pub(super) fn get_dead(db: &Database, id: &str) -> Result<Option<DeadLetter>, QueueError> {
    let read = || -> Result<Option<DeadLetter>, redb::Error> {
        let txn = db.begin_read()?;
        let Some(seq) = txn.open_table(DEAD_IDS)?.get(id)?.map(|g| g.value()) else {
            return Ok(None);
        };
        let letter = txn
            .open_table(DEAD)?
            .get(seq)?
            .and_then(|bytes| decode_dead(bytes.value()));
        Ok(letter)
    };
    read().map_err(storage)
}

/// Counts the dead letters. Blocking.
pub(super) fn count_dead(db: &Database) -> Result<usize, QueueError> {
    let read = || -> Result<u64, redb::Error> {
        let txn = db.begin_read()?;
        Ok(txn.open_table(DEAD)?.len()?)
    };
    read()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .map_err(storage)
}

/// Which of these events the store holds. Blocking.
pub(super) fn present(db: &Database, seqs: &[u64]) -> Result<Vec<u64>, redb::Error> {
    let txn = db.begin_read()?;
    let table = txn.open_table(EVENTS)?;
    let mut found = Vec::new();
    for seq in seqs {
        if table.get(*seq)?.is_some() {
            found.push(*seq);
        }
    }
    Ok(found)
}

/// A stored dead letter (`None` for one that does not decode: it is skipped, not fatal).
fn decode_dead(bytes: &[u8]) -> Option<DeadLetter> {
    record::decode_dead_letter(Bytes::copy_from_slice(bytes)).ok()
}

/// Reads one event, and the size of its record. Blocking.
pub(super) fn get_event(db: &Database, seq: u64) -> Result<Option<(Event, u64)>, QueueError> {
    Ok(get_events(db, &[seq])?.pop().flatten())
}

/// Reads events by sequence number in one read transaction, in the order asked: each with its
/// stored size, `None` for one the store does not hold.
pub(super) fn get_events(
    db: &Database,
    seqs: &[u64],
) -> Result<Vec<Option<(Event, u64)>>, QueueError> {
    let read = || -> Result<Vec<Option<Vec<u8>>>, redb::Error> {
        let txn = db.begin_read()?;
        let table = txn.open_table(EVENTS)?;
        seqs.iter()
            .map(|seq| Ok(table.get(*seq)?.map(|g| g.value().to_vec())))
            .collect()
    };
    read()
        .map_err(storage)?
        .into_iter()
        .map(|found| {
            found
                .map(|bytes| {
                    let size = bytes.len() as u64;
                    record::decode_event(Bytes::from(bytes))
                        .map(|event| (event, size))
                        .map_err(|e| QueueError::Storage(Box::new(e)))
                })
                .transpose()
        })
        .collect()
}
