//! The `memory` backend: bounded, prioritised, fast and **volatile**.
//!
//! Bounded by memory: the events it holds take at most `queue_max_bytes` (default 256 MiB), an
//! event counting its body, headers and strings ([`super::limits`]); `queue_max_size` bounds
//! their count too when set.
//!
//! Events live only in this process: a crash or a restart loses every event waiting or being
//! delivered, so a 202 from a memory-backed GenHook is a promise only while it runs. On
//! [`Queue::close`] it logs how many events it holds, which are dropped when the process exits.
//! Use it for tests and for throwaway set-ups; use `disk` or `redis` for anything that matters.
//!
//! The dead-letter queue ([`MemoryDeadLetters`]) and the de-duplication memory (a time-to-live per
//! key on tokio's clock, kept under the queue's lock so that a claim and its event are taken in
//! one step) are volatile too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use genhook_core::queue::{
    Accepted, Claim, DeadLetter, DeadLetterFilter, DeadLetters, Event, Queue, QueueError,
};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::limits::{memory_footprint, Limits};
use super::priority::Lanes;

/// Locks a mutex, taking over the data if a holder panicked (the state stays consistent: every
/// critical section here is panic-free and short).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct State {
    waiting: Lanes<Event>,
    /// Events handed out by `next`, with their footprint.
    leased: HashMap<String, u64>,
    delayed: usize,
    /// The footprint of every event held (waiting, delayed or leased).
    bytes: u64,
    closed: bool,
    claims: Claims,
}

impl State {
    fn depth(&self) -> usize {
        self.waiting.len() + self.leased.len() + self.delayed
    }

    /// An event leaves the queue (acknowledged, requeued, dead-lettered).
    fn release(&mut self, id: &str) {
        if let Some(size) = self.leased.remove(id) {
            self.bytes = self.bytes.saturating_sub(size);
        }
    }
}

/// Claimed de-duplication keys and when each expires (tokio's clock).
#[derive(Debug, Default)]
struct Claims {
    expiry: HashMap<String, Instant>,
    sweep_at: usize,
}

impl Claims {
    /// Whether `key` is claimed and not expired at `now`.
    fn taken(&mut self, key: &str, now: Instant) -> bool {
        if self.expiry.len() >= self.sweep_at {
            self.expiry.retain(|_, until| *until > now);
            self.sweep_at = (self.expiry.len() * 2).max(1024);
        }
        self.expiry.get(key).is_some_and(|until| *until > now)
    }
}

/// The in-memory queue.
#[derive(Debug)]
pub struct MemoryQueue {
    inner: Arc<Shared>,
    dead: Arc<MemoryDeadLetters>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    ready: Notify,
    limits: Limits,
}

impl Shared {
    /// Puts a delayed event back (its bytes are still counted).
    fn push(&self, event: Event) {
        lock(&self.state).waiting.push(event.priority, event);
        self.ready.notify_one();
    }
}

impl MemoryQueue {
    /// A queue holding at most `capacity` events (waiting, delayed or being delivered), and at
    /// most [`DEFAULT_MEMORY_MAX_BYTES`](super::limits::DEFAULT_MEMORY_MAX_BYTES) of them.
    pub fn new(capacity: usize) -> Self {
        Self::with_limits(Limits {
            max_events: capacity,
            max_bytes: super::limits::DEFAULT_MEMORY_MAX_BYTES,
        })
    }

    /// A queue within these bounds; an event's bytes are its memory footprint (about its body,
    /// headers and strings).
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            inner: Arc::new(Shared {
                state: Mutex::new(State::default()),
                ready: Notify::new(),
                limits,
            }),
            dead: Arc::new(MemoryDeadLetters::default()),
        }
    }

    /// Its dead-letter queue.
    pub fn dead_letters(&self) -> Arc<MemoryDeadLetters> {
        Arc::clone(&self.dead)
    }

    async fn next_event(&self) -> Option<Event> {
        loop {
            let notified = self.inner.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = lock(&self.inner.state);
                if let Some(event) = state.waiting.pop() {
                    state
                        .leased
                        .insert(event.id.clone(), memory_footprint(&event));
                    return Some(event);
                }
                if state.closed {
                    return None;
                }
            }
            notified.await;
        }
    }
}

