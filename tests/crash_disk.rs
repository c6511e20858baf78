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
