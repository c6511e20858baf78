//! The record of refused requests: the last [`CAPACITY`] webhooks GenHook did not take (bad
//! signature, unknown source or token, unmapped event, too large, ignored), with their reason
//! (the `reason` of `genhook_webhooks_rejected_total`, or `unknown_source`, `too_large`,
//! `ignored`), HTTP status, client address, headers and payload, secrets masked by core's
//! [`RedactionPolicy`].
//!
//! Kept in memory (a ring) and in `data_dir/refused.jsonl` (one JSON line each, appended by the
//! records' writer thread, off the request's path, and rotated to `refused.jsonl.1` every
//! [`CAPACITY`] lines; see [`crate::journal`]), so the record survives a restart whatever
//! the queue backend. Each new entry is also published to the live feed (`GET /admin/stream`). A payload is kept only up to [`PAYLOAD_CAP`] bytes, and
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

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use genhook_core::redact::RedactionPolicy;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use crate::journal::{Entry, Feed, Journal, PayloadCap, Writer};

/// Refused requests kept (memory and file).
pub const CAPACITY: usize = 1000;
/// Payload bytes kept of one refused request.
pub const PAYLOAD_CAP: usize = 16 * 1024;
/// Payload bytes kept of all refused requests of one UTC day.
pub const DAILY_PAYLOAD_CAP: u64 = 8 * 1024 * 1024;
/// The file under `data_dir`.
pub const FILE: &str = "refused.jsonl";

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

/// The record: a [`Journal`] (ring in memory, file written by the writer thread) and the live
/// feed it publishes to. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct RefusedLog {
    journal: Journal<Refusal>,
    feed: Feed,
    /// The `info` line per refusal, limited per reason.
    flood: Mutex<flood::FloodLimit>,
}

impl Entry for Refusal {
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

fn cap() -> PayloadCap {
    PayloadCap::new(PAYLOAD_CAP, DAILY_PAYLOAD_CAP)
}

impl RefusedLog {
    /// The record kept only in memory.
    pub fn in_memory() -> Arc<Self> {
        Arc::new(Self {
            journal: Journal::in_memory(CAPACITY, cap()),
            feed: Feed::default(),
            flood: Mutex::default(),
        })
    }

    /// The record of `data_dir`, read back from its file (a missing file is an empty record; a
    /// line that does not parse is skipped with a warning), its file written by `writer`, its
    /// new entries published to `feed`.
    pub fn open(data_dir: &Path, writer: &Writer, feed: Feed) -> Arc<Self> {
        Arc::new(Self {
            journal: Journal::open(data_dir, FILE, CAPACITY, cap(), writer),
            feed,
            flood: Mutex::default(),
        })
    }

    /// Records one refused request (its file is written by the writer thread).
    pub fn record(&self, refused: &Refused<'_>) {
        let refusal = self.journal.record(|id, time_ms, cap| {
            let (payload, payload_note) = match refused.body {
                Some(body) => cap.keep(&refused.policy.body(refused.headers, body), time_ms),
                None => (None, Some("not kept".into())),
            };
            Refusal {
                id,
                time_ms,
                source: refused.source.to_owned(),
                reason: refused.reason.to_owned(),
                status: refused.status.as_u16(),
                client: refused.client.map(|addr| addr.ip().to_string()),
                headers: refused.policy.headers(refused.headers),
                payload,
                payload_note,
            }
        });
        // Under "" when the source is unknown: a path's name must not grow the counts.
        let counted = if refusal.reason == "unknown_source" {
            ""
        } else {
            refusal.source.as_str()
        };
        flood::log_refusal(
            &mut self.flood.lock().unwrap_or_else(PoisonError::into_inner),
            &refusal.reason,
            &refusal.source,
            refusal.client.as_deref(),
            refusal.status,
        );
        self.feed.health().refused(counted);
        self.feed.publish("refused", &*refusal);
    }

    /// The newest first, matching `source` and `reason` when given, at most `limit`.
    pub fn list(
        &self,
        source: Option<&str>,
        reason: Option<&str>,
        limit: usize,
    ) -> Vec<Arc<Refusal>> {
        self.journal.list(
            |r| source.is_none_or(|s| r.source == s) && reason.is_none_or(|s| r.reason == s),
            limit,
        )
    }

    /// One by id.
    pub fn get(&self, id: u64) -> Option<Arc<Refusal>> {
        self.journal.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

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
    fn the_ring_keeps_the_newest_and_the_files_are_rotated_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Writer::start();
        let log = RefusedLog::open(dir.path(), &writer, Feed::default());
        for _ in 0..(2 * CAPACITY + 5) {
            refuse(&log, "github", b"{}");
        }
        writer.flush();
        let all = log.list(None, None, usize::MAX);
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].id, (2 * CAPACITY + 5) as u64);
        let lines = |path: &std::path::Path| fs::read_to_string(path).unwrap().lines().count();
        let path = dir.path().join(FILE);
        // 2 005 lines written: the file holds the last 5, the one rotated before it 1 000.
        assert_eq!(lines(&path), 5);
        assert_eq!(lines(&crate::journal::rotated(&path)), CAPACITY);
        let again = RefusedLog::open(dir.path(), &writer, Feed::default());
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
        assert_eq!(kept.payload.as_ref().map(String::len), Some(PAYLOAD_CAP));
        assert!(kept.payload_note.is_some());
    }
}
