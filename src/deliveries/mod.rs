//! The record of recent deliveries: the last [`CAPACITY`] events the workers settled —
//! delivered to SL1, written to the outbox, dead-lettered, or put back to wait (`retrying`,
//! while SL1's circuit is open) — each with its SL1 answer, every SL1 attempt ([`Sl1Try`]:
//! status, error, latency), the alert sent, and the webhook's headers and payload as the event
//! stored them: secrets masked by its source's redaction policy when it was accepted.
//!
//! A settled event already carries what the record needs, so the accept path does no extra work
//! for it: the record is made by the worker once the event settles ([`DeliveryLog::record`]),
//! taking the event's strings, and the file written by the records' writer thread
//! ([`crate::journal`]). Kept in memory (a
//! ring) and in `data_dir/deliveries.jsonl`; a payload is kept up to [`PAYLOAD_CAP`] bytes and
//! [`DAILY_PAYLOAD_CAP`] bytes a day. Each entry is published to the live feed as `delivery`
//! (its [`Summary`]). The admin API serves it ([`api`]).

pub mod api;

use std::path::Path;
use std::sync::Arc;

use genhook_core::queue::Event;
use genhook_core::Alert;
use serde::{Deserialize, Serialize};

use crate::journal::{Entry, Feed, Journal, PayloadCap, Writer};
pub use crate::worker::sl1::Sl1Try;

/// Deliveries kept (memory and file).
pub const CAPACITY: usize = 1000;
/// Payload bytes kept of one delivery.
pub const PAYLOAD_CAP: usize = 16 * 1024;
/// Payload bytes kept of all deliveries of one UTC day.
pub const DAILY_PAYLOAD_CAP: u64 = 32 * 1024 * 1024;
/// The file under `data_dir`.
pub const FILE: &str = "deliveries.jsonl";

/// What the list and the live feed show of a delivery: all but its headers, payload, alert and
/// tries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Its id: increasing, never reused in one data dir.
    pub id: u64,
    /// When it settled, in Unix milliseconds.
    pub time_ms: u64,
    /// GenHook's event id (the same event may settle more than once: `retrying`, then
    /// `delivered`).
    pub event_id: String,
    /// The source.
    pub source: String,
    /// The event type.
    pub event: String,
    /// The provider's delivery id.
    pub delivery_id: Option<String>,
    /// What the webhook was answered (`202`: it was accepted).
    pub http_status: u16,
    /// `delivered`, `outbox`, `dead_lettered` or `retrying`.
    pub sl1_status: String,
    /// SL1's HTTP status of the last attempt, when it answered.
    pub sl1_http: Option<u16>,
    /// Delivery attempts of the event so far.
    pub attempts: u32,
    /// From receipt to now, in milliseconds.
    pub latency_ms: u64,
    /// The rendered message.
    pub message: String,
    /// Why it was not delivered, if it was not.
    pub error: Option<String>,
}

/// One settled delivery, as stored and as served by `GET /admin/deliveries/{id}`: its
/// [`Summary`]'s fields, then the rest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    /// What the list shows (its fields stand beside the others in JSON).
    #[serde(flatten)]
    pub summary: Summary,
    /// The webhook's headers, secrets masked.
    pub headers: Vec<(String, String)>,
    /// The payload (lossy UTF-8), secrets masked, at most [`PAYLOAD_CAP`] bytes.
    pub payload: Option<String>,
    /// Why the payload is missing or cut, if it is.
    pub payload_note: Option<String>,
    /// The SL1 alert body.
    pub alert: Alert,
    /// Every SL1 attempt of this settling.
    pub tries: Vec<Sl1Try>,
}

impl Entry for Delivery {
    fn id(&self) -> u64 {
        self.summary.id
    }

    fn time_ms(&self) -> u64 {
        self.summary.time_ms
    }

    fn payload_len(&self) -> usize {
        self.payload.as_ref().map_or(0, String::len)
    }
}

