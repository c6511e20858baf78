//! Crash tests, disk backend, against the real binary:
//!
//! - 2,000 webhooks sent concurrently while SL1 is slow, the server SIGKILLed mid-way, restarted
//!   on the same data dir: every webhook answered 202 reaches SL1;
//! - 2,000 deliveries, each retried with its delivery id until answered 2xx (as GitHub, Stripe
//!   and Slack do), the server SIGKILLed three times at different moments and restarted: every
//!   delivery answered 2xx (`202`, or `200 duplicate` to a retry) reaches SL1. A de-duplication
//!   claim committed without its event would answer a retry `duplicate` and lose the event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod crash_common;
mod support;

use std::time::Duration;

use crash_common::{delivered, flood_killing_at_half, settle, slow_sl1, Flood, Rig, Site};

const WEBHOOKS: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_way_loses_nothing_that_was_answered_202() {
    let sl1 = slow_sl1().await;
    let site = Site::new(&sl1.url(), &[("queue_backend", "disk".into())]);
    let (server, port) = (site.start("first.log").await, site.port);

    // SIGKILL once half of the webhooks were accepted; the flood goes on against a dead port.
    let (accepted, killed) = flood_killing_at_half(&[port], WEBHOOKS, 64, server).await;
    assert!(killed, "the server was killed mid-way");
    let delivered_before_restart = sl1.accepted().len();
    assert!(
        delivered_before_restart < accepted.len(),
        "the kill left undelivered events ({delivered_before_restart} of {})",
        accepted.len()
    );

    // Restart on the same data dir.
    let restarted = site.start("second.log").await;
    let messages = || {
        sl1.accepted()
            .iter()
            .filter_map(|r| r.message().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let (lost, duplicates) = settle(&accepted, Duration::from_secs(60), messages).await;
    let counts = delivered(messages());
    println!(
        "crash_disk: sent {WEBHOOKS}, answered 202 {}, delivered before the kill {delivered_before_restart}, lost {lost}, duplicates {duplicates}, SL1 max in flight {}",
        accepted.len(),
        sl1.max_in_flight()
    );
    assert_eq!(
        lost,
        0,
        "every 202 reached SL1; server log:\n{}",
        restarted.log_text()
    );
    assert!(counts.keys().all(|n| *n < WEBHOOKS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sigkills_under_retrying_senders_lose_no_delivery_answered_2xx() {
    let mut rig = Rig::start(&[("queue_backend", "disk".into())]).await;
    let flood = Flood::start(rig.site.port, WEBHOOKS);
    // SIGKILL at a quarter, half and three quarters of the deliveries answered; restart at once.
    for kill in 1..=3 {
        flood.answered(WEBHOOKS * kill / 4).await;
        rig.sigkill_and_restart().await;
    }
    let flooded = flood.finish().await;
    rig.assert_every_2xx_delivered("crash_disk sigkills", &flooded, WEBHOOKS)
        .await;
}

/// Acknowledgements are committed without an fsync of their own (a crash may deliver the last
/// few again), but once the queue is idle they are synced: a SIGKILL after the deliveries
/// settled delivers nothing a second time. SL1 answers after 300 ms, so the deliveries end in
/// waves whose acknowledgements come together: all but the first batch of a wave are committed
/// unsynced, and only the idle sync makes the last wave's durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_are_synced_once_idle_so_a_kill_then_redelivers_nothing() {
    const N: usize = 200;
    let sl1 = support::sl1_mock::Sl1Mock::builder()
        .default_answer(support::sl1_mock::Answer::created().delay(Duration::from_millis(300)))
        .start()
        .await;
    let site = Site::new(&sl1.url(), &[("queue_backend", "disk".into())]);
    let mut server = site.start("first.log").await;
    let messages = || {
        sl1.accepted()
            .iter()
            .filter_map(|r| r.message().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let accepted = crash_common::flood(&[site.port], N, 16, std::sync::Arc::new(|_| {})).await;
    assert_eq!(accepted.len(), N, "every webhook answered 202");
    let (lost, duplicates) = settle(&accepted, Duration::from_secs(60), messages).await;
    assert_eq!((lost, duplicates), (0, 0));
    // Idle for a while (the writer syncs what it owes as soon as nothing waits), then killed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill();
    let restarted = site.start("second.log").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let counts = delivered(messages());
    let again: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(
        again.is_empty(),
        "delivered again after the restart: {again:?}; log:\n{}",
        restarted.log_text()
    );
    assert_eq!(counts.len(), N);
}
