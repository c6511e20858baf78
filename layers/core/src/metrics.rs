//! Metric names, in one place (Prometheus naming: `genhook_` prefix, `_total` counters,
//! `_seconds` histograms). Every module records through these constants, never ad-hoc strings.
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`WEBHOOKS_RECEIVED`] | counter | `source`, `event` |
//! | [`WEBHOOKS_REJECTED`] | counter | `source`, `reason` |
//! | [`WEBHOOKS_ACCEPTED`] | counter | `source`, `event`, `status` (`queued`, `ignored`, `duplicate`, `dead_lettered`) |
//! | [`LAYER_DURATION`] | histogram | `source`, `layer` |
//! | [`REQUEST_DURATION`] | histogram | `status` |
//! | [`DELIVERY_LATENCY`] | histogram | `source` (receipt to SL1 accepted) |
//! | [`QUEUE_DEPTH`] | gauge | `backend` |
//! | [`QUEUE_BYTES`] | gauge | `backend` (bytes of the events held, bounded by `queue_max_bytes`) |
//! | [`QUEUE_SYNCS`] | counter | `backend` (durable syncs) |
//! | [`QUEUE_EVENTS_PER_SYNC`] | histogram | `backend` |
//! | [`QUEUE_AVAILABLE`] | gauge | `backend` (1 the storage works, 0 it is unavailable) |
//! | [`DLQ_SIZE`] | gauge | |
//! | [`WORKERS_BUSY`] / [`WORKERS_IDLE`] | gauge | |
//! | [`SL1_REQUESTS`] | counter | `status` (HTTP status, `timeout`, `connect`, `breaker_open`) |
//! | [`SL1_REQUEST_DURATION`] | histogram | |
//! | [`SL1_RETRIES`] | counter | |
//! | [`CIRCUIT_STATE`] | gauge | (0 closed, 1 half-open, 2 open) |
//! | [`SL1_INFLIGHT`] / [`SL1_INFLIGHT_LIMIT`] | gauge | (attempts at SL1 now; the adaptive limit on them) |
//! | [`DEAD_LETTERED`] | counter | `source`, `reason` |
//! | [`CONNECTIONS_OPEN`] | gauge | |
//! | [`CONNECTIONS_REFUSED`] | counter | (beyond `max_connections`) |
//! | [`ACCEPT_ERRORS`] | counter | (e.g. out of file descriptors) |
//! | [`INFLIGHT_BODY_BYTES`] | gauge | (request body bytes held by requests in flight) |
//! | [`BODIES_REFUSED`] | counter | (beyond `max_inflight_body_bytes`) |
//!
//! Every name is in [`ALL`] with its kind and help text: the recorder describes them, so that
//! `/metrics` has a `# HELP` line (and a `# TYPE` line) for each.
//!
//! **Bounded labels.** No label takes a value straight from a request: `source` is a configured
//! source's name, `reason` and `status` are fixed words, and `event` is
//! [`event_label`]: the key of the mapping line that names the event type (`pull_request`,
//! `payment_intent.*`) or [`OTHER`]. A sender that invents a new `type` per request adds no
//! series. Log lines keep the real event type.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

/// The `event` label of an event type no mapping line names (a `*` line, a line outside any
/// section, or no line at all).
pub const OTHER: &str = "other";

/// The `event` label of an event: the key of the mapping line that names it (the mapping
/// language's `CompiledSource::naming_key_shared`), or [`OTHER`] when none does (`None`).
///
/// ```
/// # use std::sync::Arc;
/// # use genhook_core::metrics::{event_label, OTHER};
/// assert_eq!(&*event_label(None), OTHER);
/// let key: Arc<str> = Arc::from("payment_intent.*");
/// assert!(Arc::ptr_eq(&event_label(Some(&key)), &key));
/// ```
pub fn event_label(naming_key: Option<&Arc<str>>) -> Arc<str> {
    // The line's own key or one shared `other`: a reference count per webhook, no copy.
    static OTHER_LABEL: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(OTHER));
    Arc::clone(naming_key.unwrap_or(&OTHER_LABEL))
}

