//! [`Feed`]: the live feed of new record entries (a tokio broadcast channel) that
//! `GET /admin/stream` serves as server-sent events. The records publish to it
//! ([`Feed::publish`]); an entry is serialised only when someone is listening. It also
//! carries the [`Health`] counts the records add to.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::health::Health;

/// Entries a slow listener may fall behind by before it misses some.
const BUFFER: usize = 256;

/// One new entry: its kind (the SSE event name: `delivery`, `refused`) and its JSON.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    /// The SSE event name.
    pub kind: &'static str,
    /// The entry's JSON.
    pub data: Arc<str>,
}

/// The feed, and the [`Health`] counts the records add to. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Feed {
    tx: broadcast::Sender<FeedEvent>,
    health: Arc<Health>,
}

impl Default for Feed {
    fn default() -> Self {
        Self::new(Health::new())
    }
}

impl Feed {
    /// A feed whose records count into `health`.
    pub fn new(health: Arc<Health>) -> Self {
        Self {
            tx: broadcast::channel(BUFFER).0,
            health,
        }
    }

    /// The counts of `GET /admin/health`.
    pub fn health(&self) -> &Arc<Health> {
        &self.health
    }

    /// Publishes `entry` as `kind` to every listener (none: nothing is done).
    pub fn publish(&self, kind: &'static str, entry: &impl Serialize) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        if let Ok(json) = serde_json::to_string(entry) {
            let _ = self.tx.send(FeedEvent {
                kind,
                data: Arc::from(json),
            });
        }
    }

    /// A new listener, seeing what is published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<FeedEvent> {
        self.tx.subscribe()
    }
}
