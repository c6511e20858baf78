//! The door: a webhook is admitted into its stack, and its body read, only while the queue can
//! take it. Shutting down, the queue's storage unavailable, or no free queue slot: the answer is
//! `503` + `Retry-After` with the reason the dispatch stage would give ([`DispatchError`]),
//! decided from the request head alone, so an overloaded GenHook spends nothing on a webhook it
//! would throw away (no body read, no HMAC, no parse, no render).
//!
//! **Slots.** An admitted webhook holds a [`QueueSlot`] until it is answered. A slot is free when
//! [`Queue::has_room`]: `depth + admitted < capacity` and the bytes held below `queue_max_bytes`
//! (the body's size is not known yet: [`Queue::accept`] checks it), checked and taken under one
//! lock, so a burst never admits more
//! webhooks than the queue has room for; the queue's own depth counts an event from its enqueue
//! on, before its slot is given back (counted twice for a moment, never zero times). Admission
//! therefore follows the delivery rate: a slot frees when an event is delivered (or a webhook is
//! answered without being queued: a duplicate, an error). The queue's own check in
//! [`Queue::accept`] stays the final word (other writers, e.g. a dead-letter replay, or other
//! instances sharing a Redis queue): a `202` is still given only once the event is queued.
//!
//! The body stays unread, so an HTTP/1 refusal carries `Connection: close`; a client sending
//! `Expect: 100-continue` never sends it at all.

use std::fmt;
use std::sync::{Arc, Mutex};

use genhook_core::queue::{Queue, QueueError};
use genhook_dispatch::DispatchError;

use crate::queue::memory::lock;

/// The webhooks admitted and not answered yet: each holds one queue slot.
#[derive(Debug, Default)]
pub(super) struct Door {
    admitted: Mutex<usize>,
}

impl Door {
    /// Admits one webhook, or says why the queue cannot take it now.
    pub(super) fn admit(
        self: &Arc<Self>,
        queue: &dyn Queue,
        shutting_down: bool,
    ) -> Result<QueueSlot, DispatchError> {
        if shutting_down {
            return Err(DispatchError::ShuttingDown);
        }
        if !queue.is_available() {
            let cause = queue
                .unavailable_reason()
                .unwrap_or_else(|| "queue store is unavailable".to_owned());
            return Err(DispatchError::Unavailable(QueueError::Unavailable(
                cause.into(),
            )));
        }
        let mut admitted = lock(&self.admitted);
        if !queue.has_room(*admitted) {
            return Err(DispatchError::QueueFull);
        }
        *admitted += 1;
        Ok(QueueSlot {
            door: Arc::clone(self),
        })
    }

    /// Webhooks admitted and not answered yet.
    pub(super) fn admitted(&self) -> usize {
        *lock(&self.admitted)
    }
}

/// One admitted webhook's queue slot, given back when dropped (once the webhook is answered).
#[must_use = "the slot is held only while the guard lives"]
pub struct QueueSlot {
    door: Arc<Door>,
}

impl fmt::Debug for QueueSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueSlot").finish_non_exhaustive()
    }
}

impl Drop for QueueSlot {
    fn drop(&mut self) {
        let mut admitted = lock(&self.door.admitted);
        *admitted = admitted.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::memory::MemoryQueue;

    #[test]
    fn slots_never_exceed_the_free_room_and_are_given_back() {
        let queue = MemoryQueue::new(3);
        let door = Arc::new(Door::default());
        let slots: Vec<_> = (0..3).map(|_| door.admit(&queue, false).unwrap()).collect();
        assert!(matches!(
            door.admit(&queue, false),
            Err(DispatchError::QueueFull)
        ));
        drop(slots);
        assert_eq!(door.admitted(), 0);
        assert!(door.admit(&queue, false).is_ok());
        assert!(matches!(
            door.admit(&queue, true),
            Err(DispatchError::ShuttingDown)
        ));
    }
}
