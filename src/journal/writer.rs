//! [`Writer`]: the one thread that writes the records' files (`refused.jsonl`,
//! `deliveries.jsonl`), so that no request or delivery waits on the disk. A record hands it one
//! entry at a time; the thread serialises it and appends it as one line, buffered: what waits is
//! written together, then the thread rests `REST` (20 ms), so that it is not woken per entry.
//! Once a file holds its record's capacity, it is renamed `NAME.1` (replacing the one before)
//! and a new file begun: the two hold between `capacity` and twice that lines, and nothing is
//! ever rewritten.
//! [`Writer::flush`] waits until everything handed over is written: graceful shutdown calls it
//! last.
//!
//! The hand-over never blocks: past [`BACKLOG`] entries waiting, a new one is dropped from the
//! file (it stays in the record's memory). One warning says when the writer falls behind and one
//! line how many entries it missed once it keeps up again: a flood of deliveries cannot turn into
//! a flood of log lines.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// Entries that may wait for the writer before new ones are dropped from the files.
pub const BACKLOG: usize = 4096;

/// Serialises one entry as its line (without the newline) into the buffer it is given.
pub(super) type LineFn = Box<dyn FnOnce(&mut Vec<u8>) -> serde_json::Result<()> + Send>;

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
    /// Entries dropped from the files since the writer fell behind (0: it keeps up).
    dropped: Arc<AtomicU64>,
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
        Self {
            tx,
            dropped: Arc::default(),
        }
    }

    /// Hands one entry's line to the thread for the file at `path`, rotated every `capacity`
    /// lines.
    pub(super) fn append(&self, path: Arc<Path>, capacity: usize, line: LineFn) {
        let command = Command::Append {
            path,
            capacity,
            line,
        };
        match self.tx.try_send(command) {
            Ok(()) => {
                // Relaxed is enough: the count only feeds the log lines.
                if self.dropped.load(Ordering::Relaxed) > 0 {
                    let missed = self.dropped.swap(0, Ordering::Relaxed);
                    if missed > 0 {
                        tracing::warn!(
                            missed,
                            "The record writer keeps up again; {missed} entries were kept in memory only."
                        );
                    }
                }
            }
            Err(TrySendError::Full(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        "The record writer is behind; entries are kept in memory only until it catches up."
                    );
                }
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
    file: Option<BufWriter<File>>,
}

/// How long the thread rests after writing what was waiting, so that entries handed over
/// meanwhile are written together: one wake-up, one `write` per file and per rest, where a
/// wake-up per entry cost the delivering threads a futex call each (BENCHMARKS.md).
const REST: Duration = Duration::from_millis(20);

fn run(rx: &Receiver<Command>) {
    let mut targets: HashMap<Arc<Path>, Target> = HashMap::new();
    // One buffer every line is serialised into, reused.
    let mut scratch = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(command) = next.take().or_else(|| rx.try_recv().ok()) {
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
                    if let Err(error) = append(target, &path, capacity, line, &mut scratch) {
                        tracing::warn!(file = %path.display(), %error, "Record entry not written to its file.");
                        target.file = None;
                    }
                }
                Command::Flush(done) => {
                    flush_all(&mut targets);
                    let _ = done.send(());
                }
            }
        }
        flush_all(&mut targets);
        // The writer's own OS thread, never a runtime's: resting blocks nothing else.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(REST);
    }
}

/// Writes out every file's buffer; a file that fails is reopened by its next entry.
fn flush_all(targets: &mut HashMap<Arc<Path>, Target>) {
    for (path, target) in targets.iter_mut() {
        if let Some(file) = &mut target.file {
            if let Err(error) = file.flush() {
                tracing::warn!(file = %path.display(), %error, "Record entries not written to their file.");
                target.file = None;
            }
        }
    }
}

fn append(
    target: &mut Target,
    path: &Path,
    capacity: usize,
    line: LineFn,
    scratch: &mut Vec<u8>,
) -> std::io::Result<()> {
    scratch.clear();
    line(scratch).map_err(std::io::Error::other)?;
    scratch.push(b'\n');
    let mut truncate = false;
    if target.lines >= capacity {
        if let Some(mut file) = target.file.take() {
            file.flush()?;
        }
        target.lines = 0;
        match fs::rename(path, super::rotated(path)) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            // Kept bounded all the same: the file starts again without its older lines.
            Err(error) => {
                tracing::warn!(file = %path.display(), %error, "Record file not rotated; it starts again.");
                truncate = true;
            }
        }
    }
    let file = match &mut target.file {
        Some(file) => file,
        None => target.file.insert(BufWriter::with_capacity(
            256 * 1024,
            OpenOptions::new()
                .create(true)
                .append(!truncate)
                .write(true)
                .truncate(truncate)
                .open(path)?,
        )),
    };
    file.write_all(scratch)?;
    target.lines += 1;
    Ok(())
}

fn count_lines(path: &Path) -> usize {
    File::open(path).map_or(0, |file| BufReader::new(file).lines().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(writer: &Writer, path: &Arc<Path>) {
        writer.append(
            path.clone(),
            10,
            Box::new(|buf: &mut Vec<u8>| {
                buf.extend_from_slice(b"{}");
                Ok(())
            }),
        );
    }

    #[test]
    fn entries_past_the_backlog_are_counted_once_behind_and_the_count_ends_when_it_keeps_up() {
        // A writer whose thread is stalled: nothing takes from its one-entry channel.
        let (tx, rx) = mpsc::sync_channel(1);
        let writer = Writer {
            tx,
            dropped: Arc::default(),
        };
        let path: Arc<Path> = Arc::from(Path::new("unused.jsonl"));
        entry(&writer, &path);
        assert_eq!(writer.dropped.load(Ordering::Relaxed), 0);
        for _ in 0..3 {
            entry(&writer, &path);
        }
        assert_eq!(writer.dropped.load(Ordering::Relaxed), 3);
        // The thread takes the waiting entry: the next hand-over goes through and ends the count.
        assert!(rx.try_recv().is_ok());
        entry(&writer, &path);
        assert_eq!(writer.dropped.load(Ordering::Relaxed), 0);
        assert!(rx.try_recv().is_ok());
    }
}
