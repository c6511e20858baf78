//! What a redis queue keeps in memory: the entries read and not yet handed out, the leases of
//! those handed out (stream and entry id, to acknowledge them), and the rules that keep a reread
//! of pending entries from handing out again one that was settled meanwhile.

use std::collections::{HashMap, HashSet};

use genhook_core::queue::Event;

use crate::queue::priority::Lanes;

/// One entry read from a stream and not yet acknowledged.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) stream: String,
    pub(super) id: String,
    pub(super) event: Event,
    /// Its record's bytes, counted in `{prefix}:queue:bytes`.
    pub(super) size: u64,
}
/// Where a leased event's entry is: its stream, its id, and its size.
#[derive(Debug, Clone)]
pub(super) struct Lease {
    pub(super) stream: String,
    pub(super) id: String,
    pub(super) size: u64,
}
/// An entry the settle script appends: to which stream, the size it counts (0: not counted),
/// its fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Append<'a> {
    pub(super) stream: &'a str,
    pub(super) size: u64,
    pub(super) fields: &'a [(&'a str, &'a [u8])],
}
impl Lease {
    pub(super) fn key(&self) -> (String, String) {
        (self.stream.clone(), self.id.clone())
    }
}
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) local: Lanes<Entry>,
    /// Event id to the entry of what `next` handed out.
    pub(super) leased: HashMap<String, Lease>,
    /// (stream, entry id) of every entry this process read and has not finished with yet (in
    /// `local`, handed out, being requeued or acknowledged): read again (its own pending entries
    /// after an outage, `XAUTOCLAIM`), it is not handed out twice.
    pub(super) held: HashSet<(String, String)>,
    /// While a read of pending entries is on its way (this consumer's own after an outage,
    /// `XAUTOCLAIM`): the entries let go of meanwhile. Redis may have answered that read before
    /// their acknowledgement landed; handed out again they would reach SL1 twice.
    pub(super) let_go_while_rereading: Option<HashSet<(String, String)>>,
    pub(super) closed: bool,
}
impl State {
    /// Adds entries to the local lanes, but those this process holds already and, when
    /// `rereading`, those let go of since the read was sent; how many were added.
    pub(super) fn push(&mut self, entries: Vec<Entry>, rereading: bool) -> usize {
        let skip = if rereading {
            self.let_go_while_rereading.take().unwrap_or_default()
        } else {
            HashSet::new()
        };
        let mut pushed = 0;
        for entry in entries {
            let key = (entry.stream.clone(), entry.id.clone());
            if !skip.contains(&key) && self.held.insert(key) {
                self.local.push(entry.event.priority, entry);
                pushed += 1;
            }
        }
        pushed
    }

    /// A read of pending entries is about to be sent.
    pub(super) fn reread_starts(&mut self) {
        self.let_go_while_rereading = Some(HashSet::new());
    }

    /// The read of pending entries failed: nothing to filter any more.
    pub(super) fn reread_failed(&mut self) {
        self.let_go_while_rereading = None;
    }

    /// This process is done with an entry.
    pub(super) fn let_go(&mut self, lease: &(String, String)) {
        self.held.remove(lease);
        if let Some(let_go) = &mut self.let_go_while_rereading {
            let_go.insert(lease.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genhook_core::queue::Priority;

    fn entry(id: &str) -> Entry {
        Entry {
            stream: "genhook:queue:normal".into(),
            id: id.into(),
            event: Event {
                id: format!("event-{id}"),
                source: "s".into(),
                event: "e".into(),
                delivery_id: None,
                priority: Priority::Normal,
                received_at_ms: 0,
                alert: genhook_core::AlertDefaults::default().alert(id.to_owned()),
                render_error: None,
                headers: vec![],
                body: bytes::Bytes::new(),
                attempts: 0,
                last_error: None,
            },
            size: 0,
        }
    }

    fn key(id: &str) -> (String, String) {
        ("genhook:queue:normal".into(), id.into())
    }

    #[test]
    fn an_entry_acknowledged_while_a_reread_was_on_its_way_is_not_handed_out_again() {
        let mut state = State::default();
        assert_eq!(state.push(vec![entry("1-0"), entry("2-0")], false), 2);
        // Recovery after an outage sends `XREADGROUP … 0`; Redis answers with both entries,
        // still pending, while a worker acknowledges 1-0 (XACK lands after the read).
        state.reread_starts();
        state.let_go(&key("1-0"));
        let pushed = state.push(vec![entry("1-0"), entry("2-0"), entry("3-0")], true);
        assert_eq!(
            pushed, 1,
            "only 3-0 is new: 1-0 was let go during the read, 2-0 is held"
        );
        assert!(!state.held.contains(&key("1-0")));
        assert!(
            state.let_go_while_rereading.is_none(),
            "the note ends with the read"
        );

        // Let go of outside a reread, an entry read again later (still pending after a failed
        // acknowledgement) is handed out again.
        state.let_go(&key("2-0"));
        assert_eq!(state.push(vec![entry("2-0")], true), 1);
    }

    #[test]
    fn a_failed_reread_stops_noting() {
        let mut state = State::default();
        state.reread_starts();
        state.reread_failed();
        state.let_go(&key("1-0"));
        assert!(state.let_go_while_rereading.is_none());
    }
}