impl Queue for MemoryQueue {
    fn accept(
        &self,
        event: Event,
        claim: Option<Claim>,
    ) -> BoxFuture<'_, Result<Accepted, QueueError>> {
        let now = Instant::now();
        let dead = event.render_error.is_some();
        let size = memory_footprint(&event);
        let result = {
            let mut state = lock(&self.inner.state);
            if state.closed {
                Err(QueueError::Closed)
            } else if !dead && !self.inner.limits.fits(state.depth(), state.bytes, size) {
                Err(QueueError::Full)
            } else if claim
                .as_ref()
                .is_some_and(|c| state.claims.taken(&c.key, now))
            {
                Ok(Accepted::Duplicate)
            } else {
                if let Some(claim) = claim {
                    state.claims.expiry.insert(claim.key, now + claim.window);
                }
                if dead {
                    // Under the queue's lock: a duplicate is answered only once the letter is in.
                    self.dead.insert(DeadLetter {
                        event,
                        dead_at_ms: super::now_ms(),
                    });
                    Ok(Accepted::DeadLettered)
                } else {
                    state.bytes += size;
                    state.waiting.push(event.priority, event);
                    Ok(Accepted::Queued)
                }
            }
        };
        if result.as_ref().is_ok_and(|a| *a == Accepted::Queued) {
            self.inner.ready.notify_one();
        }
        futures_util::future::ready(result).boxed()
    }

    fn next(&self) -> BoxFuture<'_, Result<Option<Event>, QueueError>> {
        async move { Ok(self.next_event().await) }.boxed()
    }

    fn ack(&self, event: &Event) -> BoxFuture<'_, Result<(), QueueError>> {
        lock(&self.inner.state).release(&event.id);
        futures_util::future::ready(Ok(())).boxed()
    }

    fn requeue(&self, event: Event, delay: Duration) -> BoxFuture<'_, Result<(), QueueError>> {
        {
            let mut state = lock(&self.inner.state);
            state.release(&event.id);
            // Counted again as it is now (its attempts and last error changed).
            state.bytes += memory_footprint(&event);
            if delay.is_zero() {
                state.waiting.push(event.priority, event);
                drop(state);
                self.inner.ready.notify_one();
                return futures_util::future::ready(Ok(())).boxed();
            }
            state.delayed += 1;
        }
        let shared = Arc::clone(&self.inner);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            lock(&shared.state).delayed -= 1;
            shared.push(event);
        });
        futures_util::future::ready(Ok(())).boxed()
    }

    fn dead_letter(&self, event: Event) -> BoxFuture<'_, Result<(), QueueError>> {
        lock(&self.inner.state).release(&event.id);
        self.dead.insert(DeadLetter {
            event,
            dead_at_ms: super::now_ms(),
        });
        futures_util::future::ready(Ok(())).boxed()
    }

    fn depth(&self) -> usize {
        lock(&self.inner.state).depth()
    }

    fn capacity(&self) -> usize {
        self.inner.limits.max_events
    }

    fn bytes(&self) -> u64 {
        lock(&self.inner.state).bytes
    }

    fn max_bytes(&self) -> u64 {
        self.inner.limits.max_bytes
    }

    /// Under one lock.
    fn has_room(&self, admitted: usize) -> bool {
        let state = lock(&self.inner.state);
        self.inner
            .limits
            .has_room(state.depth(), state.bytes, admitted)
    }

    fn close(&self) {
        let dropped = {
            let mut state = lock(&self.inner.state);
            state.closed = true;
            state.depth()
        };
        if dropped > 0 {
            tracing::warn!(
                backend = "memory",
                dropped,
                "Memory queue closed with undelivered events; they are lost when the process exits."
            );
        } else {
            tracing::info!(backend = "memory", "Memory queue closed empty.");
        }
        self.inner.ready.notify_waiters();
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

/// The in-memory dead-letter queue, oldest first.
#[derive(Debug, Default)]
pub struct MemoryDeadLetters {
    letters: Mutex<Vec<DeadLetter>>,
}

impl MemoryDeadLetters {
    /// Adds a dead letter.
    pub fn insert(&self, letter: DeadLetter) {
        lock(&self.letters).push(letter);
    }
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    futures_util::future::ready(value).boxed()
}

impl DeadLetters for MemoryDeadLetters {
    fn list(
        &self,
        filter: &DeadLetterFilter,
    ) -> BoxFuture<'_, Result<Vec<DeadLetter>, QueueError>> {
        let letters = lock(&self.letters);
        let found = letters
            .iter()
            .filter(|l| filter.matches(l))
            .take(filter.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect();
        ready(Ok(found))
    }

    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>> {
        let found = lock(&self.letters)
            .iter()
            .find(|l| l.event.id == id)
            .cloned();
        ready(Ok(found))
    }

    fn take(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>> {
        let mut letters = lock(&self.letters);
        let found = letters
            .iter()
            .position(|l| l.event.id == id)
            .map(|at| letters.remove(at));
        ready(Ok(found))
    }

    fn purge(&self, filter: &DeadLetterFilter) -> BoxFuture<'_, Result<usize, QueueError>> {
        let mut letters = lock(&self.letters);
        let mut budget = filter.limit.unwrap_or(usize::MAX);
        let before = letters.len();
        letters.retain(|l| {
            if budget > 0 && filter.matches(l) {
                budget -= 1;
                false
            } else {
                true
            }
        });
        ready(Ok(before - letters.len()))
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, QueueError>> {
        ready(Ok(lock(&self.letters).len()))
    }
}
