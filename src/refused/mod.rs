//! The record of refused requests: the last [`CAPACITY`] webhooks GenHook did not take (bad
//! signature, unknown source or token, unmapped event, too large, ignored), with their reason
//! (the `reason` of `genhook_webhooks_rejected_total`, or `unknown_source`, `too_large`,
//! `ignored`), HTTP status, client address, headers and payload, secrets masked by core's
//! [`RedactionPolicy`].
//!
//! Kept in memory (a ring) and in `data_dir/refused.jsonl` (one JSON line each, appended, and
//! rewritten to the ring's contents once it holds twice [`CAPACITY`] lines), so the record survives
//! a restart whatever the queue backend. A payload is kept only up to [`PAYLOAD_CAP`] bytes, and
//! at most [`DAILY_PAYLOAD_CAP`] payload bytes a day (UTC) are kept; past either, the entry says
//! so and keeps no payload. A request refused as too large keeps none. The admin API serves it
//! ([`api`]); `genhook requests` reads that API.
//!
//! Each refusal is also logged at `info` (reason, source, client address, status), at most
//! [`LINES_PER_WINDOW`] lines per reason per [`WINDOW`] (`flood`): a flood of bad requests
//! cannot fill the disk.

pub mod api;
mod flood;

pub use flood::{LINES_PER_WINDOW, WINDOW};

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use genhook_core::redact::RedactionPolicy;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

/// Refused requests kept (memory and file).
pub const CAPACITY: usize = 1000;
/// Payload bytes kept of one refused request.
pub const PAYLOAD_CAP: usize = 16 * 1024;
/// Payload bytes kept of all refused requests of one UTC day.
pub const DAILY_PAYLOAD_CAP: u64 = 8 * 1024 * 1024;
/// The file under `data_dir`.
pub const FILE: &str = "refused.jsonl";

const DAY_MS: u64 = 86_400_000;

/// One refused request, as stored and as served.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Refusal {
    /// Its id: increasing, never reused in one data dir.
    pub id: u64,
    /// When, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The source, or the path's source segment asked for when it is unknown.
    pub source: String,
    /// Why (the rejection metric's reason).
    pub reason: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The client's address, when known.
    pub client: Option<String>,
    /// The headers, secrets masked.
    pub headers: Vec<(String, String)>,
    /// The payload (lossy UTF-8), secrets masked, at most [`PAYLOAD_CAP`] bytes; `None` when not
    /// kept (see `payload_note`).
    pub payload: Option<String>,
    /// Why the payload is missing or cut, if it is.
    pub payload_note: Option<String>,
}

/// What is known of a refused request when it is recorded.
#[derive(Debug)]
pub struct Refused<'a> {
    /// The source (or the path asked).
    pub source: &'a str,
    /// The reason.
    pub reason: &'a str,
    /// The status answered.
    pub status: StatusCode,
    /// The client's address.
    pub client: Option<std::net::SocketAddr>,
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The body, when it was read and is safe to keep.
    pub body: Option<&'a Bytes>,
    /// The source's redaction policy (core's default for an unknown source).
    pub policy: &'a RedactionPolicy,
}

/// The record: a ring in memory and its file. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct RefusedLog {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    ring: VecDeque<Refusal>,
    next_id: u64,
    path: Option<PathBuf>,
    lines_in_file: usize,
    day: u64,
    payload_bytes_today: u64,
    flood: flood::FloodLimit,
}

impl RefusedLog {
    /// The record kept only in memory.
    pub fn in_memory() -> Arc<Self> {
        Arc::new(Self::with(Inner::empty(None)))
    }

    /// The record of `data_dir`, read back from its file (a missing file is an empty record; a
    /// line that does not parse is skipped with a warning).
    pub fn open(data_dir: &Path) -> Arc<Self> {
        let path = data_dir.join(FILE);
        if let Err(error) = fs::create_dir_all(data_dir) {
            tracing::warn!(dir = %data_dir.display(), %error, "Data directory not created.");
        }
        let mut inner = Inner::empty(Some(path.clone()));
        if let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                inner.lines_in_file += 1;
                match serde_json::from_str::<Refusal>(&line) {
                    Ok(refusal) => inner.push_restored(refusal),
                    Err(error) => {
                        tracing::warn!(file = %path.display(), %error, "Refused-request line skipped.");
                    }
                }
            }
        }
        Arc::new(Self::with(inner))
    }

    fn with(inner: Inner) -> Self {
        Self {
            inner: Mutex::new(inner),
        }
    }

    /// Records one refused request; a file that cannot be written is logged, never fatal.
    pub fn record(&self, refused: &Refused<'_>) {
        let time_ms = now_ms();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (payload, payload_note) = inner.payload(refused, time_ms);
        let refusal = Refusal {
            id: inner.next_id,
            time_ms,
            source: refused.source.to_owned(),
            reason: refused.reason.to_owned(),
            status: refused.status.as_u16(),
            client: refused.client.map(|addr| addr.ip().to_string()),
            headers: refused.policy.headers(refused.headers),
            payload,
            payload_note,
        };
        inner.next_id += 1;
        if inner.ring.len() == CAPACITY {
            inner.ring.pop_front();
        }
        flood::log_refusal(
            &mut inner.flood,
            &refusal.reason,
            &refusal.source,
            refusal.client.as_deref(),
            refusal.status,
        );
        inner.ring.push_back(refusal.clone());
        if let Err(error) = inner.persist(&refusal) {
            tracing::warn!(%error, "Refused request not written to its file.");
        }
    }

    /// The newest first, matching `source` and `reason` when given, at most `limit`.
    pub fn list(&self, source: Option<&str>, reason: Option<&str>, limit: usize) -> Vec<Refusal> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner
            .ring
            .iter()
            .rev()
            .filter(|r| source.is_none_or(|s| r.source == s))
            .filter(|r| reason.is_none_or(|s| r.reason == s))
            .take(limit)
            .cloned()
            .collect()
    }

    /// One by id.
    pub fn get(&self, id: u64) -> Option<Refusal> {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.ring.iter().find(|r| r.id == id).cloned()
    }
}

