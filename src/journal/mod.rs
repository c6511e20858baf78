//! [`Journal`]: the machinery the records of refused requests ([`crate::refused`]) and of
//! recent deliveries ([`crate::deliveries`]) share: a ring of the last `capacity` entries in
//! memory, numbered with ids that are never reused in one data dir, kept in a `.jsonl` file (one
//! JSON line each; once it holds `capacity` lines it becomes `NAME.1`, replacing the one before,
//! and both are read back at start) written by the one [`Writer`] thread, and the
//! [`PayloadCap`] on the payload bytes an entry and a day may keep.
//!
//! New entries are also published to the live [`Feed`] (`GET /admin/stream`).
//!
//! Recording takes a short lock (the ring push) on the caller's thread; the file is written
//! by the writer thread, never on a request's or a delivery's path. An entry is made once and
//! shared (`Arc`) by the ring, the writer and the caller: recording copies nothing.

mod feed;
mod writer;

pub use feed::{Feed, FeedEvent};
pub use writer::{Writer, BACKLOG};

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::Serialize;

const DAY_MS: u64 = 86_400_000;

/// An entry of a journal.
pub trait Entry: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Its id.
    fn id(&self) -> u64;
    /// When it was recorded, in Unix milliseconds.
    fn time_ms(&self) -> u64;
    /// The payload bytes it keeps (counted in the day's cap when read back).
    fn payload_len(&self) -> usize;
}

/// How many payload bytes one entry, and all the entries of one UTC day, may keep.
#[derive(Debug, Clone)]
pub struct PayloadCap {
    per_entry: usize,
    daily: u64,
    day: u64,
    today: u64,
}

impl PayloadCap {
    /// At most `per_entry` bytes of one payload, `daily` bytes of all payloads of a day.
    pub fn new(per_entry: usize, daily: u64) -> Self {
        Self {
            per_entry,
            daily,
            day: now_ms() / DAY_MS,
            today: 0,
        }
    }

    /// The payload to keep of `redacted` (cut to the entry's cap, as text: UTF-8 checked in one
    /// pass, a character the cut splits left out, replacement characters only for bytes that are
    /// not UTF-8) and why it is missing or cut; counts it in the day's bytes.
    pub fn keep(&mut self, redacted: &[u8], time_ms: u64) -> (Option<String>, Option<String>) {
        if time_ms / DAY_MS != self.day {
            self.day = time_ms / DAY_MS;
            self.today = 0;
        }
        let cut = redacted.len() > self.per_entry;
        let kept = &redacted[..redacted.len().min(self.per_entry)];
        if self.today + kept.len() as u64 > self.daily {
            return (None, Some("daily payload cap reached".into()));
        }
        self.today += kept.len() as u64;
        let note = cut.then(|| format!("cut to {} of {} bytes", self.per_entry, redacted.len()));
        (Some(text_of(kept)), note)
    }

    fn restored(&mut self, time_ms: u64, bytes: usize) {
        if time_ms / DAY_MS == self.day {
            self.today += bytes as u64;
        }
    }
}

/// A kept payload as text: checked as UTF-8 in one fast pass; a character the cap cut in two
/// at the end is left out, and only bytes that are not UTF-8 become replacement characters
/// (the slower lossy conversion runs only then).
fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        // Only the last character is incomplete: what comes before it is whole UTF-8.
        Err(error) if error.error_len().is_none() => {
            text_of(bytes.get(..error.valid_up_to()).unwrap_or_default())
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A ring of entries in memory and its file. Share it in an `Arc`.
#[derive(Debug)]
pub struct Journal<T> {
    capacity: usize,
    state: Mutex<State<T>>,
    file: Option<(Arc<Path>, Writer)>,
}

#[derive(Debug)]
struct State<T> {
    ring: VecDeque<Arc<T>>,
    next_id: u64,
    cap: PayloadCap,
}

impl<T: Entry> Journal<T> {
    /// A journal kept in memory only.
    pub fn in_memory(capacity: usize, cap: PayloadCap) -> Self {
        Self {
            capacity,
            state: Mutex::new(State {
                ring: VecDeque::new(),
                next_id: 1,
                cap,
            }),
            file: None,
        }
    }

    /// The journal of the file `data_dir/name`, read back from it (a missing file is an empty
    /// journal; a line that does not parse is skipped with a warning), written by `writer`.
    pub fn open(
        data_dir: &Path,
        name: &str,
        capacity: usize,
        cap: PayloadCap,
        writer: &Writer,
    ) -> Self {
        let path = data_dir.join(name);
        if let Err(error) = fs::create_dir_all(data_dir) {
            tracing::warn!(dir = %data_dir.display(), %error, "Data directory not created.");
        }
        let mut journal = Self::in_memory(capacity, cap);
        {
            let state = journal
                .state
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner);
            let older = read_back::<T>(&rotated(&path));
            for entry in older.into_iter().chain(read_back::<T>(&path)) {
                state.next_id = state.next_id.max(entry.id() + 1);
                state.cap.restored(entry.time_ms(), entry.payload_len());
                if state.ring.len() == capacity {
                    state.ring.pop_front();
                }
                state.ring.push_back(Arc::new(entry));
            }
        }
        journal.file = Some((Arc::from(path.as_path()), writer.clone()));
        journal
    }

    /// Records the entry `build` makes from its id, the time now and the payload cap; hands it
    /// to the writer; returns it.
    pub fn record(&self, build: impl FnOnce(u64, u64, &mut PayloadCap) -> T) -> Arc<T> {
        let time_ms = now_ms();
        let (entry, evicted) = {
            let mut state = self.lock();
            let id = state.next_id;
            state.next_id += 1;
            let entry = Arc::new(build(id, time_ms, &mut state.cap));
            let evicted = if state.ring.len() == self.capacity {
                state.ring.pop_front()
            } else {
                None
            };
            state.ring.push_back(entry.clone());
            (entry, evicted)
        };
        // The oldest entry (its payload and headers) is freed after the lock, not under it.
        drop(evicted);
        if let Some((path, writer)) = &self.file {
            let line = entry.clone();
            writer.append(
                path.clone(),
                self.capacity,
                Box::new(move |buf: &mut Vec<u8>| serde_json::to_writer(buf, &*line)),
            );
        }
        entry
    }

    /// The newest first, those `keep` keeps, at most `limit`.
    pub fn list(&self, keep: impl Fn(&T) -> bool, limit: usize) -> Vec<Arc<T>> {
        self.lock()
            .ring
            .iter()
            .rev()
            .filter(|entry| keep(entry))
            .take(limit)
            .cloned()
            .collect()
    }

    /// One by id.
    pub fn get(&self, id: u64) -> Option<Arc<T>> {
        self.lock()
            .ring
            .iter()
            .find(|entry| entry.id() == id)
            .cloned()
    }

    /// The file it is kept in, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(path, _)| &**path)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where the file at `path` goes once full: `NAME.1`.
pub(crate) fn rotated(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".1");
    PathBuf::from(name)
}

