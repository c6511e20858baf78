//! In-test queue with its de-duplication keys: a `Mutex<Vec>` is enough here; the real backends
//! (and their atomic claim-and-store) are tested in the `genhook` crate.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt};
use genhook_core::queue::{Accepted, Claim, Event, Queue, QueueError};
use genhook_core::stage::{DeliveryId, EventType, Rendered, SourceName};
use genhook_core::WebhookRequest;

/// How the test queue answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    Full,
    Closed,
    Storage,
    Unavailable,
}

impl Mode {
    fn result(self) -> Result<(), QueueError> {
        match self {
            Mode::Accept => Ok(()),
            Mode::Full => Err(QueueError::Full),
            Mode::Closed => Err(QueueError::Closed),
            Mode::Storage => Err(QueueError::Storage(
                "disk /var/lib/genhook/queue.redb is corrupt".into(),
            )),
            Mode::Unavailable => Err(QueueError::Unavailable(
                "redis://:secret@10.0.0.5:6379: connection refused".into(),
            )),
        }
    }
}

/// A queue keeping events in vectors and claimed keys in a set (never expiring). In a mode
/// other than `Accept` it refuses everything and stores nothing, claims included.
#[derive(Debug)]
pub struct TestQueue {
    pub mode: Mutex<Mode>,
    pub queued: Mutex<Vec<Event>>,
    pub dead: Mutex<Vec<Event>>,
    pub keys: Mutex<HashSet<String>>,
    pub claims: Mutex<Vec<(String, Duration)>>,
}

impl TestQueue {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            mode: Mutex::new(Mode::Accept),
            queued: Mutex::new(Vec::new()),
            dead: Mutex::new(Vec::new()),
            keys: Mutex::new(HashSet::new()),
            claims: Mutex::new(Vec::new()),
        })
    }

    /// Every claim the queue was handed (key, window), refused ones included.
    pub fn claims(&self) -> Vec<(String, Duration)> {
        self.claims.lock().unwrap().clone()
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn queued(&self) -> Vec<Event> {
        self.queued.lock().unwrap().clone()
    }

    pub fn dead(&self) -> Vec<Event> {
        self.dead.lock().unwrap().clone()
    }

    fn push(&self, into: &Mutex<Vec<Event>>, event: Event) -> Result<(), QueueError> {
        let mode = *self.mode.lock().unwrap();
        mode.result()?;
        into.lock().unwrap().push(event);
        Ok(())
    }
}

impl Queue for TestQueue {
    fn accept(
        &self,
        event: Event,
        claim: Option<Claim>,
    ) -> BoxFuture<'_, Result<Accepted, QueueError>> {
        async move {
            tokio::task::yield_now().await;
            if let Some(claim) = claim {
                self.claims
                    .lock()
                    .unwrap()
                    .push((claim.key.clone(), claim.window));
                self.mode.lock().unwrap().result()?;
                if !self.keys.lock().unwrap().insert(claim.key) {
                    return Ok(Accepted::Duplicate);
                }
            }
            if event.render_error.is_some() {
                self.push(&self.dead, event)?;
                Ok(Accepted::DeadLettered)
            } else {
                self.push(&self.queued, event)?;
                Ok(Accepted::Queued)
            }
        }
        .boxed()
    }
    fn next(&self) -> BoxFuture<'_, Result<Option<Event>, QueueError>> {
        async { Ok(None) }.boxed()
    }
    fn ack(&self, _: &Event) -> BoxFuture<'_, Result<(), QueueError>> {
        async { Ok(()) }.boxed()
    }
    fn requeue(&self, _: Event, _: Duration) -> BoxFuture<'_, Result<(), QueueError>> {
        async { Ok(()) }.boxed()
    }
    fn dead_letter(&self, event: Event) -> BoxFuture<'_, Result<(), QueueError>> {
        async move {
            tokio::task::yield_now().await;
            self.push(&self.dead, event)
        }
        .boxed()
    }
    fn depth(&self) -> usize {
        self.queued.lock().unwrap().len()
    }
    fn capacity(&self) -> usize {
        usize::MAX
    }
    fn close(&self) {
        self.set_mode(Mode::Closed);
    }
    fn backend(&self) -> &'static str {
        "test"
    }
}

/// A request as `identify` and `template` leave it.
pub struct TestRequest {
    request: WebhookRequest,
}

impl TestRequest {
    pub fn github() -> Self {
        let mut request = WebhookRequest::new(Bytes::from_static(br#"{"action":"opened"}"#));
        request.extensions_mut().insert(SourceName::new("github"));
        request
            .extensions_mut()
            .insert(EventType::new("pull_request"));
        request
            .extensions_mut()
            .insert(Rendered::new("GitHub opened on genhook"));
        Self { request }
    }

    pub fn delivery(mut self, id: &str) -> Self {
        self.request.extensions_mut().insert(DeliveryId::new(id));
        self
    }

    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.request.headers_mut().append(
            http::HeaderName::from_static(name),
            http::HeaderValue::from_static(value),
        );
        self
    }

    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.request.extensions_mut().insert(value);
        self
    }

    pub fn without<T: Clone + Send + Sync + 'static>(mut self) -> Self {
        self.request.extensions_mut().remove::<T>();
        self
    }

    pub fn build(self) -> WebhookRequest {
        self.request
    }
}

/// The JSON body of a response.
pub fn body(response: &genhook_core::WebhookResponse) -> serde_json::Value {
    serde_json::from_slice(response.body()).unwrap()
}
