//! `next`: the disk queue hands out an event kept in memory since its commit, or reads a batch
//! of waiting events from the store in one read transaction (see `hot`).

use std::sync::Arc;
use std::time::Duration;

use genhook_core::queue::{Event, QueueError};

use super::hot::{Ahead, READ_AHEAD};
use super::state::State;
use super::{store, DiskQueue, Inner};
use crate::queue::memory::lock;

impl DiskQueue {
    /// Takes in the events of a commit that reported a storage failure but that the reopened
    /// store holds: they are delivered like any other (their senders were answered 503 and may
    /// send them again: at-least-once).
    async fn adopt_landed(&self) {
        for seq in self.inner.store.take_landed() {
            let found = self
                .inner
                .blocking(move |db| store::get_event(db, seq))
                .await;
            match found {
                Ok(Some((event, size))) => {
                    let mut state = lock(&self.inner.state);
                    if state.ids.contains_key(&event.id) || state.ids.values().any(|s| *s == seq) {
                        continue;
                    }
                    tracing::info!(backend = "disk", event_id = %event.id, "An event whose commit failed was found in the reopened store; it is delivered.");
                    state.hold(seq, size);
                    state.ids.insert(event.id, seq);
                    state.waiting.push(event.priority, seq);
                    drop(state);
                    self.inner.ready.notify_one();
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(backend = "disk", seq, %error, "An event whose commit failed could not be read; it stays in the store for the next start.");
                }
            }
        }
    }

    pub(super) async fn next_event(&self) -> Result<Option<Event>, QueueError> {
        loop {
            // Nothing can be read while a storage fault keeps the store closed; a queue closed
            // meanwhile ends (what it holds stays in the store for the next start).
            if self.inner.store.fault().is_some() {
                let woken = self.inner.ready.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                if lock(&self.inner.state).closed {
                    return Ok(None);
                }
                tokio::select! {
                    () = self.inner.store.healthy() => {}
                    () = woken => continue,
                }
            }
            self.adopt_landed().await;
            let notified = self.inner.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let read_done = self.inner.read_done.notified();
            tokio::pin!(read_done);
            read_done.as_mut().enable();
            let batch = {
                let mut state = lock(&self.inner.state);
                if let Some(event) = state.ahead.pop_front() {
                    return Ok(Some(event));
                }
                if state.reading {
                    None
                } else {
                    Some(match state.waiting.pop_with_priority() {
                        Some((priority, seq)) => {
                            state.leased.insert(seq);
                            if let Some(event) = state.hot.take(seq) {
                                return Ok(Some(event));
                            }
                            state.reading = true;
                            read_ahead(&mut state, priority, seq)
                        }
                        None if state.closed => return Ok(None),
                        None => Vec::new(),
                    })
                }
            };
            let Some(batch) = batch else {
                read_done.await;
                continue;
            };
            if batch.is_empty() {
                tokio::select! {
                    () = notified => {}
                    () = self.inner.store.landed_ready.notified() => {}
                }
                continue;
            }
            // Read in a task of its own: if this future is dropped, what was read still waits
            // in `ahead` for the next call.
            let inner = Arc::clone(&self.inner);
            let reading = Reading(Arc::clone(&inner));
            let read = tokio::spawn(async move {
                let _reading = reading;
                let seqs = Ahead::to_read(&batch);
                let found = inner.blocking(move |db| store::get_events(db, &seqs)).await;
                inner.take_ahead(batch, found)
            });
            match read.await.map_err(|e| QueueError::Storage(Box::new(e)))? {
                Ok(()) => {}
                Err(QueueError::Unavailable(_)) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// Marks a read-ahead under way; its end (or the end of its task, whatever happened) lets the
/// callers of `next` waiting for it go on.
struct Reading(Arc<Inner>);

impl Drop for Reading {
    fn drop(&mut self) {
        lock(&self.0.state).reading = false;
        self.0.read_done.notify_waiters();
    }
}

/// Leases up to [`READ_AHEAD`] events, starting with `seq` (just taken, not kept in memory):
/// the batch one read of the store serves.
fn read_ahead(state: &mut State, priority: genhook_core::queue::Priority, seq: u64) -> Vec<Ahead> {
    let mut batch = vec![Ahead::Stored(priority, seq)];
    while batch.len() < READ_AHEAD {
        let Some((priority, seq)) = state.waiting.pop_with_priority() else {
            break;
        };
        state.leased.insert(seq);
        batch.push(match state.hot.take(seq) {
            Some(event) => Ahead::Kept(Box::new(event)),
            None => Ahead::Stored(priority, seq),
        });
    }
    batch
}

impl Inner {
    /// Files what a read-ahead found, in order, for `next` to hand out. An event the store no
    /// longer holds is forgotten; after a storage fault the events to read wait again; after any
    /// other read error they stay leased (and in the store, for the next start).
    fn take_ahead(
        &self,
        batch: Vec<Ahead>,
        found: Result<Vec<Option<(Event, u64)>>, QueueError>,
    ) -> Result<(), QueueError> {
        let mut state = lock(&self.state);
        let mut read = match found {
            Ok(read) => Ok(read.into_iter()),
            Err(error) => Err(error),
        };
        for ahead in batch {
            match (ahead, &mut read) {
                (Ahead::Kept(event), _) => state.ahead.push_back(*event),
                (Ahead::Stored(_, seq), Ok(read)) => match read.next().flatten() {
                    Some((event, _)) => state.ahead.push_back(event),
                    None => {
                        state.leased.remove(&seq);
                        state.ids.retain(|_, s| *s != seq);
                        state.forget(seq);
                    }
                },
                (Ahead::Stored(priority, seq), Err(QueueError::Unavailable(_))) => {
                    state.leased.remove(&seq);
                    state.waiting.push(priority, seq);
                }
                (Ahead::Stored(_, seq), Err(error)) => {
                    tracing::error!(backend = "disk", seq, %error, "Queued event could not be read; it stays in the store for the next start.");
                }
            }
        }
        drop(state);
        self.ready.notify_one();
        read.map(|_| ())
    }
}