/// How an event settled, as the worker tells it.
#[derive(Debug, Clone)]
pub struct Settled<'a> {
    /// `delivered`, `outbox`, `dead_lettered` or `retrying`.
    pub status: &'static str,
    /// SL1's status of the last attempt.
    pub sl1_http: Option<u16>,
    /// The attempts of this settling.
    pub tries: Vec<Sl1Try>,
    /// Why not delivered.
    pub error: Option<&'a str>,
}

/// The record. Cheap to share (`Arc`).
pub struct DeliveryLog {
    journal: Journal<Delivery>,
    feed: Feed,
}

impl std::fmt::Debug for DeliveryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryLog")
            .field("journal", &self.journal)
            .finish_non_exhaustive()
    }
}

fn cap() -> PayloadCap {
    PayloadCap::new(PAYLOAD_CAP, DAILY_PAYLOAD_CAP)
}

impl DeliveryLog {
    /// The record kept only in memory.
    pub fn in_memory() -> Arc<Self> {
        Arc::new(Self {
            journal: Journal::in_memory(CAPACITY, cap()),
            feed: Feed::default(),
        })
    }

    /// The record of `data_dir` (read back from its file), written by `writer`, published to
    /// `feed`.
    pub fn open(data_dir: &Path, writer: &Writer, feed: Feed) -> Arc<Self> {
        Arc::new(Self {
            journal: Journal::open(data_dir, FILE, CAPACITY, cap(), writer),
            feed,
        })
    }

    /// Records how `event` settled. The entry takes the event's strings as they are: nothing
    /// is copied but the message the list shows beside the alert.
    pub fn record(&self, event: Event, settled: Settled<'_>) {
        let Event {
            id: event_id,
            source,
            event,
            delivery_id,
            received_at_ms,
            alert,
            headers,
            body,
            attempts,
            ..
        } = event;
        let delivery = self.journal.record(|id, time_ms, cap| {
            // The stored body: its secrets were masked when the webhook was accepted.
            let (payload, payload_note) = cap.keep(&body, time_ms);
            Delivery {
                summary: Summary {
                    id,
                    time_ms,
                    event_id,
                    source,
                    event,
                    delivery_id,
                    http_status: 202,
                    sl1_status: settled.status.to_owned(),
                    sl1_http: settled.sl1_http,
                    attempts,
                    latency_ms: time_ms.saturating_sub(received_at_ms),
                    message: alert.message.clone(),
                    error: settled.error.map(str::to_owned),
                },
                headers,
                payload,
                payload_note,
                alert,
                tries: settled.tries,
            }
        });
        self.feed.health().settled(
            &delivery.summary.source,
            &delivery.summary.sl1_status,
            delivery.tries.iter().map(|t| t.latency_ms),
        );
        self.feed.publish("delivery", &delivery.summary);
    }

    /// The newest first, matching `source`, `status` (`sl1_status`) and the text `q` (in the
    /// message, event, source, ids or error, ignoring case) when given, at most `limit`.
    pub fn list(
        &self,
        source: Option<&str>,
        status: Option<&str>,
        q: Option<&str>,
        limit: usize,
    ) -> Vec<Summary> {
        let q = q.map(str::to_lowercase);
        self.journal
            .list(
                |d| {
                    let d = &d.summary;
                    source.is_none_or(|s| d.source == s)
                        && status.is_none_or(|s| d.sl1_status == s)
                        && q.as_deref().is_none_or(|q| matches_text(d, q))
                },
                limit,
            )
            .iter()
            .map(|d| d.summary.clone())
            .collect()
    }

    /// One by id.
    pub fn get(&self, id: u64) -> Option<Arc<Delivery>> {
        self.journal.get(id)
    }
}

fn matches_text(delivery: &Summary, q: &str) -> bool {
    [
        Some(delivery.message.as_str()),
        Some(delivery.event.as_str()),
        Some(delivery.source.as_str()),
        Some(delivery.event_id.as_str()),
        delivery.delivery_id.as_deref(),
        delivery.error.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|text| text.to_lowercase().contains(q))
}
