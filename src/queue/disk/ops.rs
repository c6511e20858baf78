//! The writes the writer thread takes ([`Op`]), what each answers ([`Reply`]), and a job: an
//! operation with where its answer goes.

use genhook_core::queue::{DeadLetter, DeadLetterFilter, QueueError};
use tokio::sync::oneshot;

/// One write, as the writer thread receives it.
#[derive(Debug)]
pub(super) enum Op {
    /// Stores (or replaces) an event: enqueue, or requeue with its new attempt count.
    Put { seq: u64, bytes: Vec<u8> },
    /// Removes an event: SL1 accepted it.
    Remove { seq: u64 },
    /// Moves an event to the dead letters (`seq` is its events row, if it has one).
    Dead {
        seq: Option<u64>,
        dead_seq: u64,
        id: String,
        bytes: Vec<u8>,
    },
    /// Removes and returns a dead letter.
    TakeDead { id: String },
    /// Removes the dead letters matching a filter.
    PurgeDead { filter: DeadLetterFilter },
    /// Accepts a new event: claims its delivery id `key` until `until_ms` and applies `then` (a
    /// `Put` or a `Dead`) in the same transaction, so one commit covers both. If `key` is
    /// claimed and not expired at `now_ms`, nothing is written.
    Accept {
        key: String,
        now_ms: u64,
        until_ms: u64,
        then: Box<Op>,
    },
}

impl Op {
    /// The sequence number of the event row it writes, if it writes one (a `Put`, or an
    /// `Accept` of one).
    pub(super) fn event_seq(&self) -> Option<u64> {
        match self {
            Op::Put { seq, .. } => Some(*seq),
            Op::Accept { then, .. } => then.event_seq(),
            _ => None,
        }
    }
}

/// What an operation answers.
#[derive(Debug)]
pub(super) enum Reply {
    /// Done.
    Done,
    /// An accept whose key was claimed already: nothing written.
    Duplicate,
    /// A dead letter taken, if there was one.
    Taken(Option<Box<DeadLetter>>),
    /// How many were purged.
    Purged(usize),
}

pub(super) type Job = (Op, oneshot::Sender<Result<Reply, QueueError>>);