/// An HTTP status as a `status` label: the statuses GenHook and SL1 commonly answer as static
/// text, others written out (a `String` per answer would be an allocation per request).
///
/// ```
/// # use genhook_core::metrics::status_label;
/// # use http::StatusCode;
/// assert_eq!(status_label(StatusCode::ACCEPTED), "202");
/// assert_eq!(status_label(StatusCode::IM_A_TEAPOT), "418");
/// ```
pub fn status_label(status: http::StatusCode) -> Cow<'static, str> {
    const COMMON: [&str; 17] = [
        "200", "201", "202", "204", "400", "401", "403", "404", "405", "408", "413", "415", "422",
        "429", "500", "502", "503",
    ];
    match COMMON.iter().find(|text| **text == status.as_str()) {
        Some(text) => Cow::Borrowed(text),
        None => Cow::Owned(status.as_str().to_owned()),
    }
}

/// Webhooks received, by source and event.
pub const WEBHOOKS_RECEIVED: &str = "genhook_webhooks_received_total";
/// Webhooks rejected, by source and reason.
pub const WEBHOOKS_REJECTED: &str = "genhook_webhooks_rejected_total";
/// Webhooks answered 2xx, by source, event and status.
pub const WEBHOOKS_ACCEPTED: &str = "genhook_webhooks_accepted_total";
/// Time spent in one stage of a per-source stack (inner stages excluded where measurable).
pub const LAYER_DURATION: &str = "genhook_layer_duration_seconds";
/// Time to answer an HTTP request.
pub const REQUEST_DURATION: &str = "genhook_http_request_duration_seconds";
/// Time from receipt to SL1 accepting the alert.
pub const DELIVERY_LATENCY: &str = "genhook_delivery_latency_seconds";
/// Events waiting or being delivered.
pub const QUEUE_DEPTH: &str = "genhook_queue_depth";
/// Bytes of the events waiting or being delivered (their stored records; `queue_max_bytes`).
pub const QUEUE_BYTES: &str = "genhook_queue_bytes";
/// Durable syncs of the queue store.
pub const QUEUE_SYNCS: &str = "genhook_queue_syncs_total";
/// Events made durable by one sync (group commit).
pub const QUEUE_EVENTS_PER_SYNC: &str = "genhook_queue_events_per_sync";
/// Whether the queue's storage works (1) or is unavailable (0: webhooks are answered 503).
pub const QUEUE_AVAILABLE: &str = "genhook_queue_available";
/// Dead letters kept.
pub const DLQ_SIZE: &str = "genhook_dlq_size";
/// Events moved to the dead-letter queue.
pub const DEAD_LETTERED: &str = "genhook_dead_lettered_total";
/// Events being delivered (taken from the queue, not yet settled).
pub const WORKERS_BUSY: &str = "genhook_workers_busy";
/// Deliverers not delivering (waiting for an event, or for room under the adaptive limit): the
/// delivery loops of `async`/`hybrid` (one per slot of the limit), or `thread_pool` threads.
pub const WORKERS_IDLE: &str = "genhook_workers_idle";
/// SL1 calls, by status.
pub const SL1_REQUESTS: &str = "genhook_sl1_requests_total";
/// SL1 call latency.
pub const SL1_REQUEST_DURATION: &str = "genhook_sl1_request_duration_seconds";
/// SL1 retries.
pub const SL1_RETRIES: &str = "genhook_sl1_retries_total";
/// Circuit breaker state towards SL1: 0 closed, 1 half-open, 2 open.
pub const CIRCUIT_STATE: &str = "genhook_sl1_circuit_state";
/// SL1 attempts in flight now.
pub const SL1_INFLIGHT: &str = "genhook_sl1_inflight";
/// The adaptive limit on SL1 deliveries and attempts in flight (between 1 and `sl1_max_inflight`).
pub const SL1_INFLIGHT_LIMIT: &str = "genhook_sl1_inflight_limit";
/// Client connections open now.
pub const CONNECTIONS_OPEN: &str = "genhook_connections_open";
/// Connections closed at once because `max_connections` were open.
pub const CONNECTIONS_REFUSED: &str = "genhook_connections_refused_total";
/// Failed accepts (e.g. `EMFILE`, out of file descriptors).
pub const ACCEPT_ERRORS: &str = "genhook_accept_errors_total";
/// Request body bytes held (reserved) by the requests in flight.
pub const INFLIGHT_BODY_BYTES: &str = "genhook_inflight_body_bytes";
/// Requests answered `503` because their body would exceed `max_inflight_body_bytes`.
pub const BODIES_REFUSED: &str = "genhook_request_bodies_refused_total";

