//! The delivery loops over the Redis queue while the adaptive limit rises and falls: a loop
//! waiting for an event keeps waiting through a lowered limit (a Redis read cut short would
//! leave its entries pending until `redis_claim_idle`, a minute here), so every event arriving
//! before, during and after an SL1 overload reaches SL1 within seconds, exactly once. Real
//! Redis, real loopback SL1 mock; skipped (with a message) without Redis, failing under CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery_common;
mod queue_common;
mod support;

use std::collections::HashSet;
use std::time::Duration;

use delivery_common::{settings, WAIT};
use genhook::core::queue::Priority;
use genhook::worker::WorkerSettings;
use queue_common::{event, open, Kind};
use support::sl1_mock::Sl1Mock;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_falling_limit_leaves_no_redis_entry_pending() {
    let Some(opened) = open(Kind::Redis, 10_000).await else {
        return;
    };
    // A stranded entry would wait a minute for XAUTOCLAIM: far beyond the test's wait.
    let mut queue_settings = opened.settings.clone();
    queue_settings.redis_claim_idle = Duration::from_secs(60);
    let backend = genhook::queue::open(&queue_settings).await.unwrap();
    let queue = backend.queue;

    let sl1 = Sl1Mock::start().await;
    // Many delivery loops, most of them waiting for an event (SL1 answers at once).
    let wide = WorkerSettings {
        workers: 64,
        sl1_max_inflight: 64,
        ..settings(&sl1)
    };
    let narrow = WorkerSettings {
        sl1_max_inflight: 1,
        ..wide.clone()
    };
    let pool = genhook::worker::spawn(
        wide.clone(),
        queue.clone(),
        backend.dead_letters,
        tokio::runtime::Handle::current(),
    )
    .unwrap();
    let control = pool.control();
    let sent = 600;
    let sender = {
        let queue = queue.clone();
        tokio::spawn(async move {
            for i in 0..sent {
                let e = event(&format!("r{i}"), "github", "push", Priority::Normal);
                queue.enqueue(e).await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    // The limit falls and rises again and again (as a reload of sl1_max_inflight does it)
    // while events trickle in and the loops wait for them.
    while !sender.is_finished() {
        control.reconfigure(narrow.clone()).unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        control.reconfigure(wide.clone()).unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sender.await.unwrap();

    let accepted = sl1.wait_for_accepted(sent, WAIT).await;
    let ids: Vec<&str> = accepted
        .iter()
        .filter_map(|r| r.header("x-genhook-event-id"))
        .collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), sent, "every event reached SL1");
    assert_eq!(ids.len(), sent, "none twice");
    assert_eq!(pool.shutdown(Duration::from_secs(2)).await, 0);
}
