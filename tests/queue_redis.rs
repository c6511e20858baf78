//! The redis backend with several consumers on one group: sharing the work without duplicates,
//! and reclaiming what a crashed consumer left pending. Skipped (with a message) without Redis
//! at 127.0.0.1:6379, failing under CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod queue_common;

use std::collections::HashSet;
use std::time::Duration;

use genhook::core::queue::Priority;
use queue_common::{event, open, Kind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_share_the_work_without_duplicates() {
    let Some(a) = open(Kind::Redis, 10_000).await else {
        return;
    };
    let b = genhook::queue::open(&a.settings).await.unwrap();
    for i in 0..300 {
        a.backend
            .queue
            .enqueue(event(&format!("e{i}"), "s", "e", Priority::Normal))
            .await
            .unwrap();
    }
    let consume = |queue: std::sync::Arc<dyn genhook::core::queue::Queue>| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Ok(Ok(Some(e))) =
                tokio::time::timeout(Duration::from_millis(700), queue.next()).await
            {
                queue.ack(&e).await.unwrap();
                got.push(e.id);
                tokio::task::yield_now().await;
            }
            got
        })
    };
    let (ga, gb) = (consume(a.backend.queue.clone()), consume(b.queue.clone()));
    let (ga, gb) = (ga.await.unwrap(), gb.await.unwrap());
    let all: HashSet<_> = ga.iter().chain(&gb).cloned().collect();
    assert_eq!(ga.len() + gb.len(), 300, "no duplicates");
    assert_eq!(all.len(), 300, "none lost");
    assert!(
        !ga.is_empty() && !gb.is_empty(),
        "both consumers got work: {} / {}",
        ga.len(),
        gb.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_of_a_crashed_consumer_are_reclaimed_after_the_idle_timeout() {
    let Some(a) = open(Kind::Redis, 100).await else {
        return;
    };
    for i in 0..5 {
        a.backend
            .queue
            .enqueue(event(&format!("e{i}"), "s", "e", Priority::Normal))
            .await
            .unwrap();
    }
    // Consumer A reads everything (into its read-ahead) and "crashes" without acknowledging.
    let first = a.backend.queue.next().await.unwrap().unwrap();
    assert_eq!(first.id, "e0");
    drop(a.backend);

    let b = genhook::queue::open(&a.settings).await.unwrap();
    let mut got = HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while got.len() < 5 && tokio::time::Instant::now() < deadline {
        if let Ok(Ok(Some(e))) = tokio::time::timeout(Duration::from_secs(1), b.queue.next()).await
        {
            b.queue.ack(&e).await.unwrap();
            got.insert(e.id);
        }
    }
    let want: HashSet<_> = (0..5).map(|i| format!("e{i}")).collect();
    assert_eq!(
        got, want,
        "the survivor reclaimed every entry after redis_claim_idle"
    );
    assert_eq!(b.queue.depth(), 0);
}

/// An upgrade with events queued in Redis: an entry written by the previous version (the
/// event as JSON, the body base64-encoded) is delivered and acknowledged like a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_written_by_the_previous_version_is_delivered() {
    let Some(t) = open(Kind::Redis, 10_000).await else {
        return;
    };
    let mut old = event("old", "s", "e", Priority::Normal);
    old.body = bytes::Bytes::from_static(b"\x00\xffraw {body}");
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stream = format!("{}:queue:normal", t.prefix);
    let _: String = redis::cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("event")
        .arg(serde_json::to_string(&old).unwrap())
        .query_async(&mut conn)
        .await
        .unwrap();
    let q = &t.backend.queue;
    let got = tokio::time::timeout(Duration::from_secs(10), q.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(got, old);
    q.ack(&got).await.unwrap();
    let left: usize = redis::cmd("XLEN")
        .arg(&stream)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
    // The old entry was never counted: acknowledging it leaves the counter at zero, not below.
    let counted: Option<i64> = redis::cmd("GET")
        .arg(format!("{}:queue:bytes", t.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(counted.unwrap_or(0) == 0, "{counted:?}");
}
