//! [`AppState`]: what the routes share — the current [`Stacks`] snapshot (swapped whole on
//! reload), the queue (for readiness), the shutdown flag, the count of webhooks inside the
//! pipeline (so shutdown can let them finish before the queue drains), the [`Door`] that admits
//! them only while the queue can take them, the metrics handle, `max_body_size` and the budget of
//! body bytes in flight (both changeable at reload), the record of refused requests, and the
//! counts of `GET /admin/health`.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use genhook_core::queue::Queue;
use genhook_dispatch::DispatchError;
use metrics_exporter_prometheus::PrometheusHandle;

use super::body::BodyBudget;
use super::door::{Door, QueueSlot};
use crate::health::Health;
use crate::refused::RefusedLog;
use crate::stack::Stacks;

/// Shared state of the HTTP routes. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    stacks: ArcSwap<Stacks>,
    queue: Arc<dyn Queue>,
    shutting_down: AtomicBool,
    webhooks_in_flight: AtomicUsize,
    door: Arc<Door>,
    metrics: Option<PrometheusHandle>,
    max_body_size: AtomicUsize,
    body_budget: BodyBudget,
    refused: Arc<RefusedLog>,
    health: Arc<Health>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("queue", &self.inner.queue)
            .field("shutting_down", &self.is_shutting_down())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over the first snapshot of stacks; `max_inflight_body_bytes` starts the
    /// [`BodyBudget`].
    pub fn new(
        stacks: Stacks,
        queue: Arc<dyn Queue>,
        metrics: Option<PrometheusHandle>,
        max_body_size: usize,
        max_inflight_body_bytes: u64,
        refused: Arc<RefusedLog>,
        health: Arc<Health>,
    ) -> Self {
        Self {
            inner: Arc::new(Shared {
                stacks: ArcSwap::from_pointee(stacks),
                queue,
                shutting_down: AtomicBool::new(false),
                webhooks_in_flight: AtomicUsize::new(0),
                door: Arc::default(),
                metrics,
                max_body_size: AtomicUsize::new(max_body_size),
                body_budget: BodyBudget::new(max_inflight_body_bytes),
                refused,
                health,
            }),
        }
    }

    /// The record of refused requests.
    pub fn refused(&self) -> &Arc<RefusedLog> {
        &self.inner.refused
    }

    /// The counts of `GET /admin/health`.
    pub fn health(&self) -> &Arc<Health> {
        &self.inner.health
    }

    /// The current snapshot (lock-free read).
    pub fn stacks(&self) -> Arc<Stacks> {
        self.inner.stacks.load_full()
    }

    /// Replaces the snapshot (reload).
    pub fn replace_stacks(&self, stacks: Stacks) {
        self.inner.stacks.store(Arc::new(stacks));
    }

    /// The queue.
    pub fn queue(&self) -> &Arc<dyn Queue> {
        &self.inner.queue
    }

    /// Marks the service as shutting down: `/readyz` turns 503, new webhooks get 503.
    pub fn begin_shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::SeqCst)
    }

    /// Admits a webhook into the pipeline before its body is read (see the `door` module): refused
    /// once shutdown has begun, while the queue's storage is unavailable, or when the queue has no
    /// free slot, with the dispatch stage's reason. The webhook counts as in flight, and holds its
    /// queue slot, until the returned guard is dropped. (Counted before the flag is read, so a
    /// webhook either sees the flag or is waited for by [`AppState::wait_webhooks_done`].)
    ///
    /// # Errors
    /// [`DispatchError::ShuttingDown`], [`DispatchError::Unavailable`], [`DispatchError::QueueFull`].
    pub fn admit_webhook(&self) -> Result<WebhookInFlight, DispatchError> {
        self.inner.webhooks_in_flight.fetch_add(1, Ordering::SeqCst);
        let counted = Counted {
            state: self.inner.clone(),
        };
        let slot = self
            .inner
            .door
            .admit(&*self.inner.queue, self.is_shutting_down())?;
        Ok(WebhookInFlight {
            _slot: slot,
            _counted: counted,
        })
    }

    /// Webhooks admitted at the door and not answered yet (each holds a queue slot).
    pub fn webhooks_admitted(&self) -> usize {
        self.inner.door.admitted()
    }

    /// How many webhooks are inside the pipeline now.
    pub fn webhooks_in_flight(&self) -> usize {
        self.inner.webhooks_in_flight.load(Ordering::SeqCst)
    }

    /// Waits until no webhook is inside the pipeline, for at most `limit`; whether none is.
    pub async fn wait_webhooks_done(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.webhooks_in_flight() == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Whether the service takes webhooks: not shutting down, the queue's store reachable and the
    /// queue not full.
    pub fn is_ready(&self) -> bool {
        !self.is_shutting_down() && self.inner.queue.is_available() && self.inner.queue.has_room(0)
    }

    /// The Prometheus handle, when metrics are on.
    pub fn metrics(&self) -> Option<&PrometheusHandle> {
        self.inner.metrics.as_ref()
    }

    /// The largest body accepted.
    pub fn max_body_size(&self) -> usize {
        self.inner.max_body_size.load(Ordering::Relaxed)
    }

    /// Changes the largest body accepted (reload); requests already reading keep their limit.
    pub fn set_max_body_size(&self, max_body_size: usize) {
        self.inner
            .max_body_size
            .store(max_body_size, Ordering::Relaxed);
    }

    /// The body bytes the requests in flight may hold together (`max_inflight_body_bytes`;
    /// its limit changes at reload).
    pub fn body_budget(&self) -> &BodyBudget {
        &self.inner.body_budget
    }
}

/// A webhook inside the pipeline (see [`AppState::admit_webhook`]): counted, and holding its
/// queue slot, until dropped.
#[must_use = "the webhook counts as in flight only while the guard lives"]
pub struct WebhookInFlight {
    // Dropped in this order: the slot, then the count shutdown waits for.
    _slot: QueueSlot,
    _counted: Counted,
}

impl fmt::Debug for WebhookInFlight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookInFlight").finish_non_exhaustive()
    }
}

/// One count in `webhooks_in_flight`, taken back when dropped.
struct Counted {
    state: Arc<Shared>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.state.webhooks_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}
