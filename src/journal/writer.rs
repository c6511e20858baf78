//! [`Writer`]: the one thread that writes the records' files (`refused.jsonl`,
//! `deliveries.jsonl`), so that no request or delivery waits on the disk. A record hands it one
//! entry at a time; the thread serialises it, appends it as one line, and once a file holds
//! twice its record's capacity, rewrites it to its last `capacity` lines (a temporary file
//! renamed over it). [`Writer::flush`] waits until everything handed over is written: graceful
//! shutdown calls it last.
//!
//! The hand-over never blocks: past [`BACKLOG`] entries waiting, a new one is dropped from the
//! file (it stays in the record's memory) with a warning.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// Entries that may wait for the writer before new ones are dropped from the files.
pub const BACKLOG: usize = 4096;

/// Serialises one entry as its line (without the newline).
pub(super) type LineFn = Box<dyn FnOnce() -> serde_json::Result<Vec<u8>> + Send>;

enum Command {
    Append {
        path: Arc<Path>,
        capacity: usize,
        line: LineFn,
    },
    Flush(SyncSender<()>),
}

/// The writer thread's handle. Cheap to clone; the thread ends when the last clone is dropped.
#[derive(Clone)]
pub struct Writer {
    tx: SyncSender<Command>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the thread. If it cannot start, the records keep their entries in memory only
    /// (logged).
    pub fn start() -> Self {
        let (tx, rx) = mpsc::sync_channel(BACKLOG);
        let spawned = std::thread::Builder::new()
            .name("genhook-journal".into())
            .spawn(move || run(&rx));
        if let Err(error) = spawned {
            tracing::error!(%error, "The record writer thread did not start; records are kept in memory only.");
        }
        Self { tx }
    }

    /// Hands one entry's line to the thread for the file at `path`, kept to `capacity` lines
    /// (between `capacity` and twice that).
    pub(super) fn append(&self, path: Arc<Path>, capacity: usize, line: LineFn) {
        let command = Command::Append {
            path,
            capacity,
            line,
        };
        match self.tx.try_send(command) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("The record writer is behind; an entry is kept in memory only.");
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Waits (blocking) until every entry handed over so far is written.
    pub fn flush(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        if self.tx.send(Command::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }
}

/// One file the thread writes.
struct Target {
    lines: usize,
    file: Option<File>,
}

fn run(rx: &Receiver<Command>) {
    let mut targets: HashMap<Arc<Path>, Target> = HashMap::new();
    while let Ok(command) = rx.recv() {
        match command {
            Command::Append {
                path,
                capacity,
                line,
            } => {
                let target = targets.entry(path.clone()).or_insert_with(|| Target {
                    lines: count_lines(&path),
                    file: None,
                });
                if let Err(error) = append(target, &path, capacity, line) {
                    tracing::warn!(file = %path.display(), %error, "Record entry not written to its file.");
                    target.file = None;
                }
            }
            Command::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

fn append(target: &mut Target, path: &Path, capacity: usize, line: LineFn) -> std::io::Result<()> {
    let mut line = line().map_err(std::io::Error::other)?;
    line.push(b'\n');
    if target.lines + 1 >= 2 * capacity {
        target.file = None;
        target.lines = compact(path, capacity, &line)?;
        return Ok(());
    }
    let file = match &mut target.file {
        Some(file) => file,
        None => target
            .file
            .insert(OpenOptions::new().create(true).append(true).open(path)?),
    };
    file.write_all(&line)?;
    target.lines += 1;
    Ok(())
}

/// Rewrites the file to its last `capacity` lines, `line` the last of them; how many it holds.
fn compact(path: &Path, capacity: usize, line: &[u8]) -> std::io::Result<usize> {
    let mut kept: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    if let Ok(file) = File::open(path) {
        for old in BufReader::new(file).lines() {
            kept.push_back(old?);
            if kept.len() >= capacity {
                kept.pop_front();
            }
        }
    }
    let mut text = Vec::new();
    for old in &kept {
        text.extend_from_slice(old.as_bytes());
        text.push(b'\n');
    }
    text.extend_from_slice(line);
    let temp = PathBuf::from(format!("{}.tmp", path.display()));
    fs::write(&temp, &text)?;
    fs::rename(&temp, path)?;
    Ok(kept.len() + 1)
}

fn count_lines(path: &Path) -> usize {
    File::open(path).map_or(0, |file| BufReader::new(file).lines().count())
}
