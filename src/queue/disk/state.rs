//! What the disk queue keeps in memory beside its store: the waiting lanes, the index of the
//! events held, their sizes (for `queue_max_bytes`), the leases, and the copies `next` hands out
//! without a read.

use std::collections::{HashMap, HashSet, VecDeque};

use genhook_core::queue::Event;

use super::hot::Hot;
use crate::queue::priority::Lanes;

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) waiting: Lanes<u64>,
    /// Every event held (waiting, delayed or leased): id to sequence number.
    pub(super) ids: HashMap<String, u64>,
    /// The stored size of every event held, by sequence number.
    pub(super) sizes: HashMap<u64, u64>,
    pub(super) leased: HashSet<u64>,
    /// Copies of events written recently, handed out by `next` without a read (see `hot`).
    pub(super) hot: Hot,
    /// Events leased and read ahead, waiting to be handed out by `next`, in order.
    pub(super) ahead: VecDeque<Event>,
    /// A read-ahead is under way: `next` waits for it rather than overtake it.
    pub(super) reading: bool,
    /// Enqueues being committed.
    pub(super) reserved: usize,
    /// Bytes of events held and of enqueues being committed.
    pub(super) bytes: u64,
    pub(super) closed: bool,
}

impl State {
    pub(super) fn depth(&self) -> usize {
        self.ids.len() + self.reserved
    }

    /// Event `seq` is held with a record of `size` bytes (replacing what it was counted as).
    pub(super) fn hold(&mut self, seq: u64, size: u64) {
        let before = self.sizes.insert(seq, size).unwrap_or(0);
        self.bytes = self.bytes.saturating_sub(before).saturating_add(size);
    }

    /// Event `seq` left the store.
    pub(super) fn forget(&mut self, seq: u64) {
        self.hot.take(seq);
        if let Some(size) = self.sizes.remove(&seq) {
            self.bytes = self.bytes.saturating_sub(size);
        }
    }
}
