//! SL1 delivery, the worker pool over sockets: a real loopback SL1 mock (`support::sl1_mock`) and
//! a test queue, in every threading model: retries, dead letters, the breaker, credentials and
//! headers, the outbox, shutdown, the DLQ alert, per-source limits and the metrics.
//!
//! The stack alone on a paused clock is in `delivery_stack.rs`, HTTPS to SL1 in
//! `delivery_tls.rs`, the adaptive in-flight limit in `delivery_adaptive.rs`, and a webhook
//! through the whole of GenHook in `delivery_end_to_end.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery_common;
mod support;

use std::time::Duration;

use delivery_common::{settings, spawn_pool, with_model, MODELS, WAIT};
use genhook::worker::{BreakerState, ThreadingModel, WorkerSettings};
use support::memory_queue::{test_event, MemoryQueue};
use support::sl1_mock::{Answer, Sl1Mock};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl1_500_then_201_is_delivered_once() {
    for model in MODELS {
        let sl1 = Sl1Mock::builder().answer(Answer::status(500)).start().await;
        let queue = MemoryQueue::new();
        queue.push(test_event("e1", "github", "one"));
        let pool = spawn_pool(with_model(&sl1, model), &queue);

        queue.wait_settled(1, WAIT).await;
        assert_eq!(queue.acked().len(), 1, "{model:?}");
        assert!(queue.dead().is_empty(), "{model:?}");
        let requests = sl1.requests();
        assert_eq!(requests.len(), 2, "{model:?}: one failure, one success");
        assert_eq!(sl1.accepted().len(), 1, "{model:?}: delivered once");
        assert_eq!(pool.shutdown(Duration::from_secs(1)).await, 0);
    }
}

