//! Crash tests, redis backend, against the real binary:
//!
//! - two GenHook processes share one Redis; 2,000 webhooks are sent concurrently to both while
//!   SL1 is slow, one is SIGKILLed mid-way: the survivor reclaims what the dead one had read, and
//!   every webhook answered 202 reaches SL1;
//! - 2,000 deliveries, each retried with its delivery id until answered 2xx (as GitHub, Stripe
//!   and Slack do): with GenHook SIGKILLed three times and restarted, and with Redis itself
//!   SIGKILLed twice and restarted (a private `redis-server` with AOF), every delivery answered
//!   2xx (`202`, or `200 duplicate` to a retry) reaches SL1. A de-duplication claim stored
//!   without its entry would answer a retry `duplicate` and lose the event.
//!
//! Skipped with "skipped: no Redis at 127.0.0.1:6379" (or "skipped: no redis-server binary")
//! when Redis is absent; fails then under CI=true. Uses a key prefix of its own (or its own
//! server) so it never touches other tests' keys.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

mod crash_common;
mod support;

use std::time::Duration;

use crash_common::{
    flood_killing_at_half, free_port, settle, slow_sl1, write_config, Flood, Rig, Server,
};
use support::redis_child::RedisChild;

const WEBHOOKS: usize = 2_000;

/// The shared Redis's URL and a key prefix of this test's own (`redis_prefix`), or `None` when
/// Redis is absent. Both tests of this file run at once in one process: a prefix each keeps them
/// (and any other run on the machine) off each other's keys.
async fn redis_db() -> Option<(String, String)> {
    let url = "redis://127.0.0.1:6379";
    let client = redis::Client::open(url).unwrap();
    let conn = tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await;
    let Ok(Ok(_)) = conn else {
        println!("skipped: no Redis at 127.0.0.1:6379");
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "Redis is required when CI=true"
        );
        return None;
    };
    let prefix = format!("genhook-crash-{}", uuid::Uuid::new_v4().simple());
    Some((url.to_owned(), prefix))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_two_instances_killed_mid_way_loses_nothing() {
    let Some((redis_url, prefix)) = redis_db().await else {
        return;
    };
    let sl1 = slow_sl1().await;
    let extra = [
        ("queue_backend", "redis".to_owned()),
        ("redis_url", redis_url.clone()),
        ("redis_prefix", prefix.clone()),
        ("redis_claim_idle", "2s".to_owned()),
    ];
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (port_a, port_b) = (free_port(), free_port());
    let config_a = write_config(dir_a.path(), "a", port_a, &sl1.url(), &extra);
    let config_b = write_config(dir_b.path(), "b", port_b, &sl1.url(), &extra);
    let a = Server::start(&config_a, port_a, dir_a.path().join("a.log")).await;
    let survivor = Server::start(&config_b, port_b, dir_b.path().join("b.log")).await;

    let started = tokio::time::Instant::now();
    println!("crash_redis: servers up");
    let (accepted, killed) = flood_killing_at_half(&[port_a, port_b], WEBHOOKS, 64, a).await;
    assert!(killed, "instance A was killed mid-way");

    let flooded = tokio::time::Instant::now();
    println!(
        "crash_redis: flood done in {:?}, delivered so far {}",
        flooded - started,
        sl1.accepted().len()
    );
    let (lost, duplicates) = settle(&accepted, Duration::from_secs(60), || {
        sl1.accepted()
            .iter()
            .filter_map(|r| r.message().map(str::to_owned))
            .collect()
    })
    .await;
    println!(
        "crash_redis: sent {WEBHOOKS}, answered 202 {}, lost {lost}, duplicates {duplicates}, SL1 max in flight {}",
        accepted.len(),
        sl1.max_in_flight()
    );
    assert_eq!(
        lost,
        0,
        "every 202 reached SL1; survivor log:\n{}",
        survivor.log_text()
    );
    // The servers kept their streams under this test's own prefix.
    let mut conn = redis::Client::open(redis_url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let ours: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:queue:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ours.contains(&format!("{prefix}:queue:normal")), "{ours:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_sigkills_under_retrying_senders_lose_no_delivery_answered_2xx() {
    let Some((redis_url, prefix)) = redis_db().await else {
        return;
    };
    let mut rig = Rig::start(&[
        ("queue_backend", "redis".to_owned()),
        ("redis_url", redis_url),
        ("redis_prefix", prefix),
        ("redis_claim_idle", "2s".to_owned()),
    ])
    .await;
    let flood = Flood::start(rig.site.port, WEBHOOKS);
    // SIGKILL at a quarter, half and three quarters of the deliveries answered; restart at once
    // (a new consumer: what the dead one had read is reclaimed after redis_claim_idle).
    for kill in 1..=3 {
        flood.answered(WEBHOOKS * kill / 4).await;
        rig.sigkill_and_restart().await;
    }
    let flooded = flood.finish().await;
    rig.assert_every_2xx_delivered("crash_redis sigkills", &flooded, WEBHOOKS)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarts_under_retrying_senders_lose_no_delivery_answered_2xx() {
    let Some(mut redis) = RedisChild::start(true).await else {
        return;
    };
    let rig = Rig::start(&[
        ("queue_backend", "redis".to_owned()),
        ("redis_url", redis.url()),
        ("redis_claim_idle", "2s".to_owned()),
    ])
    .await;
    let flood = Flood::start(rig.site.port, WEBHOOKS);
    // SIGKILL Redis at a third and two thirds of the deliveries answered; it comes back with its
    // AOF (appendfsync always) on the same port, and GenHook reconnects by itself.
    for restart in 1..=2 {
        flood.answered(WEBHOOKS * restart / 3).await;
        redis.restart().await;
    }
    let flooded = flood.finish().await;
    rig.assert_every_2xx_delivered("crash_redis redis restarts", &flooded, WEBHOOKS)
        .await;
}
