//! Applying a batch of operations to the store in one write transaction, committed once
//! (synced or not, see `durability`): what the writer does with each batch, and what the
//! recovery does with the writes it kept through a storage fault.

use redb::{Database, ReadableTable};
use tokio::sync::oneshot;

use super::durability::Commit;
use super::ops::{Job, Op, Reply};
use super::store::{decode_dead, DEAD, DEAD_IDS, DEDUP, EVENTS};

/// Writes operations nobody waits for any more (those kept during a storage fault) in one
/// transaction; gives them back when it fails.
pub(super) fn write_kept(db: &Database, ops: Vec<Op>) -> Result<(), (Vec<Op>, redb::Error)> {
    let jobs: Vec<Job> = ops
        .into_iter()
        .map(|op| (op, oneshot::channel().0))
        .collect();
    match apply(db, &jobs, None, Commit::Synced) {
        Ok(_) => Ok(()),
        Err(error) => Err((jobs.into_iter().map(|(op, _)| op).collect(), error)),
    }
}

/// Applies a batch in one write transaction and commits it once, with an fsync unless it is
/// [`Commit::Unsynced`] (see `durability`). Answers each operation, and how many events were
/// stored.
pub(super) fn apply(
    db: &Database,
    batch: &[Job],
    sweep: Option<u64>,
    commit: Commit,
) -> Result<(Vec<Reply>, usize), redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(commit.durability());
    let mut replies = Vec::with_capacity(batch.len());
    let stored;
    {
        let mut tables = Tables {
            events: txn.open_table(EVENTS)?,
            dead: txn.open_table(DEAD)?,
            dead_ids: txn.open_table(DEAD_IDS)?,
            dedup: txn.open_table(DEDUP)?,
            stored: 0,
        };
        if let Some(now_ms) = sweep {
            tables.dedup.retain(|_, until| until > now_ms)?;
        }
        for (op, _) in batch {
            replies.push(tables.apply(op)?);
        }
        stored = tables.stored;
    }
    txn.commit()?;
    Ok((replies, stored))
}

/// The tables of one write transaction.
struct Tables<'txn> {
    events: redb::Table<'txn, u64, &'static [u8]>,
    dead: redb::Table<'txn, u64, &'static [u8]>,
    dead_ids: redb::Table<'txn, &'static str, u64>,
    dedup: redb::Table<'txn, &'static str, u64>,
    /// Events stored so far.
    stored: usize,
}

impl Tables<'_> {
    fn apply(&mut self, op: &Op) -> Result<Reply, redb::Error> {
        Ok(match op {
            Op::Put { seq, bytes } => {
                self.events.insert(*seq, bytes.as_slice())?;
                self.stored += 1;
                Reply::Done
            }
            Op::Remove { seq } => {
                self.events.remove(*seq)?;
                Reply::Done
            }
            Op::Dead {
                seq,
                dead_seq,
                id,
                bytes,
            } => {
                if let Some(seq) = seq {
                    self.events.remove(*seq)?;
                }
                self.dead.insert(*dead_seq, bytes.as_slice())?;
                self.dead_ids.insert(id.as_str(), *dead_seq)?;
                Reply::Done
            }
            Op::TakeDead { id } => {
                let seq = self.dead_ids.remove(id.as_str())?.map(|g| g.value());
                let letter = match seq {
                    Some(seq) => self
                        .dead
                        .remove(seq)?
                        .and_then(|bytes| decode_dead(bytes.value()))
                        .map(Box::new),
                    None => None,
                };
                Reply::Taken(letter)
            }
            Op::PurgeDead { filter } => {
                let mut budget = filter.limit.unwrap_or(usize::MAX);
                let mut doomed = Vec::new();
                for row in self.dead.iter()? {
                    if budget == 0 {
                        break;
                    }
                    let (key, value) = row?;
                    if let Some(letter) = decode_dead(value.value()) {
                        if filter.matches(&letter) {
                            doomed.push((key.value(), letter.event.id));
                            budget -= 1;
                        }
                    }
                }
                for (seq, id) in &doomed {
                    self.dead.remove(*seq)?;
                    self.dead_ids.remove(id.as_str())?;
                }
                Reply::Purged(doomed.len())
            }
            Op::Accept {
                key,
                now_ms,
                until_ms,
                then,
            } => {
                let taken = self
                    .dedup
                    .get(key.as_str())?
                    .is_some_and(|until| until.value() > *now_ms);
                if taken {
                    Reply::Duplicate
                } else {
                    self.dedup.insert(key.as_str(), *until_ms)?;
                    self.apply(then)?
                }
            }
        })
    }
}