/// SL1 may answer a new alert `200` or `202` instead of `201`: each is a delivery, acknowledged
/// at once, neither retried nor dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl1_200_and_202_count_as_delivered() {
    for answer in [Answer::ok(), Answer::accepted()] {
        let status = answer.status;
        let sl1 = Sl1Mock::builder().default_answer(answer).start().await;
        let queue = MemoryQueue::new();
        queue.push(test_event("ok", "github", "one"));
        let pool = spawn_pool(settings(&sl1), &queue);

        queue.wait_settled(1, WAIT).await;
        assert_eq!(queue.acked().len(), 1, "{status}: acknowledged");
        assert!(queue.dead().is_empty(), "{status}: not dead-lettered");
        assert_eq!(queue.requeues(), 0, "{status}: not put back");
        assert_eq!(pool.shutdown(Duration::from_secs(1)).await, 0);
        assert_eq!(sl1.request_count(), 1, "{status}: not retried");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl1_hanging_up_is_retried() {
    for model in MODELS {
        let sl1 = Sl1Mock::builder().answer(Answer::hang_up()).start().await;
        let queue = MemoryQueue::new();
        queue.push(test_event("h1", "github", "one"));
        let pool = spawn_pool(with_model(&sl1, model), &queue);

        queue.wait_settled(1, WAIT).await;
        assert_eq!(queue.acked().len(), 1, "{model:?}");
        assert_eq!(sl1.request_count(), 2, "{model:?}");
        pool.shutdown(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl1_400_is_called_once_and_dead_lettered() {
    for model in MODELS {
        let sl1 = Sl1Mock::builder()
            .answer(Answer::status(400).em7_message("Invalid aligned_resource"))
            .start()
            .await;
        let queue = MemoryQueue::new();
        queue.push(test_event("e1", "github", "one"));
        let pool = spawn_pool(with_model(&sl1, model), &queue);

        queue.wait_settled(1, WAIT).await;
        // Give a wrongly retried attempt time to arrive (backoff is 20 ms).
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(sl1.request_count(), 1, "{model:?}");
        let dead = queue.dead();
        assert_eq!(dead.len(), 1, "{model:?}");
        assert_eq!(dead[0].attempts, 1, "{model:?}");
        let last_error = dead[0].last_error.as_deref().unwrap();
        assert!(last_error.contains("400"), "{model:?}: {last_error}");
        assert!(
            last_error.contains("Invalid aligned_resource"),
            "{model:?}: {last_error}"
        );
        pool.shutdown(Duration::from_secs(1)).await;
    }
}

/// SL1 never answers in time: the event is dead-lettered as `timed_out` once
/// `processing_timeout` is over, long before `sl1_timeout` or the retries would end.
async fn hung_sl1_times_out(model: ThreadingModel) {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::held())
        .start()
        .await;
    let queue = MemoryQueue::new();
    queue.push(test_event("slow", "github", "one"));
    let sl1_timeout = Duration::from_secs(120);
    let settings = WorkerSettings {
        sl1_timeout,
        processing_timeout: Duration::from_millis(700),
        threading: model,
        ..settings(&sl1)
    };
    let started = std::time::Instant::now();
    let pool = spawn_pool(settings, &queue);

    queue.wait_settled(1, sl1_timeout / 2).await;
    // Before `sl1_timeout` could have ended the attempt: `processing_timeout` did.
    let took = started.elapsed();
    assert!(took < sl1_timeout, "{model:?}: took {took:?}");
    assert!(queue.acked().is_empty());
    let dead = queue.dead();
    assert_eq!(dead.len(), 1, "{model:?}");
    let last_error = dead[0].last_error.as_deref().unwrap();
    assert!(
        last_error.contains("processing_timeout"),
        "{model:?}: {last_error}"
    );
    assert_eq!(
        sl1.request_count(),
        1,
        "{model:?}: no retry after the budget"
    );
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_timeout_dead_letters_a_hung_delivery() {
    hung_sl1_times_out(ThreadingModel::Hybrid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_timeout_dead_letters_a_hung_delivery_on_worker_threads() {
    hung_sl1_times_out(ThreadingModel::ThreadPool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_no_authorization_header_is_sent() {
    let sl1 = Sl1Mock::start().await;
    let queue = MemoryQueue::new();
    queue.push(test_event("anon-1", "github", "GitHub opened on repo"));
    let settings = WorkerSettings {
        sl1_username: String::new(),
        sl1_password: "".into(),
        ..settings(&sl1)
    };
    let pool = spawn_pool(settings, &queue);
    let requests = sl1.wait_for_accepted(1, WAIT).await;
    assert_eq!(requests[0].header("authorization"), None);
    assert_eq!(requests[0].header("x-em7-guid-paths"), Some("1"));
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_guid_header_ids_and_every_alert_field_arrive() {
    let sl1 = Sl1Mock::start().await;
    let queue = MemoryQueue::new();
    let mut event = test_event("evt-42", "github", "GitHub opened on repo");
    event.alert.aligned_resource = "/api/device/42".into();
    event.alert.force_ytype = "7".into();
    event.alert.force_yid = "3".into();
    event.alert.force_yname = "eth0".into();
    event.alert.value = "12".into();
    event.alert.threshold = "10".into();
    event.alert.message_time = "1700000000".into();
    queue.push(event.clone());
    let pool = spawn_pool(settings(&sl1), &queue);

    let requests = sl1.wait_for_accepted(1, WAIT).await;
    let request = &requests[0];
    assert_eq!(request.method, http::Method::POST);
    assert_eq!(request.path, "/api/alert");
    assert_eq!(
        request.basic_auth(),
        Some(("em7admin".into(), "s3cret:with:colons".into()))
    );
    assert_eq!(request.header("x-em7-guid-paths"), Some("1"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(
        request.header("user-agent"),
        Some(concat!("GenHook/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(request.header("x-genhook-event-id"), Some("evt-42"));
    assert_eq!(
        request.header("x-genhook-delivery-id"),
        Some("delivery-evt-42")
    );
    let expected = serde_json::to_value(&event.alert).unwrap();
    assert_eq!(request.json.as_ref(), Some(&expected));
    for field in [
        "force_ytype",
        "force_yid",
        "force_yname",
        "message",
        "value",
        "threshold",
        "message_time",
        "aligned_resource",
    ] {
        assert!(request.field(field).is_some(), "missing {field}");
    }
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl1_down_opens_breaker_stops_requests_and_loses_nothing() {
    sl1_outage(ThreadingModel::Hybrid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sl1_down_with_thread_pool_workers_opens_breaker_and_loses_nothing() {
    sl1_outage(ThreadingModel::ThreadPool).await;
}

/// SL1 answers 503 until the circuit opened, then 201: the circuit opens, requests stop while it
/// is open, it closes when SL1 answers, every event is delivered or dead-lettered exactly once,
/// and one summary alert tells about the outage.
async fn sl1_outage(model: ThreadingModel) {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::status(503))
        .start()
        .await;
    let queue = MemoryQueue::new();
    let sent = 20;
    for n in 0..sent {
        queue.push(test_event(
            &format!("e{n}"),
            "github",
            &format!("event {n}"),
        ));
    }
    let settings = WorkerSettings {
        breaker_threshold: 3,
        breaker_cooldown: Duration::from_millis(1000),
        sl1_retry_attempts: 1,
        threading: model,
        ..settings(&sl1)
    };
    let pool = spawn_pool(settings, &queue);
    let breaker = pool.breaker().unwrap().clone();

    // SL1 down: the breaker opens.
    let mut states = breaker.subscribe();
    tokio::time::timeout(WAIT, states.wait_for(|s| *s == BreakerState::Open))
        .await
        .unwrap()
        .unwrap();
    // While open (before the cooldown ends), no request reaches SL1. Watched during an open
    // period that a failed probe started (SL1 is still down), when no other attempt can be in
    // flight; and only taken when the circuit was still open, in the same period, at the end of
    // the watch: a machine stalled past the cooldown makes the test watch the next period.
    let watching_since = std::time::Instant::now();
    loop {
        tokio::time::timeout(WAIT, states.changed())
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(WAIT, states.wait_for(|s| *s == BreakerState::Open))
            .await
            .unwrap()
            .unwrap();
        let at_open = sl1.request_count();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = sl1.request_count();
        let same_period = breaker.is_refusing() && !states.has_changed().unwrap();
        if same_period {
            assert_eq!(breaker.state(), BreakerState::Open);
            assert_eq!(now, at_open, "requests stop while open");
            break;
        }
        assert!(
            watching_since.elapsed() < WAIT,
            "never saw 200 ms of an open period"
        );
    }
    assert!(queue.requeues() > 0, "events were held back, not dropped");

    // SL1 back: the probe closes the circuit and everything settles.
    sl1.set_default(Answer::created());
    queue.wait_settled(sent, WAIT).await;
    tokio::time::timeout(WAIT, states.wait_for(|s| *s == BreakerState::Closed))
        .await
        .unwrap()
        .unwrap();

    let delivered = queue.acked().len();
    let dead = queue.dead().len();
    assert_eq!(delivered + dead, sent, "delivered + dead-lettered = sent");
    let mut ids: Vec<String> = queue
        .acked()
        .into_iter()
        .chain(queue.dead())
        .map(|e| e.id)
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), sent, "every event exactly once");

    // One summarising alert about the outage, once.
    let summaries = sl1
        .wait_for_accepted(delivered + 1, WAIT)
        .await
        .into_iter()
        .filter(|r| {
            r.message()
                .is_some_and(|m| m.starts_with("GenHook: SL1 was unreachable from"))
        })
        .collect::<Vec<_>>();
    assert_eq!(summaries.len(), 1);
    // "...; N events delayed, M dead-lettered": counted while the circuit was open.
    let text = summaries[0].message().unwrap();
    let counts: Vec<usize> = text
        .rsplit(';')
        .next()
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(counts.len(), 2, "{text}");
    assert!(counts[0] > 0 && counts[0] <= sent, "{text}");
    assert!(counts[1] <= dead, "{text}");
    assert_eq!(pool.shutdown(Duration::from_secs(1)).await, 0);
}

fn deliver_with_model(model: ThreadingModel, runtime: &tokio::runtime::Runtime) -> Vec<String> {
    runtime.block_on(async {
        let sl1 = Sl1Mock::builder().answer(Answer::status(503)).start().await;
        let queue = MemoryQueue::new();
        for n in 0..12 {
            queue.push(test_event(
                &format!("m{n}"),
                "github",
                &format!("message {n}"),
            ));
        }
        let mut render_failed = test_event("broken", "github", "");
        render_failed.render_error = Some("no such field".into());
        queue.push(render_failed);
        let settings = WorkerSettings {
            threading: model,
            workers: 3,
            ..settings(&sl1)
        };
        let pool = spawn_pool(settings, &queue);
        queue.wait_settled(13, WAIT).await;
        assert_eq!(pool.shutdown(Duration::from_secs(2)).await, 0);
        assert_eq!(
            queue.dead().len(),
            1,
            "{model:?}: only the unrenderable one"
        );
        assert_eq!(queue.dead()[0].id, "broken");
        let mut messages: Vec<String> = sl1
            .accepted()
            .iter()
            .map(|r| r.message().unwrap().to_owned())
            .collect();
        messages.sort();
        messages
    })
}

#[test]
fn each_threading_model_delivers_the_same_events() {
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let expected: Vec<String> = {
        let mut m: Vec<String> = (0..12).map(|n| format!("message {n}")).collect();
        m.sort();
        m
    };
    assert_eq!(
        deliver_with_model(ThreadingModel::Async, &current),
        expected
    );
    assert_eq!(deliver_with_model(ThreadingModel::Hybrid, &multi), expected);
    assert_eq!(
        deliver_with_model(ThreadingModel::ThreadPool, &multi),
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sl1_url_alerts_go_to_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("data/outbox.jsonl");
    let queue = MemoryQueue::new();
    queue.push(test_event("o1", "stripe", "Stripe charge.succeeded"));
    queue.push(test_event("o2", "slack", "Slack message"));
    let settings = WorkerSettings {
        outbox_path: outbox.clone(),
        ..WorkerSettings::default()
    };
    let pool = spawn_pool(settings, &queue);
    queue.wait_settled(2, WAIT).await;
    assert_eq!(queue.acked().len(), 2);
    let text = std::fs::read_to_string(&outbox).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["o1", "o2"]);
    assert!(lines
        .iter()
        .any(|l| l["alert"]["message"] == "Stripe charge.succeeded" && l["source"] == "stripe"));
    assert!(pool.breaker().is_none());
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_requeues_in_flight_events_and_reports_what_is_left() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::held())
        .start()
        .await;
    let queue = MemoryQueue::new();
    for n in 0..3 {
        queue.push(test_event(&format!("s{n}"), "github", "slow"));
    }
    let settings = WorkerSettings {
        workers: 1,
        sl1_timeout: Duration::from_secs(1200),
        ..settings(&sl1)
    };
    let pool = spawn_pool(settings, &queue);
    sl1.wait_for_requests(1, WAIT).await;
    let started = std::time::Instant::now();
    let left = pool.shutdown(Duration::from_millis(200)).await;
    // Ended by the grace period, not by SL1's answer (nor by `sl1_timeout`).
    assert!(
        started.elapsed() < support::sl1_mock::HELD / 2,
        "bounded by grace"
    );
    assert_eq!(left, 3, "the in-flight event went back to the queue");
    assert!(queue.acked().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_over_threshold_sends_one_alert() {
    let sl1 = Sl1Mock::builder()
        .answers([Answer::status(422), Answer::status(422)])
        .start()
        .await;
    let queue = MemoryQueue::new();
    for n in 0..3 {
        queue.push(test_event(&format!("d{n}"), "github", "bad"));
    }
    let settings = WorkerSettings {
        dlq_alert_threshold: 1,
        workers: 1,
        ..settings(&sl1)
    };
    let pool = spawn_pool(settings, &queue);
    // Two dead letters pass the threshold of 1; SL1 accepts everything after them.
    queue.wait_settled(3, WAIT).await;
    let alerts = sl1.wait_for_requests(4, WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dlq_alerts: Vec<_> = sl1
        .accepted()
        .into_iter()
        .filter(|r| {
            r.message()
                .is_some_and(|m| m.contains("dead-letter queue holds"))
        })
        .collect();
    assert_eq!(dlq_alerts.len(), 1, "{alerts:?}");
    assert!(dlq_alerts[0]
        .message()
        .unwrap()
        .contains("holds 2 events (threshold 1)"));
    pool.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_source_max_concurrent_caps_sl1_calls_of_that_source() {
    for model in MODELS {
        let sl1 = Sl1Mock::builder()
            .default_answer(Answer::created().delay(Duration::from_millis(100)))
            .start()
            .await;
        let queue = MemoryQueue::new();
        for n in 0..6 {
            queue.push(test_event(&format!("c{n}"), "shopify", "order"));
        }
        let capped = WorkerSettings {
            workers: 4,
            per_source_max_concurrent: [("shopify".to_owned(), 1)].into_iter().collect(),
            ..with_model(&sl1, model)
        };
        let pool = spawn_pool(capped, &queue);
        queue.wait_settled(6, WAIT).await;
        assert_eq!(queue.acked().len(), 6, "{model:?}");
        assert_eq!(
            sl1.max_in_flight(),
            1,
            "{model:?}: shopify_max_concurrent = 1"
        );
        pool.shutdown(Duration::from_secs(1)).await;

        // Without the per-source cap the deliveries do overlap.
        let queue = MemoryQueue::new();
        for n in 0..6 {
            queue.push(test_event(&format!("u{n}"), "github", "push"));
        }
        let sl1 = Sl1Mock::builder()
            .default_answer(Answer::created().delay(Duration::from_millis(100)))
            .start()
            .await;
        let pool = spawn_pool(
            WorkerSettings {
                workers: 4,
                ..with_model(&sl1, model)
            },
            &queue,
        );
        queue.wait_settled(6, WAIT).await;
        assert!(sl1.max_in_flight() > 1, "{model:?}");
        pool.shutdown(Duration::from_secs(1)).await;
    }
}

/// Runs `body` on a current-thread runtime with a local Prometheus recorder and returns what it
/// rendered (every task runs on this thread, so every metric lands in this recorder).
fn with_metrics(body: impl std::future::Future<Output = ()>) -> String {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(body));
    handle.render()
}

fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn sl1_and_worker_metrics_are_recorded_with_the_right_counts() {
    let text = with_metrics(async {
        let sl1 = Sl1Mock::builder()
            .answers([Answer::status(500), Answer::created(), Answer::status(400)])
            .start()
            .await;
        let queue = MemoryQueue::new();
        queue.push(test_event("m1", "github", "first"));
        let pool = spawn_pool(
            WorkerSettings {
                workers: 4,
                ..settings(&sl1)
            },
            &queue,
        );
        queue.wait_settled(1, WAIT).await;
        queue.push(test_event("m2", "stripe", "second"));
        queue.wait_settled(2, WAIT).await;
        pool.shutdown(Duration::from_secs(1)).await;
    });
    let value =
        |series: &str| metric_value(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
    assert_eq!(value(r#"genhook_sl1_requests_total{status="500"}"#), 1.0);
    assert_eq!(value(r#"genhook_sl1_requests_total{status="201"}"#), 1.0);
    assert_eq!(value(r#"genhook_sl1_requests_total{status="400"}"#), 1.0);
    assert_eq!(value("genhook_sl1_retries_total"), 1.0);
    assert_eq!(
        value(r#"genhook_dead_lettered_total{source="stripe",reason="rejected"}"#),
        1.0
    );
    assert_eq!(value("genhook_sl1_request_duration_seconds_count"), 3.0);
    assert_eq!(
        value(r#"genhook_delivery_latency_seconds_count{source="github"}"#),
        1.0
    );
    assert_eq!(value("genhook_sl1_circuit_state"), 0.0);
    assert_eq!(value("genhook_dlq_size"), 1.0);
    assert_eq!(value("genhook_workers_busy"), 0.0);
    // Started at max_worker_threads (4), halved by the 500.
    assert_eq!(value("genhook_sl1_inflight_limit"), 2.0);
    assert_eq!(value("genhook_sl1_inflight"), 0.0);
}
