//! The redb file: its tables, opening it (with clear errors), and the blocking reads (events,
//! dead letters); every write goes through the `writer` thread.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use genhook_core::queue::{record, DeadLetter, DeadLetterFilter, Event, QueueError};
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::fault::{self, FaultSwitch, Opener, StorageFault};

/// Events not yet acknowledged, by sequence number (an [`Event`]'s record, see
/// [`genhook_core::queue::record`]; older stores hold JSON records, still read).
pub(super) const EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("events");
/// Dead letters, by sequence number (a [`DeadLetter`]'s record, likewise).
pub(super) const DEAD: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("dead_letters");
/// Event id of a dead letter to its sequence number.
pub(super) const DEAD_IDS: TableDefinition<'_, &str, u64> = TableDefinition::new("dead_letter_ids");
/// Delivery ids claimed, to their expiry in Unix milliseconds.
pub(super) const DEDUP: TableDefinition<'_, &str, u64> = TableDefinition::new("dedup");

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
pub(super) fn decode_dead(bytes: &[u8]) -> Option<DeadLetter> {
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
