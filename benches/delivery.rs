//! The delivery rate against a slow SL1 (issue 9): `GENHOOK_BENCH_EVENTS` (5,000) events queued
//! before the pool starts, the loopback SL1 mock (`tests/support/sl1_mock.rs`) answering each
//! after `GENHOOK_BENCH_SL1_MS` (20) milliseconds, delivered by the worker pool (`hybrid`,
//! `max_worker_threads = 8`) in the same run with:
//!
//! | entry | settings | what it is |
//! |---|---|---|
//! | `fixed_8` | `sl1_max_inflight = 8` | the limit starts at 8 and cannot grow: the old pool of eight workers |
//! | `adaptive` | `sl1_max_inflight = 256` (the default) | the adaptive limit grows from 8 as SL1 keeps up |
//!
//! It prints alerts/s for each, the most requests SL1 saw at once, the limit at the end, and the
//! ratio `adaptive ÷ fixed_8`: read the ratio, the machine is small and shared. Not a criterion
//! bench (one run of `fixed_8` takes seconds); run with `cargo bench --bench delivery`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/support/memory_queue.rs"]
mod memory_queue;
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/support/sl1_mock.rs"]
mod sl1_mock;

use std::sync::Arc;
use std::time::{Duration, Instant};

use genhook::core::queue::{DeadLetters, Queue};
use genhook::worker::{self, WorkerSettings};
use memory_queue::{test_event, MemoryQueue};
use sl1_mock::{Answer, Sl1Mock};

#[allow(
    clippy::disallowed_methods,
    reason = "a bench's own input override, not service configuration"
)]
fn from_env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one entry measured.
struct Run {
    per_second: f64,
    most_at_sl1: usize,
    final_limit: usize,
}

async fn run(sl1: &Sl1Mock, events: usize, sl1_max_inflight: usize) -> Run {
    let queue = MemoryQueue::new();
    for n in 0..events {
        queue.push(test_event(
            &format!("b{n}"),
            "github",
            &format!("event {n}"),
        ));
    }
    let settings = WorkerSettings {
        sl1_api_url: Some(sl1.url()),
        workers: 8,
        sl1_max_inflight,
        dlq_alert_threshold: 0,
        ..WorkerSettings::default()
    };
    sl1.reset_max_in_flight();
    let q: Arc<dyn Queue> = Arc::clone(&queue) as Arc<dyn Queue>;
    let dlq: Arc<dyn DeadLetters> = Arc::clone(&queue) as Arc<dyn DeadLetters>;
    let started = Instant::now();
    let pool = worker::spawn(settings, q, dlq, tokio::runtime::Handle::current()).unwrap();
    queue.wait_settled(events, Duration::from_secs(3600)).await;
    let took = started.elapsed();
    assert_eq!(queue.acked().len(), events, "every event delivered");
    let final_limit = pool.inflight_limit().limit();
    pool.shutdown(Duration::from_secs(1)).await;
    Run {
        per_second: events as f64 / took.as_secs_f64(),
        most_at_sl1: sl1.max_in_flight(),
        final_limit,
    }
}

fn main() {
    let events = usize::try_from(from_env("GENHOOK_BENCH_EVENTS", 5_000)).unwrap();
    let delay = Duration::from_millis(from_env("GENHOOK_BENCH_SL1_MS", 20));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sl1 = Sl1Mock::builder()
            .default_answer(Answer::created().delay(delay))
            .start()
            .await;
        println!("delivery: {events} queued events, SL1 answering in {delay:?}");
        let mut rates = Vec::new();
        for (name, max) in [("fixed_8", 8), ("adaptive", 256)] {
            let run = run(&sl1, events, max).await;
            println!(
                "delivery/{name:<8} {:>8.0} alerts/s  (SL1 saw at most {} at once; limit at the end {})",
                run.per_second, run.most_at_sl1, run.final_limit
            );
            rates.push(run.per_second);
        }
        println!("delivery: adaptive / fixed_8 = {:.2}", rates[1] / rates[0]);
    });
}
