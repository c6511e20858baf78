//! A tiny in-memory [`Queue`] + [`DeadLetters`] for tests (the real backends are in
//! `genhook::queue`). FIFO, no priorities, no capacity limit; `requeue` delays use `tokio::time`,
//! so they follow a paused clock; claimed de-duplication keys never expire. It remembers what was
//! acked and dead-lettered for assertions.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use genhook::core::queue::{
    Accepted, Claim, DeadLetter, DeadLetterFilter, DeadLetters, Event, Priority, Queue, QueueError,
};
use genhook::core::AlertDefaults;
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, Default)]
struct Inner {
    ready: VecDeque<Event>,
    delayed: Vec<(Instant, Event)>,
    in_flight: Vec<Event>,
    dead: Vec<DeadLetter>,
    acked: Vec<Event>,
    requeues: usize,
    claimed: HashSet<String>,
    closed: bool,
}

impl Inner {
    fn promote_due(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.delayed.len() {
            if self.delayed[i].0 <= now {
                let (_, event) = self.delayed.remove(i);
                self.ready.push_back(event);
            } else {
                i += 1;
            }
        }
    }

    fn take_in_flight(&mut self, id: &str) -> Option<Event> {
        let at = self.in_flight.iter().position(|e| e.id == id)?;
        Some(self.in_flight.remove(at))
    }
}

/// The test queue. Share it as `Arc<MemoryQueue>`; it coerces to both `Arc<dyn Queue>` and
/// `Arc<dyn DeadLetters>`.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    inner: Mutex<Inner>,
    notify: Notify,
}

/// An event for tests: source `source`, event type `test`, the alert `message` at SL1 defaults.
pub fn test_event(id: &str, source: &str, message: &str) -> Event {
    Event {
        id: id.to_owned(),
        source: source.to_owned(),
        event: "test".to_owned(),
        delivery_id: Some(format!("delivery-{id}")),
        priority: Priority::Normal,
        received_at_ms: 0,
        alert: AlertDefaults::default().alert(message),
        render_error: None,
        headers: Vec::new(),
        body: Bytes::from_static(b"{}"),
        attempts: 0,
        last_error: None,
    }
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Adds an event at once (sync).
    pub fn push(&self, event: Event) {
        self.inner.lock().unwrap().ready.push_back(event);
        self.notify.notify_one();
    }

    /// Events acked so far.
    pub fn acked(&self) -> Vec<Event> {
        self.inner.lock().unwrap().acked.clone()
    }

    /// Events dead-lettered so far.
    pub fn dead(&self) -> Vec<Event> {
        let inner = self.inner.lock().unwrap();
        inner.dead.iter().map(|d| d.event.clone()).collect()
    }

    /// How many times `requeue` was called.
    pub fn requeues(&self) -> usize {
        self.inner.lock().unwrap().requeues
    }

    /// Waits (wall clock, polling) until `acked + dead-lettered >= n`; panics after `timeout`.
    pub async fn wait_settled(&self, n: usize, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let (acked, dead) = {
                let inner = self.inner.lock().unwrap();
                (inner.acked.len(), inner.dead.len())
            };
            if acked + dead >= n {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "queue: wanted {n} settled events, got {acked} acked + {dead} dead-lettered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Queue for MemoryQueue {
    fn accept(
        &self,
        event: Event,
        claim: Option<Claim>,
    ) -> BoxFuture<'_, Result<Accepted, QueueError>> {
        Box::pin(async move {
            let mut inner = self.inner.lock().unwrap();
            if inner.closed {
                return Err(QueueError::Closed);
            }
            if claim.is_some_and(|c| !inner.claimed.insert(c.key)) {
                return Ok(Accepted::Duplicate);
            }
            if event.render_error.is_some() {
                inner.dead.push(DeadLetter {
                    event,
                    dead_at_ms: 0,
                });
                return Ok(Accepted::DeadLettered);
            }
            drop(inner);
            self.push(event);
            Ok(Accepted::Queued)
        })
    }

    fn next(&self) -> BoxFuture<'_, Result<Option<Event>, QueueError>> {
        Box::pin(async move {
            loop {
                let notified = self.notify.notified();
                let wake_at = {
                    let mut inner = self.inner.lock().unwrap();
                    inner.promote_due(Instant::now());
                    if let Some(event) = inner.ready.pop_front() {
                        inner.in_flight.push(event.clone());
                        return Ok(Some(event));
                    }
                    if inner.closed && inner.delayed.is_empty() {
                        return Ok(None);
                    }
                    inner.delayed.iter().map(|(at, _)| *at).min()
                };
                match wake_at {
                    Some(at) => {
                        tokio::select! {
                            () = notified => {}
                            () = tokio::time::sleep_until(at) => {}
                        }
                    }
                    None => notified.await,
                }
            }
        })
    }

    fn ack(&self, event: &Event) -> BoxFuture<'_, Result<(), QueueError>> {
        let id = event.id.clone();
        Box::pin(async move {
            let mut inner = self.inner.lock().unwrap();
            let event = inner.take_in_flight(&id).ok_or(QueueError::NotFound)?;
            inner.acked.push(event);
            Ok(())
        })
    }

    fn requeue(&self, event: Event, delay: Duration) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            {
                let mut inner = self.inner.lock().unwrap();
                inner.take_in_flight(&event.id);
                inner.requeues += 1;
                inner.delayed.push((Instant::now() + delay, event));
            }
            self.notify.notify_one();
            Ok(())
        })
    }

    fn dead_letter(&self, event: Event) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let mut inner = self.inner.lock().unwrap();
            inner.take_in_flight(&event.id);
            inner.dead.push(DeadLetter {
                event,
                dead_at_ms: 0,
            });
            Ok(())
        })
    }

    fn depth(&self) -> usize {
        let inner = self.inner.lock().unwrap();
        inner.ready.len() + inner.delayed.len() + inner.in_flight.len()
    }

    fn capacity(&self) -> usize {
        usize::MAX
    }

    fn close(&self) {
        self.inner.lock().unwrap().closed = true;
        self.notify.notify_waiters();
    }

    fn backend(&self) -> &'static str {
        "test-memory"
    }
}

impl DeadLetters for MemoryQueue {
    fn list(
        &self,
        filter: &DeadLetterFilter,
    ) -> BoxFuture<'_, Result<Vec<DeadLetter>, QueueError>> {
        let filter = filter.clone();
        Box::pin(async move {
            let inner = self.inner.lock().unwrap();
            let letters = inner.dead.iter().filter(|d| filter.matches(d)).cloned();
            Ok(letters.take(filter.limit.unwrap_or(usize::MAX)).collect())
        })
    }

    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>> {
        let id = id.to_owned();
        Box::pin(async move {
            let inner = self.inner.lock().unwrap();
            Ok(inner.dead.iter().find(|d| d.event.id == id).cloned())
        })
    }

    fn take(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>> {
        let id = id.to_owned();
        Box::pin(async move {
            let mut inner = self.inner.lock().unwrap();
            let at = inner.dead.iter().position(|d| d.event.id == id);
            Ok(at.map(|at| inner.dead.remove(at)))
        })
    }

    fn purge(&self, filter: &DeadLetterFilter) -> BoxFuture<'_, Result<usize, QueueError>> {
        let filter = filter.clone();
        Box::pin(async move {
            let mut inner = self.inner.lock().unwrap();
            let before = inner.dead.len();
            inner.dead.retain(|d| !filter.matches(d));
            Ok(before - inner.dead.len())
        })
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, QueueError>> {
        Box::pin(async move { Ok(self.inner.lock().unwrap().dead.len()) })
    }
}
