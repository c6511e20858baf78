//! The real `genhook serve` process: what `/metrics` shows of the disk queue's syncs and of the
//! workers after traffic, and what a shutdown with events still in the memory queue logs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

mod crash_common;
mod support;

use std::time::Duration;

use crash_common::Site;
use support::sl1_mock::{Answer, Sl1Mock};
use support::{metric_value, post_json, scrape_metrics};

const WAIT: Duration = Duration::from_secs(60);
const WORKERS: usize = 4;

/// POSTs `{"n": n}` to the `crash` source.
async fn post(client: &reqwest::Client, port: u16, n: usize) -> u16 {
    post_json(client, port, "/webhook/crash", format!("{{\"n\": {n}}}")).await
}

/// Polls `/metrics` until `check` holds (at most [`WAIT`]); the text it held for.
async fn metrics_until(
    client: &reqwest::Client,
    port: u16,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = scrape_metrics(client, port).await;
        if check(&text) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not seen within {WAIT:?}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    metric_value(text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_disk_queue_syncs_and_the_idle_workers() {
    let sl1 = Sl1Mock::start().await;
    let site = Site::new(
        &sl1.url(),
        &[
            ("queue_backend", "disk".into()),
            // `genhook_workers_idle` counts the deliverers waiting: here the threads of
            // `thread_pool` (in `async`/`hybrid`, a delivery loop per slot of the limit).
            ("threading_model", "thread_pool".into()),
            ("max_worker_threads", WORKERS.to_string()),
            // Fewer deliveries at once than threads (as when a slow SL1 lowered the adaptive
            // limit): a thread waiting for room is idle too, not lost from both gauges.
            ("sl1_max_inflight", (WORKERS - 1).to_string()),
            // No delivery times out and is put back, however slow the machine.
            ("sl1_timeout", "300s".into()),
        ],
    );
    let (server, port) = (site.start("genhook.log").await, site.port);
    let client = reqwest::Client::new();

    // Nothing sent yet: every worker waits for an event.
    let idle = "genhook_workers_idle";
    metrics_until(&client, port, "every worker idle at start", |text| {
        metric_value(text, idle, &[]) == Some(WORKERS as f64)
    })
    .await;

    let sent = 40;
    let statuses = futures_util::future::join_all((0..sent).map(|n| post(&client, port, n))).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    sl1.wait_for_accepted(sent, WAIT).await;
    let text = metrics_until(&client, port, "delivered and idle again", |text| {
        metric_value(text, "genhook_queue_depth", &[r#"backend="disk""#]) == Some(0.0)
            && metric_value(text, "genhook_workers_busy", &[]) == Some(0.0)
            && metric_value(text, idle, &[]) == Some(WORKERS as f64)
    })
    .await;

    // Each sync is one commit of the writer; the events it stored are observed once per sync.
    let disk = [r#"backend="disk""#];
    let syncs = value(&text, "genhook_queue_syncs_total", &disk);
    let observed = value(&text, "genhook_queue_events_per_sync_count", &disk);
    let stored = value(&text, "genhook_queue_events_per_sync_sum", &disk);
    println!("{sent} webhooks: {syncs} syncs, {stored} events stored");
    assert_eq!(observed, syncs, "one events-per-sync sample per sync");
    assert_eq!(
        stored, sent as f64,
        "every event stored once (none requeued)"
    );
    // At least one sync for the enqueues and one for the acknowledgements; at most one per
    // write (an enqueue and an acknowledgement per webhook).
    assert!(syncs >= 2.0 && syncs <= 2.0 * sent as f64, "syncs: {syncs}");

    // Two deliveries held by SL1: two workers busy, the others idle.
    sl1.set_default(Answer::held());
    for n in sent..sent + 2 {
        assert_eq!(post(&client, port, n).await, 202);
    }
    metrics_until(&client, port, "two workers busy", |text| {
        metric_value(text, "genhook_workers_busy", &[]) == Some(2.0)
            && metric_value(text, idle, &[]) == Some((WORKERS - 2) as f64)
    })
    .await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_logs_how_many_events_the_memory_queue_dropped() {
    // SL1 holds every delivery: the events are still queued when the grace period ends.
    let sl1 = Sl1Mock::holding().await;
    let site = Site::new(
        &sl1.url(),
        &[
            ("queue_backend", "memory".into()),
            ("sl1_timeout", "300s".into()),
            ("shutdown_grace_period", "1s".into()),
        ],
    );
    let (mut server, port) = (site.start("genhook.log").await, site.port);
    let client = reqwest::Client::new();
    for n in 0..3 {
        assert_eq!(post(&client, port, n).await, 202);
    }
    sl1.wait_for_requests(3, WAIT).await;

    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = std::time::Instant::now() + WAIT;
    while server.child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "genhook did not stop after SIGTERM: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(site.file("genhook.log")).unwrap();
    let dropped = text
        .lines()
        .find(|l| l.contains("Memory queue closed with undelivered events"))
        .unwrap_or_else(|| panic!("no \"dropped\" line in the log:\n{text}"));
    assert!(dropped.contains("dropped=3"), "{dropped}");
}
