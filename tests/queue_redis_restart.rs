//! The redis backend rides out a Redis restart. Each test runs its own `redis-server` child on a
//! free loopback port (AOF `appendfsync always`, no RDB snapshots), SIGKILLs it and starts it
//! again on the same port:
//!
//! - with its data kept: enqueue fails while Redis is away (`Unavailable`; over HTTP a `503` with
//!   `Retry-After`, never a `202`), works again within seconds of the restart without reopening
//!   the queue, and every event queued before the kill and after the restart is delivered once;
//! - empty (no persistence): the consumer group is recreated on `NOGROUP` and new events flow.
//!
//! Skipped with "skipped: no redis-server binary" when `redis-server` is missing; fails then
//! under CI=true.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

mod queue_common;
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use genhook::core::queue::{Priority, Queue, QueueError};
use genhook::queue::{Backend, QueueSettings};
use queue_common::{event, settings, Kind};
use support::redis_child::RedisChild;
use support::sl1_mock::{Answer, Sl1Mock};
use support::TestGenHook;
use tokio::time::Instant;

/// The queue on a [`RedisChild`].
trait ChildQueue {
    fn queue_settings(&self, queue_dir: &Path) -> QueueSettings;
    async fn open_backend(&self, queue_dir: &Path) -> Backend;
}

impl ChildQueue for RedisChild {
    /// Queue settings for the redis backend on this server, prefix `genhook`, with the queue's
    /// own files in `queue_dir`. `redis_claim_idle` is 60 s: long enough that nothing is
    /// reclaimed during a test, so each event must come once.
    fn queue_settings(&self, queue_dir: &Path) -> QueueSettings {
        let (mut settings, _) = settings(Kind::Redis, 10_000, queue_dir);
        settings.redis_url = self.url();
        settings.redis_prefix = "genhook".into();
        settings.redis_claim_idle = Duration::from_secs(60);
        settings
    }

    /// Opens the redis backend on this server with [`queue_settings`](Self::queue_settings).
    async fn open_backend(&self, queue_dir: &Path) -> Backend {
        genhook::queue::open(&self.queue_settings(queue_dir))
            .await
            .unwrap()
    }
}

/// How long anything may take to recover or settle here: generous, for a machine that stalls.
const LIMIT: Duration = Duration::from_secs(30);

/// How long [`drain`] waits for every event: under `redis_claim_idle` (60 s), so an event that
/// only XAUTOCLAIM would bring back does not come in time.
const DRAIN_LIMIT: Duration = Duration::from_secs(45);

/// Enqueues until Redis takes it again (at most [`LIMIT`]); how long that took.
async fn enqueue_until_back(queue: &dyn Queue, id: &str) -> Duration {
    let started = Instant::now();
    loop {
        match queue.enqueue(event(id, "s", "e", Priority::Normal)).await {
            Ok(()) => return started.elapsed(),
            Err(QueueError::Unavailable(_)) if started.elapsed() < LIMIT => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("enqueue did not work again after the restart: {error:?}"),
        }
    }
}

/// Takes and acknowledges events until every id in `want` came (at most [`DRAIN_LIMIT`]), then
/// keeps taking for another 500 ms so a duplicate would show; how often each id came.
async fn drain(queue: &dyn Queue, want: &[String]) -> HashMap<String, usize> {
    let mut got: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + DRAIN_LIMIT;
    let mut quiet_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if quiet_until.is_some_and(|until| now >= until) || now >= deadline {
            return got;
        }
        if let Ok(next) = tokio::time::timeout(Duration::from_millis(100), queue.next()).await {
            let event = next.unwrap().expect("the queue is open");
            queue.ack(&event).await.unwrap();
            *got.entry(event.id).or_default() += 1;
        }
        if quiet_until.is_none() && want.iter().all(|id| got.contains_key(id)) {
            quiet_until = Some(Instant::now() + Duration::from_millis(500));
        }
    }
}

/// How GenHook's alerts about itself begin (they are not webhooks).
const SELF_ALERT: &str = "GenHook: ";

