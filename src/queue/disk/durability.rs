//! Which commits pay for an fsync of their own.
//!
//! Every commit that stores something a sender was answered for (an accepted event, a
//! de-duplication claim, a requeue's attempt count, a dead letter) is `Durability::Immediate`:
//! committed and synced before its caller hears of it. An acknowledgement (SL1 accepted the
//! alert: the event's row is removed) is not such a promise: if it is lost in a crash the event
//! is delivered once more, which the at-least-once contract allows. So a batch of nothing but
//! acknowledgements is committed without a sync (`Durability::None`), and made durable by the
//! next synced commit: the next accept, a batch [`ACK_SYNC_AFTER`] after the last sync, or the
//! writer going idle. A crash can therefore send SL1 again at most the alerts acknowledged in
//! the last [`ACK_SYNC_AFTER`] of a busy stretch; in exchange a draining backlog no longer costs
//! an fsync per batch of acknowledgements.

use std::time::{Duration, Instant};

use redb::{Database, Durability};

use super::ops::{Job, Op};

/// Acknowledgements are synced at least this often while they keep coming.
pub(super) const ACK_SYNC_AFTER: Duration = Duration::from_millis(50);

/// How a batch is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Commit {
    /// With an fsync before it returns (`Durability::Immediate`).
    Synced,
    /// Without one, made durable by the next synced commit (`Durability::None`).
    Unsynced,
}

impl Commit {
    /// redb's name for it.
    pub(super) fn durability(self) -> Durability {
        match self {
            Self::Synced => Durability::Immediate,
            Self::Unsynced => Durability::None,
        }
    }
}

/// What the writer knows of the syncs it owes.
#[derive(Debug)]
pub(super) struct AckSync {
    /// The events acknowledged by commits made since the last synced commit: a storage fault
    /// (which ends the store before it synced them) must have them written again.
    owed: Vec<u64>,
    last_sync: Instant,
}

impl Default for AckSync {
    fn default() -> Self {
        Self {
            owed: Vec::new(),
            last_sync: Instant::now(),
        }
    }
}

impl AckSync {
    /// How `batch` is to be committed.
    pub(super) fn commit(&self, batch: &[Job]) -> Commit {
        let acks_only = batch.iter().all(|(op, _)| matches!(op, Op::Remove { .. }));
        if acks_only && self.last_sync.elapsed() < ACK_SYNC_AFTER {
            Commit::Unsynced
        } else {
            Commit::Synced
        }
    }

    /// `batch` was committed so.
    pub(super) fn committed(&mut self, commit: Commit, batch: &[Job]) {
        if commit == Commit::Unsynced {
            self.owed
                .extend(batch.iter().filter_map(|(op, _)| match op {
                    Op::Remove { seq } => Some(*seq),
                    _ => None,
                }));
        } else {
            self.owed.clear();
            self.last_sync = Instant::now();
        }
    }

    /// The acknowledgements a storage fault ended unsynced, to be written again after it (the
    /// store reopened holds their events again).
    pub(super) fn unsynced(&mut self) -> impl Iterator<Item = Op> {
        std::mem::take(&mut self.owed)
            .into_iter()
            .map(|seq| Op::Remove { seq })
    }

    /// The writer is idle: syncs the acknowledgements committed without a sync, if any (an empty
    /// synced commit makes every earlier commit durable). Blocking.
    pub(super) fn settle(&mut self, db: &Database) -> Result<(), redb::Error> {
        if self.owed.is_empty() {
            return Ok(());
        }
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate);
        txn.commit()?;
        self.committed(Commit::Synced, &[]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    fn job(op: Op) -> Job {
        (op, oneshot::channel().0)
    }

    fn put() -> Op {
        Op::Put {
            seq: 1,
            bytes: vec![1],
        }
    }

    #[test]
    fn only_a_batch_of_acks_skips_the_sync_and_not_for_long() {
        let mut sync = AckSync::default();
        let acks = [job(Op::Remove { seq: 1 }), job(Op::Remove { seq: 2 })];
        let mixed = [job(Op::Remove { seq: 1 }), job(put())];
        assert_eq!(sync.commit(&acks), Commit::Unsynced);
        assert_eq!(sync.commit(&mixed), Commit::Synced);
        assert_eq!(sync.commit(&[job(put())]), Commit::Synced);
        sync.committed(Commit::Unsynced, &acks);
        assert_eq!(sync.owed, [1, 2]);
        sync.last_sync = Instant::now()
            .checked_sub(ACK_SYNC_AFTER)
            .unwrap_or_else(Instant::now);
        assert_eq!(
            sync.commit(&acks),
            Commit::Synced,
            "acks keep coming: synced every ACK_SYNC_AFTER"
        );
        sync.committed(Commit::Unsynced, &mixed[..1]);
        assert_eq!(sync.unsynced().count(), 3, "kept for a fault");
        assert!(sync.owed.is_empty());
        sync.committed(Commit::Unsynced, &acks);
        sync.committed(Commit::Synced, &mixed);
        assert!(sync.owed.is_empty());
    }
}
