//! The adaptive in-flight limit against a real loopback SL1: deliveries overlap beyond
//! `max_worker_threads` up to `sl1_max_inflight`, the limit falls when SL1 is overloaded and
//! comes back, a reload caps it; every event delivered exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery_common;
mod support;

use std::time::Duration;

use delivery_common::{settings, spawn_pool, WAIT};
use genhook::worker::WorkerSettings;
use support::memory_queue::{test_event, MemoryQueue};
use support::sl1_mock::{Answer, Sl1Mock};

/// Waits (wall clock, polling) until `done` holds; panics with `what` after [`WAIT`].
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn push_events(queue: &MemoryQueue, prefix: &str, n: usize) {
    for i in 0..n {
        queue.push(test_event(
            &format!("{prefix}{i}"),
            "github",
            &format!("{prefix} {i}"),
        ));
    }
}

/// Every event was acknowledged once, none dead-lettered, and SL1 accepted each exactly once.
fn delivered_exactly_once(queue: &MemoryQueue, sl1: &Sl1Mock, sent: usize) {
    assert!(queue.dead().is_empty(), "nothing dead-lettered");
    let mut acked: Vec<String> = queue.acked().into_iter().map(|e| e.id).collect();
    acked.sort();
    acked.dedup();
    assert_eq!(acked.len(), sent, "every event acknowledged once");
    let mut accepted: Vec<String> = sl1
        .accepted()
        .iter()
        .map(|r| r.header("x-genhook-event-id").unwrap().to_owned())
        .collect();
    assert_eq!(accepted.len(), sent, "SL1 accepted as many alerts as sent");
    accepted.sort();
    accepted.dedup();
    assert_eq!(accepted.len(), sent, "and each event once");
}

/// SL1 answering in 100 ms with 500 events queued: more deliveries overlap than
/// `max_worker_threads` (where the limit starts), never more than `sl1_max_inflight`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_overlap_beyond_max_worker_threads_up_to_sl1_max_inflight() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::created().delay(Duration::from_millis(100)))
        .start()
        .await;
    let queue = MemoryQueue::new();
    let sent = 500;
    push_events(&queue, "a", sent);
    let settings = WorkerSettings {
        workers: 2,
        sl1_max_inflight: 16,
        ..settings(&sl1)
    };
    let pool = spawn_pool(settings, &queue);
    queue.wait_settled(sent, Duration::from_secs(60)).await;
    delivered_exactly_once(&queue, &sl1, sent);
    let most = sl1.max_in_flight();
    assert!(most > 2, "more than max_worker_threads at once: {most}");
    assert!(most <= 16, "never more than sl1_max_inflight: {most}");
    let limit = pool.inflight_limit();
    assert!(limit.limit() > 2 && limit.limit() <= 16, "{limit:?}");
    assert_eq!(limit.max(), 16);
    assert_eq!(pool.shutdown(Duration::from_secs(1)).await, 0);
}

/// SL1 overloaded (`overloaded` answers) while many deliveries are in flight: the limit falls,
/// and with it what SL1 sees in flight (the deliveries already started retry within it); once SL1
/// recovers, every event is delivered exactly once.
async fn overload_backs_off(overloaded: Answer) {
    let rtt = Duration::from_millis(50);
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::created().delay(rtt))
        .start()
        .await;
    let queue = MemoryQueue::new();
    let sent = 400;
    push_events(&queue, "o", sent);
    let settings = WorkerSettings {
        workers: 2,
        sl1_max_inflight: 32,
        // Retries go on through the overload; the breaker stays out of it (tested elsewhere).
        sl1_retry_attempts: 10_000,
        retry_backoff_base: Duration::from_millis(10),
        retry_backoff_max: Duration::from_millis(50),
        breaker_threshold: u32::MAX,
        ..settings(&sl1)
    };
    let pool = spawn_pool(settings, &queue);
    let limit = pool.inflight_limit();
    eventually("SL1 sees 8 at once", || sl1.max_in_flight() >= 8).await;
    let grown = sl1.max_in_flight();

    sl1.set_default(overloaded.clone().delay(rtt));
    eventually("the limit falls to 2", || limit.limit() <= 2).await;
    // The attempts started before the fall end within a round trip; then watch.
    tokio::time::sleep(rtt * 4).await;
    sl1.reset_max_in_flight();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let backed_off = sl1.max_in_flight();
    assert!(
        backed_off <= 2 && backed_off < grown,
        "{}: SL1 saw {backed_off} in flight (it saw {grown} before)",
        overloaded.status
    );
    assert!(sl1
        .requests()
        .iter()
        .any(|r| r.answer.status == overloaded.status));

    sl1.set_default(Answer::created().delay(rtt));
    queue.wait_settled(sent, Duration::from_secs(60)).await;
    delivered_exactly_once(&queue, &sl1, sent);
    assert_eq!(pool.shutdown(Duration::from_secs(1)).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl1_503_makes_the_limit_back_off_and_nothing_is_lost() {
    overload_backs_off(Answer::status(503)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl1_429_makes_the_limit_back_off_and_nothing_is_lost() {
    overload_backs_off(Answer::status(429)).await;
}

/// SL1 slowing down from 20 ms to 300 ms an answer makes the limit fall; back to 20 ms, every
/// event is delivered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slower_sl1_makes_the_limit_fall() {
    let fast = Answer::created().delay(Duration::from_millis(20));
    let sl1 = Sl1Mock::builder()
        .default_answer(fast.clone())
        .start()
        .await;
    let queue = MemoryQueue::new();
    let sent = 600;
    push_events(&queue, "s", sent);
    let settings = WorkerSettings {
        workers: 2,
        sl1_max_inflight: 64,
        ..settings(&sl1)
    };
    let pool = spawn_pool(settings, &queue);
    let limit = pool.inflight_limit();
    eventually("the limit grows to 10", || limit.limit() >= 10).await;

    sl1.set_default(Answer::created().delay(Duration::from_millis(300)));
    let before = limit.limit();
    eventually("the limit falls", || limit.limit() < before).await;

    sl1.set_default(fast);
    queue.wait_settled(sent, Duration::from_secs(60)).await;
    delivered_exactly_once(&queue, &sl1, sent);
    assert_eq!(pool.shutdown(Duration::from_secs(1)).await, 0);
}

/// A reload lowering `sl1_max_inflight` brings the limit down at once: SL1 then never sees more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_sl1_max_inflight_caps_the_limit() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::created().delay(Duration::from_millis(50)))
        .start()
        .await;
    let queue = MemoryQueue::new();
    let settings = WorkerSettings {
        workers: 8,
        ..settings(&sl1)
    };
    let pool = spawn_pool(settings.clone(), &queue);
    assert_eq!(
        pool.inflight_limit().limit(),
        8,
        "starts at max_worker_threads"
    );
    pool.control()
        .reconfigure(WorkerSettings {
            sl1_max_inflight: 3,
            ..settings
        })
        .unwrap();
    assert_eq!(pool.inflight_limit().limit(), 3);
    assert_eq!(pool.inflight_limit().max(), 3);
    push_events(&queue, "r", 60);
    queue.wait_settled(60, WAIT).await;
    let most = sl1.max_in_flight();
    assert!((2..=3).contains(&most), "{most}");
    pool.shutdown(Duration::from_secs(1)).await;
}
