//! `GET /admin/health` and the task that samples the series every minute.
//!
//! `200 {"sources": [{"source", "received", "delivered", "dead_lettered", "refused"}],
//! "queue": {"depth", "dead_letters"}, "sl1": {"circuit": "closed"|"open"|"half_open"|null,
//! "latency_p50_ms", "latency_p95_ms"}, "series": {"step_s": 60, "points": [{"t", "received",
//! "delivered", "refused", "dead_lettered", "queue_depth", "latency_p95_ms"}]}}`: counts since
//! start (refusals of an unknown source or token under the source `""`, so that no path's name
//! grows them); the series is the last hour, the current partial minute last. `circuit` is `null`
//! when alerts go to the outbox (no SL1).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use genhook_core::queue::{DeadLetters, Queue};
use genhook_core::Secret;
use serde_json::json;

use super::Health;
use crate::worker::{BreakerState, WorkerControl};

/// How often the series takes a point.
pub const STEP: Duration = Duration::from_secs(60);

/// What the route reads.
#[derive(Clone)]
pub struct HealthState {
    /// The numbers.
    pub health: Arc<Health>,
    /// The queue (its depth).
    pub queue: Arc<dyn Queue>,
    /// The dead letters (their count).
    pub dead_letters: Arc<dyn DeadLetters>,
    /// The workers (the breaker), once they run.
    pub workers: Arc<OnceLock<WorkerControl>>,
}

impl std::fmt::Debug for HealthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthState")
            .field("health", &self.health)
            .finish_non_exhaustive()
    }
}

/// The route (`/health`), to be merged into the admin router nested under `/admin`.
pub fn router(state: HealthState, token: Secret) -> Router {
    let routes = Router::new().route("/health", get(health));
    crate::admin::query::guarded(routes, token).with_state(state)
}

async fn health(State(state): State<HealthState>) -> Response {
    let depth = state.queue.depth();
    // A store that cannot count now (Redis restarting) shows `null`, not an error.
    let dead_letters = state.dead_letters.count().await.ok();
    let circuit = state
        .workers
        .get()
        .and_then(WorkerControl::breaker)
        .map(|breaker| match breaker.state() {
            BreakerState::Closed => "closed",
            BreakerState::HalfOpen => "half_open",
            BreakerState::Open => "open",
        });
    let (p50, p95) = state.health.latency();
    let sources: Vec<_> = state
        .health
        .sources()
        .into_iter()
        .map(|(source, c)| {
            json!({
                "source": source,
                "received": c.received,
                "delivered": c.delivered,
                "dead_lettered": c.dead_lettered,
                "refused": c.refused,
            })
        })
        .collect();
    Json(json!({
        "sources": sources,
        "queue": { "depth": depth, "dead_letters": dead_letters },
        "sl1": { "circuit": circuit, "latency_p50_ms": p50, "latency_p95_ms": p95 },
        "series": { "step_s": STEP.as_secs(), "points": state.health.series(depth) },
    }))
    .into_response()
}

/// Takes a point of the series every [`STEP`] until the task is dropped (`serve` starts it).
pub async fn sample_every_minute(health: Arc<Health>, queue: Arc<dyn Queue>) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + STEP, STEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        health.sample(queue.depth());
    }
}
