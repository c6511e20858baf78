//! In-test queue and de-duplication store: a `Mutex<Vec>` is enough here; the real backends are
//! tested in the `genhook` crate.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt};
use genhook_core::queue::{DedupStore, Event, Queue, QueueError};
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

/// A queue keeping events in vectors.
#[derive(Debug)]
pub struct TestQueue {
    pub mode: Mutex<Mode>,
    pub queued: Mutex<Vec<Event>>,
    pub dead: Mutex<Vec<Event>>,
}

impl TestQueue {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            mode: Mutex::new(Mode::Accept),
            queued: Mutex::new(Vec::new()),
            dead: Mutex::new(Vec::new()),
        })
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
    fn enqueue(&self, event: Event) -> BoxFuture<'_, Result<(), QueueError>> {
        async move {
            tokio::task::yield_now().await;
            self.push(&self.queued, event)
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

/// A de-duplication store over a set; `failing` makes every call fail with a storage error.
#[derive(Debug, Default)]
pub struct TestDedup {
    pub keys: Mutex<HashSet<String>>,
    pub claims: Mutex<Vec<(String, Duration)>>,
    pub releases: Mutex<Vec<String>>,
    pub failing: Mutex<bool>,
}

impl TestDedup {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn claims(&self) -> Vec<(String, Duration)> {
        self.claims.lock().unwrap().clone()
    }

    pub fn releases(&self) -> Vec<String> {
        self.releases.lock().unwrap().clone()
    }
}

impl DedupStore for TestDedup {
    fn claim(&self, key: &str, window: Duration) -> BoxFuture<'_, Result<bool, QueueError>> {
        let key = key.to_owned();
        async move {
            tokio::task::yield_now().await;
            if *self.failing.lock().unwrap() {
                return Err(QueueError::Storage("redis went away".into()));
            }
            self.claims.lock().unwrap().push((key.clone(), window));
            Ok(self.keys.lock().unwrap().insert(key))
        }
        .boxed()
    }
    fn release(&self, key: &str) -> BoxFuture<'_, Result<(), QueueError>> {
        let key = key.to_owned();
        async move {
            self.keys.lock().unwrap().remove(&key);
            self.releases.lock().unwrap().push(key);
            Ok(())
        }
        .boxed()
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