impl Inner {
    fn empty(path: Option<PathBuf>) -> Self {
        Self {
            ring: VecDeque::new(),
            next_id: 1,
            path,
            lines_in_file: 0,
            day: now_ms() / DAY_MS,
            payload_bytes_today: 0,
            flood: flood::FloodLimit::default(),
        }
    }

    fn push_restored(&mut self, refusal: Refusal) {
        self.next_id = self.next_id.max(refusal.id + 1);
        if refusal.time_ms / DAY_MS == self.day {
            self.payload_bytes_today += refusal.payload.as_ref().map_or(0, |p| p.len() as u64);
        }
        if self.ring.len() == CAPACITY {
            self.ring.pop_front();
        }
        self.ring.push_back(refusal);
    }

    /// The payload to keep and why it is missing or cut.
    fn payload(&mut self, refused: &Refused<'_>, time_ms: u64) -> (Option<String>, Option<String>) {
        let Some(body) = refused.body else {
            return (None, Some("not kept".into()));
        };
        if time_ms / DAY_MS != self.day {
            self.day = time_ms / DAY_MS;
            self.payload_bytes_today = 0;
        }
        let redacted = refused.policy.body(refused.headers, body);
        let cut = redacted.len() > PAYLOAD_CAP;
        let kept = &redacted[..redacted.len().min(PAYLOAD_CAP)];
        if self.payload_bytes_today + kept.len() as u64 > DAILY_PAYLOAD_CAP {
            return (None, Some("daily payload cap reached".into()));
        }
        self.payload_bytes_today += kept.len() as u64;
        let note = cut.then(|| format!("cut to {PAYLOAD_CAP} of {} bytes", redacted.len()));
        (Some(String::from_utf8_lossy(kept).into_owned()), note)
    }

    /// Appends the line; rewrites the file to the ring once it holds twice the capacity.
    fn persist(&mut self, refusal: &Refusal) -> std::io::Result<()> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        if self.lines_in_file + 1 >= 2 * CAPACITY {
            return self.compact(&path);
        }
        let mut line = serde_json::to_vec(refusal).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(&line)?;
        self.lines_in_file += 1;
        Ok(())
    }

    fn compact(&mut self, path: &Path) -> std::io::Result<()> {
        let temp = path.with_extension("jsonl.tmp");
        let mut text = Vec::new();
        for refusal in &self.ring {
            serde_json::to_writer(&mut text, refusal).map_err(std::io::Error::other)?;
            text.push(b'\n');
        }
        fs::write(&temp, &text)?;
        fs::rename(&temp, path)?;
        self.lines_in_file = self.ring.len();
        Ok(())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refuse(log: &RefusedLog, source: &str, body: &'static [u8]) {
        let headers = HeaderMap::new();
        let body = Bytes::from_static(body);
        log.record(&Refused {
            source,
            reason: "bad_signature",
            status: StatusCode::UNAUTHORIZED,
            client: None,
            headers: &headers,
            body: Some(&body),
            policy: &RedactionPolicy::new(),
        });
    }

    #[test]
    fn the_ring_keeps_the_newest_and_the_file_is_compacted_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = RefusedLog::open(dir.path());
        for _ in 0..(2 * CAPACITY + 5) {
            refuse(&log, "github", b"{}");
        }
        let all = log.list(None, None, usize::MAX);
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].id, (2 * CAPACITY + 5) as u64);
        let lines = fs::read_to_string(dir.path().join(FILE))
            .unwrap()
            .lines()
            .count();
        assert!(lines < 2 * CAPACITY, "{lines} lines");
        let again = RefusedLog::open(dir.path());
        assert_eq!(again.list(None, None, usize::MAX), all);
    }

    #[test]
    fn a_large_payload_is_cut_and_secrets_are_masked() {
        let log = RefusedLog::in_memory();
        refuse(&log, "meraki", br#"{"sharedSecret": "asdf1234"}"#);
        let kept = log.get(1).unwrap();
        assert_eq!(
            kept.payload.as_deref(),
            Some(r#"{"sharedSecret": "<redacted>"}"#)
        );
        let big: &'static [u8] = Box::leak(vec![b'a'; PAYLOAD_CAP + 10].into_boxed_slice());
        refuse(&log, "meraki", big);
        let kept = log.get(2).unwrap();
        assert_eq!(kept.payload.map(|p| p.len()), Some(PAYLOAD_CAP));
        assert!(kept.payload_note.is_some());
    }
}
