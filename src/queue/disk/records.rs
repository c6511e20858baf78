//! The records a write stores: a new event's (or, when it could not be rendered, its dead
//! letter's), and the write that accepts it with its delivery id's claim in one transaction.

use genhook_core::queue::{record, Accepted, Claim, DeadLetter, Event, QueueError};

use super::ops::Op;

/// The record of a new event, encoded before its sequence number is known: an event row, or a
/// dead letter when it has a `render_error`.
pub(super) enum NewRecord {
    Event(Vec<u8>),
    Dead { id: String, bytes: Vec<u8> },
}

impl NewRecord {
    /// The record of `event`, and the event itself when it is to be delivered (to be kept in
    /// memory once committed).
    pub(super) fn of(event: Event) -> Result<(Self, Option<Event>), QueueError> {
        if event.render_error.is_some() {
            let id = event.id.clone();
            let letter = DeadLetter {
                event,
                dead_at_ms: crate::queue::now_ms(),
            };
            let bytes = encode_dead_letter(&letter)?;
            Ok((Self::Dead { id, bytes }, None))
        } else {
            Ok((Self::Event(encode_event(&event)?), Some(event)))
        }
    }

    /// The bytes it counts against `queue_max_bytes` (dead letters count none).
    pub(super) fn size(&self) -> u64 {
        match self {
            Self::Event(bytes) => bytes.len() as u64,
            Self::Dead { .. } => 0,
        }
    }
}

/// The write that accepts a new event as `seq`, claiming its key in the same transaction; and
/// what it did if not a duplicate.
pub(super) fn accept_op(seq: u64, record: NewRecord, claim: Option<Claim>) -> (Op, Accepted) {
    let (op, done) = match record {
        NewRecord::Dead { id, bytes } => {
            let op = Op::Dead {
                seq: None,
                dead_seq: seq,
                id,
                bytes,
            };
            (op, Accepted::DeadLettered)
        }
        NewRecord::Event(bytes) => (Op::Put { seq, bytes }, Accepted::Queued),
    };
    let Some(claim) = claim else {
        return (op, done);
    };
    // Wall clock (Unix milliseconds): the claim must hold across restarts.
    let now_ms = crate::queue::now_ms();
    let window_ms = u64::try_from(claim.window.as_millis()).unwrap_or(u64::MAX);
    let op = Op::Accept {
        key: claim.key,
        now_ms,
        until_ms: now_ms.saturating_add(window_ms),
        then: Box::new(op),
    };
    (op, done)
}

/// An event's stored record.
pub(super) fn encode_event(event: &Event) -> Result<Vec<u8>, QueueError> {
    record::encode_event(event).map_err(|e| QueueError::Storage(Box::new(e)))
}

/// A dead letter's stored record.
pub(super) fn encode_dead_letter(letter: &DeadLetter) -> Result<Vec<u8>, QueueError> {
    record::encode_dead_letter(letter).map_err(|e| QueueError::Storage(Box::new(e)))
}