/// Waits until SL1 received GenHook's own alert `message`.
async fn wait_for_self_alert(sl1: &Sl1Mock, message: &str) {
    let deadline = Instant::now() + LIMIT;
    while !sl1
        .accepted()
        .iter()
        .any(|r| r.message().is_some_and(|m| m.starts_with(message)))
    {
        assert!(
            Instant::now() < deadline,
            "no `{message}` alert reached SL1 within {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// The entries still in the three streams plus the entries pending in the group.
async fn left_in_redis(conn: &mut redis::aio::MultiplexedConnection) -> (usize, usize) {
    let mut len = 0;
    let mut pending = 0;
    for priority in ["high", "normal", "low"] {
        let stream = format!("genhook:queue:{priority}");
        len += redis::cmd("XLEN")
            .arg(&stream)
            .query_async::<usize>(conn)
            .await
            .unwrap();
        let summary: redis::Value = redis::cmd("XPENDING")
            .arg(&stream)
            .arg("genhook")
            .query_async(conn)
            .await
            .unwrap();
        if let redis::Value::Array(items) = summary {
            if let Some(redis::Value::Int(count)) = items.first() {
                pending += usize::try_from(*count).unwrap();
            }
        }
    }
    (len, pending)
}

/// Enqueues an event (normal priority) for each of `ids`.
async fn enqueue_all(queue: &dyn Queue, ids: &[String]) {
    for id in ids {
        queue
            .enqueue(event(id, "s", "e", Priority::Normal))
            .await
            .unwrap();
    }
}

/// Asserts that each of `want` came exactly once in `got` (how often each came), saying `what`
/// should have happened once.
fn assert_each_once(got: &HashMap<String, usize>, want: &[String], what: &str) {
    for id in want {
        assert_eq!(got.get(id), Some(&1), "{id:?} {what} exactly once: {got:?}");
    }
}

/// Waits at most [`LIMIT`] for the streams and the group's pending list to be empty: every
/// entry acknowledged and deleted.
async fn assert_redis_empties(conn: &mut redis::aio::MultiplexedConnection) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let left = left_in_redis(conn).await;
        if left == (0, 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "entries (in streams, pending) left in Redis after {LIMIT:?}: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enqueue_fails_while_redis_is_away_and_every_event_is_delivered_once_after_a_restart() {
    let Some(mut redis) = RedisChild::start(true).await else {
        return;
    };
    let queue_dir = tempfile::tempdir().unwrap();
    let backend = redis.open_backend(queue_dir.path()).await;
    let queue = Arc::clone(&backend.queue);

    let before = ids("before", 10);
    enqueue_all(&*queue, &before).await;
    // One event is being delivered when Redis goes away: its acknowledgement must still land.
    let in_flight = tokio::time::timeout(LIMIT, queue.next())
        .await
        .expect("an event")
        .unwrap()
        .unwrap();
    assert_eq!(in_flight.id, "before0");

    redis.kill();
    let refused = tokio::time::timeout(
        LIMIT,
        queue.enqueue(event("refused", "s", "e", Priority::Normal)),
    )
    .await
    .expect("enqueue fails (does not hang) while Redis is away");
    assert!(
        matches!(refused, Err(QueueError::Unavailable(_))),
        "enqueue while Redis is away is Unavailable (503), got {refused:?}"
    );
    // Acknowledging while Redis is away does not fail the worker; it is retried until Redis is back.
    queue.ack(&in_flight).await.unwrap();

    redis.restart().await;
    let took = enqueue_until_back(&*queue, "after0").await;
    println!("enqueue worked again {took:?} after Redis answered PING");
    let after = ids("after", 10);
    enqueue_all(&*queue, &after[1..]).await;

    let want: Vec<String> = before[1..].iter().chain(&after).cloned().collect();
    let got = drain(&*queue, &want).await;
    assert_each_once(&got, &want, "delivered");
    assert_eq!(got.len(), want.len(), "nothing else came: {got:?}");
    assert!(
        !got.contains_key("refused"),
        "the refused event was never stored"
    );
    assert!(
        !got.contains_key("before0"),
        "the event acknowledged while Redis was away did not come again"
    );

    // Every entry was acknowledged and deleted in Redis, the one acked during the outage too.
    assert_redis_empties(&mut redis.conn().await).await;
    assert_eq!(queue.depth(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_comes_back_empty_gets_its_group_recreated_and_new_events_flow() {
    let Some(mut redis) = RedisChild::start(false).await else {
        return;
    };
    let queue_dir = tempfile::tempdir().unwrap();
    let backend = redis.open_backend(queue_dir.path()).await;
    let queue = Arc::clone(&backend.queue);

    let old = ids("old", 1);
    enqueue_all(&*queue, &old).await;
    let got = drain(&*queue, &old).await;
    assert_eq!(got.get("old0"), Some(&1));

    redis.kill();
    redis.restart().await;
    let mut conn = redis.conn().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.is_empty(), "Redis came back empty: {keys:?}");

    enqueue_until_back(&*queue, "new0").await;
    let new = ids("new", 5);
    for (i, id) in new.iter().enumerate().skip(1) {
        let priority = [Priority::High, Priority::Normal, Priority::Low][i % 3];
        queue.enqueue(event(id, "s", "e", priority)).await.unwrap();
    }
    let got = drain(&*queue, &new).await;
    assert_each_once(&got, &new, "delivered");
    assert_eq!(got.len(), new.len(), "nothing else came: {got:?}");

    for priority in ["high", "normal", "low"] {
        let groups: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(format!("genhook:queue:{priority}"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(groups.len(), 1, "the group was recreated on {priority}");
    }
    assert_eq!(left_in_redis(&mut conn).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_get_503_with_retry_after_while_redis_is_away_and_every_202_reaches_sl1_once() {
    let Some(mut redis) = RedisChild::start(true).await else {
        return;
    };
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::created().delay(Duration::from_millis(20)))
        .start()
        .await;
    let genhook = TestGenHook::builder()
        .mapping("restart.ini", "restart: n::restart $n$\n")
        .sl1(&sl1.url())
        .set("queue_backend", "redis")
        .set("redis_url", redis.url())
        .set("redis_claim_idle", "60s")
        .start()
        .await;
    let post = |n: usize| {
        genhook.post(
            "/webhook/restart",
            &[("content-type", "application/json")],
            format!("{{\"n\": {n}}}"),
        )
    };

    let mut accepted = Vec::new();
    for n in 0..10 {
        let response = post(n).await;
        assert_eq!(response.status(), 202, "webhook {n} before the kill");
        accepted.push(n);
    }

    redis.kill();
    let response = tokio::time::timeout(LIMIT, post(100))
        .await
        .expect("an answer (not a hang) while Redis is away");
    assert_eq!(
        response.status(),
        503,
        "Redis away is 503, never 202 or 500"
    );
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":"queue is unavailable"}"#
    );
    // The readers notice within their poll interval: /readyz turns 503 so a load balancer
    // sends webhooks to another instance.
    let not_ready = Instant::now();
    loop {
        let ready = genhook.get("/readyz").await;
        if ready.status() == 503 {
            let body = ready.text().await.unwrap();
            assert!(
                body.contains("queue storage is unavailable: Redis is unreachable"),
                "{body}"
            );
            break;
        }
        assert!(
            not_ready.elapsed() < LIMIT,
            "/readyz still 200 {LIMIT:?} after Redis went away"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // GenHook tells SL1 about itself, straight (not through the queue it cannot reach).
    wait_for_self_alert(
        &sl1,
        "GenHook: queue storage unavailable: Redis is unreachable",
    )
    .await;

    redis.restart().await;
    let back = Instant::now();
    let mut n = 200;
    loop {
        let status = post(n).await.status();
        if status == 202 {
            accepted.push(n);
            break;
        }
        assert_eq!(status, 503, "webhook {n} right after the restart");
        assert!(
            back.elapsed() < LIMIT,
            "webhooks are still refused {LIMIT:?} after Redis came back"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Ready again once the readers reached Redis.
    let ready_deadline = Instant::now() + LIMIT;
    while genhook.get("/readyz").await.status() != 200 {
        assert!(
            Instant::now() < ready_deadline,
            "/readyz still 503 {LIMIT:?} after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_for_self_alert(&sl1, "GenHook: queue storage recovered").await;
    for n in 300..310 {
        let response = post(n).await;
        assert_eq!(response.status(), 202, "webhook {n} after the restart");
        accepted.push(n);
    }

    let want: Vec<String> = accepted.iter().map(|n| format!("restart {n}")).collect();
    let deadline = Instant::now() + DRAIN_LIMIT;
    let counts = loop {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for request in sl1.accepted() {
            if request.message().is_some_and(|m| m.starts_with(SELF_ALERT)) {
                continue;
            }
            *counts
                .entry(request.message().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
        if want.iter().all(|m| counts.contains_key(m)) || Instant::now() >= deadline {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_each_once(&counts, &want, "reached SL1");
    assert_eq!(
        counts.len(),
        want.len(),
        "only 202'd webhooks reached SL1: {counts:?}"
    );

    assert_redis_empties(&mut redis.conn().await).await;
    let (report, _dir) = genhook.shutdown().await;
    println!("shutdown: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_read_just_before_the_connection_dropped_are_handed_out_after_the_restart() {
    let Some(mut redis) = RedisChild::start(true).await else {
        return;
    };
    let queue_dir = tempfile::tempdir().unwrap();
    // Without the recovery these entries would only come back through XAUTOCLAIM, after
    // redis_claim_idle (60 s).
    let queue = genhook::queue::redis::RedisQueue::open(&redis.queue_settings(queue_dir.path()))
        .await
        .unwrap();
    let lost = ids("lost", 3);
    enqueue_all(&queue, &lost).await;
    // A read under this queue's consumer name whose answer never reached it: Redis counts the
    // entries as delivered to it (pending), the queue has never seen them.
    let mut conn = redis.conn().await;
    let read: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("genhook")
        .arg(queue.consumer())
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg("genhook:queue:normal")
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(read.keys.first().map_or(0, |k| k.ids.len()), 3);

    redis.kill();
    // A reader meets the outage (and nothing to hand out).
    let waited = tokio::time::timeout(Duration::from_millis(500), queue.next()).await;
    assert!(waited.is_err(), "nothing to take while Redis is away");

    redis.restart().await;
    let started = Instant::now();
    let got = drain(&queue, &lost).await;
    assert_each_once(&got, &lost, "handed out");
    let claim_idle = redis.queue_settings(queue_dir.path()).redis_claim_idle;
    assert!(
        started.elapsed() < claim_idle,
        "handed out after the restart, not after redis_claim_idle: {:?}",
        started.elapsed()
    );
}
