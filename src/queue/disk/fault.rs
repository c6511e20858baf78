//! Storage faults: telling a failing disk (full, over quota, read-only, I/O errors) from a store
//! that is wrong, and, for tests only, a store whose writes can be made to fail on purpose.
//!
//! A fault of the storage is back-pressure, not an error of GenHook: it becomes
//! [`QueueError::Unavailable`], answered `503` with `Retry-After`, and the writer reopens the
//! store once writes succeed again (see `recovery`). Everything else redb reports (a record that
//! does not decode, a table of the wrong type) stays [`QueueError::Storage`].

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

use genhook_core::queue::QueueError;
use redb::backends::FileBackend;
use redb::{Database, StorageBackend};

/// The storage cannot take writes right now; `reason` says why, in words an operator acts on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("queue storage unavailable: {reason}")]
pub struct StorageFault {
    /// E.g. `disk full (No space left on device (os error 28))`.
    pub reason: String,
}

impl StorageFault {
    /// The fault as a queue error: the sender is asked to retry later.
    pub(super) fn unavailable(reason: impl Into<String>) -> QueueError {
        QueueError::Unavailable(Box::new(Self {
            reason: reason.into(),
        }))
    }
}

/// What is wrong with the storage, when a redb error is a fault of the storage rather than of
/// the store: an error of the operating system, and redb refusing to go on after one.
pub(super) fn reason(error: &redb::Error) -> Option<String> {
    match error {
        redb::Error::Io(io) => describe(io),
        redb::Error::PreviousIo => Some("an earlier write failed; the store is reopened".into()),
        _ => None,
    }
}

/// An I/O error of the storage in an operator's words (which fault, then the system's own
/// message); `None` for what redb reports as I/O but is the file's content (a checksum that
/// does not match, a short file): that is corruption, not a fault of the storage.
pub(super) fn describe(error: &io::Error) -> Option<String> {
    let what = match error.kind() {
        io::ErrorKind::StorageFull => "disk full",
        io::ErrorKind::QuotaExceeded => "disk quota exceeded",
        io::ErrorKind::ReadOnlyFilesystem => "storage is read-only",
        io::ErrorKind::PermissionDenied => "permission denied",
        _ if error.raw_os_error().is_some() => "I/O error",
        _ => return None,
    };
    Some(format!("{what} ({error})"))
}

/// How the store file is opened, at start and again after a fault.
#[derive(Debug, Clone)]
pub(super) struct Opener {
    pub(super) path: PathBuf,
    faults: Option<FaultSwitch>,
}

impl Opener {
    pub(super) fn new(path: &Path, faults: Option<FaultSwitch>) -> Self {
        Self {
            path: path.to_path_buf(),
            faults,
        }
    }

    /// Opens (or creates) the store file. Blocking.
    pub(super) fn open(&self) -> Result<Database, redb::DatabaseError> {
        let Some(switch) = &self.faults else {
            return Database::create(&self.path);
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        Database::builder().create_with_backend(Faulty {
            file: FileBackend::new(file)?,
            switch: switch.clone(),
        })
    }
}

/// Test hook: makes every write, resize and sync of a disk queue's store fail with an OS error
/// until cleared, as a full disk, a failing disk or a read-only remount would. Reads still work.
/// Not for production use (see `DiskQueue::open_with_faults`).
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct FaultSwitch(Arc<Faults>);

#[derive(Debug, Default)]
struct Faults {
    /// The OS error writes fail with; 0 for none.
    errno: AtomicI32,
    /// Only syncs fail: the data written reaches the page cache, and may be found there on
    /// reopening (a commit whose fsync failed may or may not have landed).
    only_sync: AtomicBool,
}

impl FaultSwitch {
    /// `ENOSPC`: no space left on device.
    pub const DISK_FULL: i32 = 28;
    /// `EIO`: input/output error.
    pub const IO_ERROR: i32 = 5;
    /// `EROFS`: read-only file system.
    pub const READ_ONLY: i32 = 30;

    /// A switch that injects nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// From now on writes fail with this OS error number (e.g. [`Self::DISK_FULL`]).
    pub fn fail_with(&self, errno: i32) {
        self.0.only_sync.store(false, Ordering::SeqCst);
        self.0.errno.store(errno, Ordering::SeqCst);
    }

    /// From now on only syncs fail, with this OS error number: what was written may be found
    /// on reopening although its commit failed.
    pub fn fail_syncs_with(&self, errno: i32) {
        self.0.only_sync.store(true, Ordering::SeqCst);
        self.0.errno.store(errno, Ordering::SeqCst);
    }

    /// Writes succeed again.
    pub fn clear(&self) {
        self.0.errno.store(0, Ordering::SeqCst);
    }

    fn check(&self, sync: bool) -> io::Result<()> {
        if !sync && self.0.only_sync.load(Ordering::SeqCst) {
            return Ok(());
        }
        match self.0.errno.load(Ordering::SeqCst) {
            0 => Ok(()),
            errno => Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

/// redb's file backend behind a [`FaultSwitch`].
#[derive(Debug)]
struct Faulty {
    file: FileBackend,
    switch: FaultSwitch,
}

impl StorageBackend for Faulty {
    fn len(&self) -> io::Result<u64> {
        self.file.len()
    }

    fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.file.read(offset, len)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.switch.check(false)?;
        self.file.set_len(len)
    }

    fn sync_data(&self, eventual: bool) -> io::Result<()> {
        self.switch.check(true)?;
        self.file.sync_data(eventual)
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.switch.check(false)?;
        self.file.write(offset, data)
    }
}
