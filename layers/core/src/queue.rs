//! The queue between accepting a webhook (202) and delivering it to SL1, the dead-letter queue,
//! and the de-duplication memory. Backends (`memory`, `disk`, `redis`) live in the `genhook`
//! crate; the `dispatch` stage and the workers see only these traits.
//!
//! De-duplication is part of the queue, not a store of its own: [`Queue::accept`] claims a
//! delivery id and stores its event in **one** step of the backend, so a crash or a store failure
//! can never leave a claim without its event (a redelivery answered `duplicate` for a webhook
//! that was never queued) nor an event without its claim.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::alert::Alert;

pub mod record;

/// Dispatch priority of a source (`priority =`): with a backlog, higher first, none starves.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Delivered after the others when there is a backlog.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Delivered first when there is a backlog.
    High,
}

impl Priority {
    /// Parses `low`, `normal` or `high`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Self::Low),
            "normal" => Some(Self::Normal),
            "high" => Some(Self::High),
            _ => None,
        }
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
}

/// One accepted webhook, as the queue keeps it until SL1 accepted its alert.
///
/// The raw body and the (redacted) headers are kept so that a dead letter can be rendered again
/// with the current mappings and replayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// GenHook's own id (a UUIDv7: sortable by time).
    pub id: String,
    /// The source (mapping section).
    pub source: String,
    /// The event type.
    pub event: String,
    /// The provider's delivery id, when it sends one.
    pub delivery_id: Option<String>,
    /// Dispatch priority.
    pub priority: Priority,
    /// When the edge received it, in Unix milliseconds.
    pub received_at_ms: u64,
    /// The alert to post (message rendered at accept time).
    pub alert: Alert,
    /// Why rendering failed, when it did: such an event goes straight to the dead-letter queue.
    pub render_error: Option<String>,
    /// Request headers, secrets redacted.
    pub headers: Vec<(String, String)>,
    /// The raw request body.
    #[serde(with = "base64_bytes")]
    pub body: Bytes,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// The last delivery error.
    pub last_error: Option<String>,
}

/// A dead letter: an event that exhausted its retries or could not be rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The event, with its attempts and last error.
    pub event: Event,
    /// When it was dead-lettered, in Unix milliseconds.
    pub dead_at_ms: u64,
}

/// Which dead letters an admin call is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterFilter {
    /// Only this source.
    pub source: Option<String>,
    /// Only this event type.
    pub event: Option<String>,
    /// At most this many.
    pub limit: Option<usize>,
}

impl DeadLetterFilter {
    /// Whether a dead letter matches.
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        self.source
            .as_deref()
            .is_none_or(|s| s == letter.event.source)
            && self
                .event
                .as_deref()
                .is_none_or(|e| e == letter.event.event)
    }
}

/// Why the queue refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The queue holds `queue_max_size` events, or the event would take the bytes it holds past
    /// `queue_max_bytes`: the sender should retry later (503).
    #[error("queue is full")]
    Full,
    /// The service is shutting down (503).
    #[error("service is shutting down")]
    Closed,
    /// No such event.
    #[error("no such event")]
    NotFound,
    /// The store cannot be reached or written right now (Redis restarting, the network away, the
    /// disk full or read-only) and nothing was stored: the sender should retry later (503). The
    /// cause is for the logs only.
    #[error("queue store is unavailable")]
    Unavailable(#[source] crate::BoxError),
    /// The store failed; the cause is for the logs only.
    #[error("queue storage failed")]
    Storage(#[source] crate::BoxError),
}

/// A de-duplication key accepted together with its event ([`Queue::accept`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The key, e.g. `"{source}:{delivery id}"`.
    pub key: String,
    /// How long an event with the same key is answered [`Accepted::Duplicate`].
    pub window: Duration,
}

/// What [`Queue::accept`] did with a new event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Added to the queue.
    Queued,
    /// Added to the dead-letter queue (the event has a `render_error`).
    DeadLettered,
    /// Nothing was stored: an event with the same claim key was accepted within its window, and
    /// that event is durably queued, delivered or dead-lettered.
    Duplicate,
}

