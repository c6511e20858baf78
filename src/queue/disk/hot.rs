//! What spares `next` a read of the store: the events written recently, kept in memory, and the
//! events read ahead in one read transaction.
//!
//! An accepted (or requeued) event is in hand when its commit returns; keeping it (within
//! [`HOT_MAX_BYTES`]) lets `next` hand it out without a `spawn_blocking`, a read transaction and
//! a decode. An event not kept (the cache was full, or it was stored by an earlier run) is read
//! from the store, together with up to [`READ_AHEAD`] events queued after it, in one read
//! transaction: a backlog drains at the rate of batched reads, not of one read per event.
//!
//! Neither changes what is durable: the store holds every event until it is acknowledged, the
//! cache is a copy.

use std::collections::HashMap;

use genhook_core::queue::{Event, Priority};

/// At most this many bytes of event records are kept in memory beside the store.
pub(super) const HOT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// How many events one read of the store takes at most.
pub(super) const READ_AHEAD: usize = 32;

/// Events kept in memory since they were written, by sequence number, with their record size.
#[derive(Debug, Default)]
pub(super) struct Hot {
    events: HashMap<u64, (Event, u64)>,
    bytes: u64,
}

impl Hot {
    /// Keeps a copy of event `seq` (a record of `size` bytes) if there is room.
    pub(super) fn keep(&mut self, seq: u64, event: Event, size: u64) {
        self.take(seq);
        if self.bytes.saturating_add(size) <= HOT_MAX_BYTES {
            self.bytes += size;
            self.events.insert(seq, (event, size));
        }
    }

    /// Takes event `seq` out, if it is kept.
    pub(super) fn take(&mut self, seq: u64) -> Option<Event> {
        let (event, size) = self.events.remove(&seq)?;
        self.bytes = self.bytes.saturating_sub(size);
        Some(event)
    }

    #[cfg(test)]
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// One event of a read-ahead, in the order it was taken from the lanes.
#[derive(Debug)]
pub(super) enum Ahead {
    /// Kept in memory: nothing to read.
    Kept(Box<Event>),
    /// To be read from the store.
    Stored(Priority, u64),
}

impl Ahead {
    /// The sequence numbers a read-ahead must read, in order.
    pub(super) fn to_read(batch: &[Self]) -> Vec<u64> {
        batch
            .iter()
            .filter_map(|ahead| match ahead {
                Self::Kept(_) => None,
                Self::Stored(_, seq) => Some(*seq),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use genhook_core::alert::AlertDefaults;

    fn event(id: &str) -> Event {
        Event {
            id: id.into(),
            source: "github".into(),
            event: "push".into(),
            delivery_id: None,
            priority: Priority::Normal,
            received_at_ms: 0,
            alert: AlertDefaults::default().alert("m"),
            render_error: None,
            headers: Vec::new(),
            body: Bytes::from_static(b"{}"),
            attempts: 0,
            last_error: None,
        }
    }

    #[test]
    fn keeps_within_the_bound_and_gives_back_once() {
        let mut hot = Hot::default();
        hot.keep(1, event("a"), HOT_MAX_BYTES - 10);
        hot.keep(2, event("b"), 11);
        assert!(hot.take(2).is_none(), "over the bound: not kept");
        hot.keep(3, event("c"), 10);
        assert_eq!(hot.bytes(), HOT_MAX_BYTES);
        assert_eq!(hot.take(1).map(|e| e.id), Some("a".to_owned()));
        assert!(hot.take(1).is_none());
        assert_eq!(hot.bytes(), 10);
    }

    #[test]
    fn keeping_again_replaces_and_recounts() {
        let mut hot = Hot::default();
        hot.keep(1, event("a"), 100);
        hot.keep(1, event("a2"), 40);
        assert_eq!(hot.bytes(), 40);
        assert_eq!(hot.take(1).map(|e| e.id), Some("a2".to_owned()));
    }

    #[test]
    fn reads_only_what_is_not_kept_in_order() {
        let batch = vec![
            Ahead::Stored(Priority::Normal, 7),
            Ahead::Kept(Box::new(event("k"))),
            Ahead::Stored(Priority::High, 9),
        ];
        assert_eq!(Ahead::to_read(&batch), vec![7, 9]);
    }
}