fn read_back<T: Entry>(path: &Path) -> Vec<T> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for line in BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<T>(&line) {
            Ok(entry) => entries.push(entry),
            Err(error) => {
                tracing::warn!(file = %path.display(), %error, "Record line skipped.");
            }
        }
    }
    entries
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Note {
        id: u64,
        time_ms: u64,
        payload: Option<String>,
    }

    impl Entry for Note {
        fn id(&self) -> u64 {
            self.id
        }

        fn time_ms(&self) -> u64 {
            self.time_ms
        }

        fn payload_len(&self) -> usize {
            self.payload.as_ref().map_or(0, String::len)
        }
    }

    fn note(journal: &Journal<Note>, payload: &[u8]) -> Arc<Note> {
        journal.record(|id, time_ms, cap| Note {
            id,
            time_ms,
            payload: cap.keep(payload, time_ms).0,
        })
    }

    #[test]
    fn payloads_are_cut_per_entry_and_capped_per_day() {
        let mut cap = PayloadCap::new(4, 10);
        let now = now_ms();
        assert_eq!(
            cap.keep(b"abcdef", now),
            (Some("abcd".into()), Some("cut to 4 of 6 bytes".into()))
        );
        assert_eq!(cap.keep(b"efgh", now), (Some("efgh".into()), None));
        assert_eq!(
            cap.keep(b"ijk", now),
            (None, Some("daily payload cap reached".into()))
        );
        // A new day starts a new budget.
        assert_eq!(cap.keep(b"ijk", now + DAY_MS), (Some("ijk".into()), None));
    }

    #[test]
    fn kept_text_leaves_out_a_character_the_cut_split_and_marks_only_bytes_that_are_not_utf8() {
        let mut cap = PayloadCap::new(4, 1 << 20);
        let now = now_ms();
        // "aé€": the cut at 4 bytes falls inside the euro sign (3 bytes from byte 3).
        let (kept, note) = cap.keep("aé€".as_bytes(), now);
        assert_eq!(kept.as_deref(), Some("aé"));
        assert_eq!(note.as_deref(), Some("cut to 4 of 6 bytes"));
        assert_eq!(cap.keep("ü!".as_bytes(), now).0.as_deref(), Some("ü!"));
        assert_eq!(cap.keep(b"a\xffb", now).0.as_deref(), Some("a\u{fffd}b"));
    }

    #[test]
    fn the_file_is_written_off_the_caller_rotated_and_read_back_with_its_ids() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::start();
        let journal = Journal::<Note>::open(
            dir.path(),
            "notes.jsonl",
            3,
            PayloadCap::new(8, 1 << 20),
            &writer,
        );
        for _ in 0..10 {
            note(&journal, b"x");
        }
        writer.flush();
        let lines = |path: &Path| fs::read_to_string(path).unwrap().lines().count();
        let path = dir.path().join("notes.jsonl");
        // Rotated at the 4th, 7th and 10th line: `.1` holds 7..=9, the file 10.
        assert_eq!(lines(&path), 1);
        assert_eq!(lines(&rotated(&path)), 3);
        let again = Journal::<Note>::open(
            dir.path(),
            "notes.jsonl",
            3,
            PayloadCap::new(8, 1 << 20),
            &writer,
        );
        let kept: Vec<u64> = again
            .list(|_| true, usize::MAX)
            .iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(kept, [10, 9, 8]);
        assert_eq!(note(&again, b"y").id, 11);
        assert_eq!(
            again.get(9).and_then(|n| n.payload.clone()),
            Some("x".into())
        );
    }
}