/// The queue of accepted events. Implementations are cheap to share (`Arc<dyn Queue>`).
pub trait Queue: fmt::Debug + Send + Sync + 'static {
    /// Accepts a new event: to the queue, or to the dead-letter queue when it has a
    /// `render_error`. With a `claim`, the claim and the event are **one atomic step**: if the
    /// key is claimed and not expired nothing is stored ([`Accepted::Duplicate`]); otherwise
    /// both the claim and the event are stored, or (on any error, a crash, a full queue)
    /// neither. Of many concurrent accepts of one key exactly one stores its event.
    ///
    /// Resolves only once what it did is as durable as the backend promises (committed and
    /// synced in one transaction for `disk`, one script run by Redis for `redis`).
    ///
    /// # Errors
    /// [`QueueError::Full`] (checked before the claim, so a redelivery may get it too; dead
    /// letters are not counted against `queue_max_size` nor `queue_max_bytes`), [`QueueError::Closed`],
    /// [`QueueError::Unavailable`], [`QueueError::Storage`]: nothing was stored, so the sender's
    /// retry with the same key is accepted. (A remote store may have stored both when only its
    /// answer was lost: the retry is then answered [`Accepted::Duplicate`], rightly.)
    fn accept(
        &self,
        event: Event,
        claim: Option<Claim>,
    ) -> BoxFuture<'_, Result<Accepted, QueueError>>;

    /// Accepts an event without a claim: [`Queue::accept`] with `None` (tools, tests and benches;
    /// the dispatch stage and the DLQ replay always pass their claim).
    fn enqueue(&self, event: Event) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move { self.accept(event, None).await.map(drop) })
    }

    /// The next event to deliver, highest priority first without starving the others. Waits
    /// until one is available; `Ok(None)` once the queue is closed and empty.
    fn next(&self) -> BoxFuture<'_, Result<Option<Event>, QueueError>>;

    /// SL1 accepted the event: remove it for good.
    fn ack(&self, event: &Event) -> BoxFuture<'_, Result<(), QueueError>>;

    /// Puts an event back to be delivered again after `delay` (the circuit to SL1 is open).
    fn requeue(&self, event: Event, delay: Duration) -> BoxFuture<'_, Result<(), QueueError>>;

    /// Moves an event handed out by [`Queue::next`] (or one not queued) to the dead-letter queue.
    fn dead_letter(&self, event: Event) -> BoxFuture<'_, Result<(), QueueError>>;

    /// Events waiting or being delivered.
    fn depth(&self) -> usize;

    /// The most events it holds (`queue_max_size`; `usize::MAX` when only bytes bound it).
    fn capacity(&self) -> usize;

    /// The bytes of the events it holds (waiting or being delivered), as stored: the bound
    /// `queue_max_bytes` applies to it. Cheap (an atomic or a counter under a short lock); for a
    /// shared store (Redis), as of the last read.
    fn bytes(&self) -> u64 {
        0
    }

    /// The most bytes of events it holds (`queue_max_bytes`).
    fn max_bytes(&self) -> u64 {
        u64::MAX
    }

    /// Whether another event may be admitted while `admitted` webhooks are already admitted and
    /// not queued yet: fewer events than [`capacity`](Queue::capacity) and fewer bytes than
    /// [`max_bytes`](Queue::max_bytes). Cheap: the door asks it for every webhook before reading
    /// its body. [`Queue::accept`] stays the final word (it knows the event's size).
    fn has_room(&self, admitted: usize) -> bool {
        self.depth().saturating_add(admitted) < self.capacity() && self.bytes() < self.max_bytes()
    }

    /// Stops accepting: `accept` fails with [`QueueError::Closed`], `next` drains then ends.
    fn close(&self);

    /// The backend's name (`memory`, `disk`, `redis`).
    fn backend(&self) -> &'static str;

    /// Whether the store can be reached right now. A remote store (Redis) may be away for a
    /// while, an embedded one's storage may fail (disk full, read-only); `/readyz` reports not
    /// ready meanwhile, so a load balancer sends webhooks elsewhere.
    fn is_available(&self) -> bool {
        true
    }

    /// Why the store cannot take events right now, while a fault of the storage lasts (the disk
    /// full or read-only, I/O errors): `/readyz` says so, and GenHook alerts about itself.
    /// `None` when the store takes events, or when the backend has no reason to give.
    fn unavailable_reason(&self) -> Option<String> {
        None
    }
}

/// The dead-letter queue, as the admin API sees it.
pub trait DeadLetters: fmt::Debug + Send + Sync + 'static {
    /// Dead letters matching the filter, oldest first.
    fn list(&self, filter: &DeadLetterFilter)
        -> BoxFuture<'_, Result<Vec<DeadLetter>, QueueError>>;
    /// One dead letter.
    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>>;
    /// Removes and returns a dead letter, to be rendered again and enqueued.
    fn take(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>>;
    /// Removes the dead letters matching the filter; how many.
    fn purge(&self, filter: &DeadLetterFilter) -> BoxFuture<'_, Result<usize, QueueError>>;
    /// How many dead letters there are.
    fn count(&self) -> BoxFuture<'_, Result<usize, QueueError>>;
}

mod base64_bytes {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        bytes: &Bytes,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Bytes, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}
