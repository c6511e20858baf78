//! [`Limits`]: how much a queue holds before it answers `503 queue is full`.
//!
//! A queue is bounded by the **bytes** of the events it holds (`queue_max_bytes`), so a burst of
//! small webhooks is absorbed instead of refused at an arbitrary count, while a burst of large
//! ones cannot fill the disk, Redis' memory or the process' memory. The count bound
//! (`queue_max_size`) is optional and off by default.
//!
//! What counts as an event's bytes:
//!
//! - `disk` and `redis`: the length of its stored record ([`genhook_core::queue::record`]: the raw
//!   body plus its metadata as JSON), default bound [`DEFAULT_MAX_BYTES`] (1 GiB). Dead letters
//!   are not counted: they never stop the queue from taking webhooks.
//! - `memory`: an estimate of the memory it takes (the body, the headers, the strings and the
//!   event's own struct), default bound [`DEFAULT_MEMORY_MAX_BYTES`] (256 MiB: a quarter of the
//!   disk default, as the memory queue shares the process with everything else).
//!
//! An event is refused when the bytes held plus its own would pass the bound; a queue holding
//! nothing takes one event of any size, so an event larger than the bound is still accepted
//! once the queue has drained (never refused forever).

use genhook_core::queue::Event;

/// `queue_max_bytes`' default for the `memory` backend: 256 MiB.
pub use crate::config::defaults::MEMORY_QUEUE_MAX_BYTES as DEFAULT_MEMORY_MAX_BYTES;
/// `queue_max_bytes`' default for the `disk` and `redis` backends: 1 GiB.
pub use crate::config::defaults::QUEUE_MAX_BYTES as DEFAULT_MAX_BYTES;

/// The bounds of one queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `queue_max_size`: the most events held (`usize::MAX`: no count bound).
    pub max_events: usize,
    /// `queue_max_bytes`: the most bytes of events held.
    pub max_bytes: u64,
}

impl Limits {
    /// At most `max_events` events and the disk or redis default of bytes.
    pub fn events(max_events: usize) -> Self {
        Self {
            max_events,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    /// At most `max_bytes` bytes of events, with no count bound.
    pub fn bytes(max_bytes: u64) -> Self {
        Self {
            max_events: usize::MAX,
            max_bytes,
        }
    }

    /// Whether a queue holding `depth` events of `held` bytes may take one more of `size`
    /// bytes.
    pub fn fits(&self, depth: usize, held: u64, size: u64) -> bool {
        depth < self.max_events && (held == 0 || held.saturating_add(size) <= self.max_bytes)
    }

    /// Whether a queue holding `depth` events and `held` bytes has room for `admitted` more
    /// webhooks (admitted at the door, not yet accepted): the door's and `/readyz`'s question.
    pub fn has_room(&self, depth: usize, held: u64, admitted: usize) -> bool {
        depth.saturating_add(admitted) < self.max_events && held < self.max_bytes
    }
}

impl Default for Limits {
    /// No count bound, [`DEFAULT_MAX_BYTES`].
    fn default() -> Self {
        Self::bytes(DEFAULT_MAX_BYTES)
    }
}

/// What an event held by the memory queue takes in memory, about: its struct, its body and
/// every string it holds.
pub(crate) fn memory_footprint(event: &Event) -> u64 {
    let strings = [
        event.id.len(),
        event.source.len(),
        event.event.len(),
        event.delivery_id.as_ref().map_or(0, String::len),
        event.render_error.as_ref().map_or(0, String::len),
        event.last_error.as_ref().map_or(0, String::len),
        event.alert.message.len(),
        event.alert.force_ytype.len(),
        event.alert.force_yid.len(),
        event.alert.force_yname.len(),
        event.alert.value.len(),
        event.alert.threshold.len(),
        event.alert.message_time.len(),
        event.alert.aligned_resource.len(),
    ];
    let headers: usize = event
        .headers
        .iter()
        .map(|(name, value)| name.len() + value.len() + std::mem::size_of::<(String, String)>())
        .sum();
    let total =
        std::mem::size_of::<Event>() + event.body.len() + headers + strings.iter().sum::<usize>();
    u64::try_from(total).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_checks_the_count_and_the_bytes() {
        let limits = Limits {
            max_events: 3,
            max_bytes: 100,
        };
        assert!(limits.fits(0, 0, 10));
        assert!(limits.fits(2, 90, 10));
        assert!(!limits.fits(2, 91, 10), "past the bytes");
        assert!(!limits.fits(3, 0, 1), "past the count");
        assert!(
            limits.fits(0, 0, 1_000),
            "an empty queue takes one event of any size"
        );
        assert!(Limits::bytes(100).fits(1_000_000, 50, 50));
    }
}
