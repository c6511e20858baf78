//! Shared helpers of the delivery tests (`delivery*.rs`): worker settings against an SL1 mock,
//! a pool over a test queue, the threading models to run, and one alert request.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use genhook::core::queue::{DeadLetters, Queue};
use genhook::core::AlertDefaults;
use genhook::worker::{self, Sl1Request, ThreadingModel, WorkerSettings};

use crate::support::memory_queue::MemoryQueue;
use crate::support::sl1_mock::Sl1Mock;

/// One alert of the `github` source, event `ev-1`.
pub fn request() -> Sl1Request {
    Sl1Request::new(AlertDefaults::default().alert("hello"), "ev-1", "github")
}

pub fn settings(sl1: &Sl1Mock) -> WorkerSettings {
    WorkerSettings {
        sl1_api_url: Some(sl1.url()),
        sl1_username: "em7admin".into(),
        sl1_password: "s3cret:with:colons".into(),
        sl1_timeout: Duration::from_secs(5),
        sl1_retry_attempts: 3,
        retry_backoff_base: Duration::from_millis(20),
        retry_backoff_max: Duration::from_millis(200),
        breaker_threshold: 5,
        breaker_cooldown: Duration::from_millis(300),
        workers: 2,
        dlq_alert_threshold: 0,
        ..WorkerSettings::default()
    }
}

pub fn spawn_pool(settings: WorkerSettings, queue: &Arc<MemoryQueue>) -> worker::WorkerPool {
    let q: Arc<dyn Queue> = Arc::clone(queue) as Arc<dyn Queue>;
    let dlq: Arc<dyn DeadLetters> = Arc::clone(queue) as Arc<dyn DeadLetters>;
    worker::spawn(settings, q, dlq, tokio::runtime::Handle::current()).unwrap()
}

pub const WAIT: Duration = Duration::from_secs(15);

/// The models that run on a multi-thread runtime (`async` needs its own: see
/// `each_threading_model_delivers_the_same_events`); every one delivers through the same stack.
pub const MODELS: [ThreadingModel; 2] = [ThreadingModel::Hybrid, ThreadingModel::ThreadPool];

pub fn with_model(sl1: &Sl1Mock, model: ThreadingModel) -> WorkerSettings {
    WorkerSettings {
        threading: model,
        ..settings(sl1)
    }
}