/// What kind of metric a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (`_total`).
    Counter,
    /// Goes up and down.
    Gauge,
    /// A distribution (`_bucket`, `_sum`, `_count`).
    Histogram,
}

/// Every metric GenHook records: name, kind and the help text of its `# HELP` line.
pub const ALL: &[(&str, Kind, &str)] = &[
    (WEBHOOKS_RECEIVED, Kind::Counter, "Webhooks received, by source and event."),
    (WEBHOOKS_REJECTED, Kind::Counter, "Webhooks refused, by source and reason."),
    (WEBHOOKS_ACCEPTED, Kind::Counter, "Webhooks answered 2xx, by source, event and status (queued, ignored, duplicate, dead_lettered)."),
    (LAYER_DURATION, Kind::Histogram, "Time spent in one stage of a source's stack, in seconds."),
    (REQUEST_DURATION, Kind::Histogram, "Time to answer an HTTP request, in seconds, by status."),
    (DELIVERY_LATENCY, Kind::Histogram, "Time from receipt to SL1 accepting the alert, retries included, in seconds."),
    (QUEUE_DEPTH, Kind::Gauge, "Events waiting or being delivered."),
    (QUEUE_BYTES, Kind::Gauge, "Bytes of the events waiting or being delivered (bounded by queue_max_bytes)."),
    (QUEUE_SYNCS, Kind::Counter, "Durable syncs of the queue store."),
    (QUEUE_EVENTS_PER_SYNC, Kind::Histogram, "Events made durable by one sync (group commit)."),
    (QUEUE_AVAILABLE, Kind::Gauge, "1 when the queue's storage works, 0 when it is unavailable (webhooks answered 503)."),
    (DLQ_SIZE, Kind::Gauge, "Dead letters kept."),
    (DEAD_LETTERED, Kind::Counter, "Events moved to the dead-letter queue, by source and reason."),
    (WORKERS_BUSY, Kind::Gauge, "Events being delivered now."),
    (WORKERS_IDLE, Kind::Gauge, "Deliverers waiting for an event or for room under the in-flight limit."),
    (SL1_REQUESTS, Kind::Counter, "SL1 calls, by status (HTTP status, timeout, connect, breaker_open)."),
    (SL1_REQUEST_DURATION, Kind::Histogram, "SL1 call latency, in seconds."),
    (SL1_RETRIES, Kind::Counter, "SL1 delivery retries."),
    (CIRCUIT_STATE, Kind::Gauge, "Circuit breaker towards SL1: 0 closed, 1 half-open, 2 open."),
    (SL1_INFLIGHT, Kind::Gauge, "SL1 attempts in flight now."),
    (SL1_INFLIGHT_LIMIT, Kind::Gauge, "The adaptive limit on SL1 attempts in flight."),
    (CONNECTIONS_OPEN, Kind::Gauge, "Client connections open now."),
    (CONNECTIONS_REFUSED, Kind::Counter, "Connections closed at once because max_connections were open."),
    (ACCEPT_ERRORS, Kind::Counter, "Failed accepts (e.g. out of file descriptors)."),
    (INFLIGHT_BODY_BYTES, Kind::Gauge, "Request body bytes held by the requests in flight."),
    (BODIES_REFUSED, Kind::Counter, "Requests answered 503 because their body would exceed max_inflight_body_bytes."),
];
