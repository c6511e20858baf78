//! SL1 delivery: the worker stack on a paused clock (`tower_test` mock as SL1), and the worker pool
//! against a real loopback SL1 mock (`support::sl1_mock`) with a test queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use genhook::core::queue::{DeadLetters, Queue};
use genhook::core::AlertDefaults;
use genhook::worker::{
    self, sl1_stack, AdaptiveLimit, Backoff, Breaker, BreakerState, Sl1Client, Sl1Error,
    Sl1Request, Sl1Response, Sl1RetryPolicy, ThreadingModel, WorkerSettings,
};
use http::StatusCode;
use support::memory_queue::{test_event, MemoryQueue};
use support::sl1_mock::{Answer, Sl1Mock, TestPki};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_rustls::rustls;
use tower::{BoxError, ServiceExt};

// === the stack on a paused clock ===

type Leaf = tower_test::mock::Mock<Sl1Request, Sl1Response>;

fn paused_stack() -> (
    genhook::worker::Sl1Stack<Leaf>,
    tower_test::mock::Handle<Sl1Request, Sl1Response>,
) {
    let (leaf, handle) = tower_test::mock::pair::<Sl1Request, Sl1Response>();
    let stack = sl1_stack(
        leaf,
        Breaker::new(100, Duration::from_secs(30)),
        Arc::new(Semaphore::new(4)),
        AdaptiveLimit::new(4, 4),
        Duration::from_secs(30),
        Sl1RetryPolicy::with_backoff(
            3,
            Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 0.0),
        ),
    );
    (stack, handle)
}

fn request() -> Sl1Request {
    Sl1Request::new(AlertDefaults::default().alert("hello"), "ev-1", "github")
}

fn status(code: u16, retry_after: Option<u64>) -> Sl1Error {
    Sl1Error::Status {
        status: StatusCode::from_u16(code).unwrap(),
        retry_after: retry_after.map(Duration::from_secs),
        em7_message: None,
    }
}

fn created() -> Sl1Response {
    Sl1Response {
        status: StatusCode::CREATED,
        em7_message: None,
    }
}

#[tokio::test(start_paused = true)]
async fn status_503_is_retried_after_the_backoff() {
    let (stack, mut handle) = paused_stack();
    let delivery = tokio::spawn(stack.oneshot(request()));

    let (_, send) = handle.next_request().await.unwrap();
    let failed_at = Instant::now();
    send.send_error(status(503, None));
    let (_, send) = handle.next_request().await.unwrap();
    assert_eq!(failed_at.elapsed(), Duration::from_secs(1));
    send.send_response(created());
    assert_eq!(delivery.await.unwrap().unwrap().status, StatusCode::CREATED);
}

#[tokio::test(start_paused = true)]
async fn status_429_with_retry_after_7_waits_7_seconds() {
    let (stack, mut handle) = paused_stack();
    let delivery = tokio::spawn(stack.oneshot(request()));

    let (_, send) = handle.next_request().await.unwrap();
    let failed_at = Instant::now();
    send.send_error(status(429, Some(7)));
    let (_, send) = handle.next_request().await.unwrap();
    assert_eq!(failed_at.elapsed(), Duration::from_secs(7));
    send.send_response(created());
    assert!(delivery.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn status_400_is_not_retried() {
    let (stack, mut handle) = paused_stack();
    let delivery = tokio::spawn(stack.oneshot(request()));

    let (_, send) = handle.next_request().await.unwrap();
    send.send_error(status(400, None));
    let error = delivery.await.unwrap().unwrap_err();
    let sl1 = error.downcast_ref::<Sl1Error>().expect("an Sl1Error");
    assert!(matches!(sl1, Sl1Error::Status { status, .. } if *status == StatusCode::BAD_REQUEST));
    // The delivery is over and its service dropped: no second attempt can come.
    assert!(handle.next_request().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn attempt_that_never_answers_times_out_and_is_retried() {
    let (stack, mut handle) = paused_stack();
    let delivery = tokio::spawn(stack.oneshot(request()));

    let started = Instant::now();
    let (_, hung) = handle.next_request().await.unwrap();
    let (_, send) = handle.next_request().await.unwrap();
    // 30 s per-attempt timeout, then the 1 s backoff.
    assert_eq!(started.elapsed(), Duration::from_secs(31));
    drop(hung);
    send.send_response(created());
    assert!(delivery.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn retries_stop_after_sl1_retry_attempts() {
    let (stack, mut handle) = paused_stack();
    let request = request();
    let delivery = tokio::spawn(stack.oneshot(request.clone()));
    for _ in 0..4 {
        let (_, send) = handle.next_request().await.unwrap();
        send.send_error(status(502, None));
    }
    assert!(delivery.await.unwrap().is_err());
    assert!(
        handle.next_request().await.is_none(),
        "1 attempt + 3 retries"
    );
}

#[tokio::test(start_paused = true)]
async fn the_deadline_cuts_the_last_attempt_short_and_stops_retries() {
    let (stack, mut handle) = paused_stack();
    let started = Instant::now();
    // 30 s per attempt, 1 s backoff, but the whole delivery is due in 40 s.
    let request = request().with_deadline(started + Duration::from_secs(40));
    let delivery = tokio::spawn(stack.oneshot(request.clone()));

    let (_, first) = handle.next_request().await.unwrap();
    let (_, second) = handle.next_request().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(31));
    let error = delivery.await.unwrap().unwrap_err();
    assert!(error.is::<tower::timeout::error::Elapsed>(), "{error}");
    // The second attempt got the 9 s left, not a full sl1_timeout; no third one.
    assert_eq!(started.elapsed(), Duration::from_secs(40));
    assert!(request.is_past_deadline());
    drop((first, second));
    assert!(handle.next_request().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn no_retry_starts_when_its_backoff_would_pass_the_deadline() {
    let (stack, mut handle) = paused_stack();
    let started = Instant::now();
    let request = request().with_deadline(started + Duration::from_secs(5));
    let delivery = tokio::spawn(stack.oneshot(request.clone()));
    let (_, send) = handle.next_request().await.unwrap();
    // SL1 asks for 7 s: more than the 5 s the delivery has.
    send.send_error(status(429, Some(7)));
    assert!(delivery.await.unwrap().is_err());
    assert_eq!(started.elapsed(), Duration::ZERO, "gave up at once");
    assert!(handle.next_request().await.is_none());
}

// === the pool against a real loopback SL1 ===

fn settings(sl1: &Sl1Mock) -> WorkerSettings {
    WorkerSettings {
        sl1_api_url: Some(sl1.url()),
        sl1_username: "em7admin".into(),
        sl1_password: "s3cret:with:colons".into(),
        sl1_timeout: Duration::from_secs(5),
        sl1_retry_attempts: 3,
        retry_backoff_base: Duration::from_millis(20),
        retry_backoff_max: Duration::from_millis(200),
        breaker_threshold: 5,
        breaker_cooldown: Duration::from_millis(300),
        workers: 2,
        dlq_alert_threshold: 0,
        ..WorkerSettings::default()
    }
}

fn spawn_pool(settings: WorkerSettings, queue: &Arc<MemoryQueue>) -> worker::WorkerPool {
    let q: Arc<dyn Queue> = Arc::clone(queue) as Arc<dyn Queue>;
    let dlq: Arc<dyn DeadLetters> = Arc::clone(queue) as Arc<dyn DeadLetters>;
    worker::spawn(settings, q, dlq, tokio::runtime::Handle::current()).unwrap()
}

const WAIT: Duration = Duration::from_secs(15);

/// The models that run on a multi-thread runtime (`async` needs its own: see
/// `each_threading_model_delivers_the_same_events`); every one delivers through the same stack.
const MODELS: [ThreadingModel; 2] = [ThreadingModel::Hybrid, ThreadingModel::ThreadPool];

fn with_model(sl1: &Sl1Mock, model: ThreadingModel) -> WorkerSettings {
    WorkerSettings {
        threading: model,
        ..settings(sl1)
    }
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_ca_file_is_trusted_for_https_sl1() {
    let pki = TestPki::generate();
    let sl1 = Sl1Mock::builder().tls(pki.identity()).start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("sl1-ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();

    // Without the CA: the TLS handshake fails, a connect error (retryable).
    let untrusting = Sl1Client::new(&settings(&sl1)).unwrap();
    let error = untrusting.oneshot(request()).await.unwrap_err();
    assert!(matches!(error, Sl1Error::Connect(_)), "{error:?}");
    assert!(error.is_retryable());

    // With it: delivered, by IP and by name.
    for url in [sl1.url(), sl1.url_localhost()] {
        let settings = WorkerSettings {
            sl1_api_url: Some(url),
            sl1_ca_file: Some(ca_file.clone()),
            ..settings(&sl1)
        };
        let client = Sl1Client::new(&settings).unwrap();
        let response = client.oneshot(request()).await.unwrap();
        assert_eq!(response.status, StatusCode::CREATED);
    }
    assert_eq!(sl1.accepted().len(), 2);
}

/// The rustls error under a failed SL1 attempt, if a TLS check refused the server.
fn tls_error(error: &Sl1Error) -> Option<&rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        // io::Error hides its inner error from `source()`: look through it.
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

/// An HTTPS SL1 serving `served`, and worker settings with `sl1_ca_file` holding `trusted`.
async fn https_sl1(
    served: &TestPki,
    trusted: &str,
) -> (Sl1Mock, WorkerSettings, tempfile::TempDir) {
    let sl1 = Sl1Mock::builder().tls(served.identity()).start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("sl1-ca.pem");
    std::fs::write(&ca_file, trusted).unwrap();
    let settings = WorkerSettings {
        sl1_ca_file: Some(ca_file),
        ..settings(&sl1)
    };
    (sl1, settings, dir)
}

/// SL1's usual certificate: self-signed, `CA:TRUE`, served as its own. With that certificate in
/// `sl1_ca_file` it is pinned: the client delivers, by IP and by name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_ca_true_sl1_certificate_in_ca_file_is_delivered() {
    let own = TestPki::self_signed_ca(&["127.0.0.1", "localhost"]);
    let (sl1, settings, _dir) = https_sl1(&own, &own.ca_pem).await;
    for url in [sl1.url(), sl1.url_localhost()] {
        let settings = WorkerSettings {
            sl1_api_url: Some(url.clone()),
            ..settings.clone()
        };
        let client = Sl1Client::new(&settings).unwrap();
        let response = client.oneshot(request()).await;
        assert_eq!(response.unwrap().status, StatusCode::CREATED, "{url}");
    }
    assert_eq!(sl1.accepted().len(), 2);
}

/// The pin is the exact certificate: another self-signed certificate in `sl1_ca_file` makes the
/// server's refused (a TLS error, retryable, nothing sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_self_signed_certificate_in_ca_file_is_refused() {
    let own = TestPki::self_signed_ca(&["127.0.0.1", "localhost"]);
    let other = TestPki::self_signed_ca(&["127.0.0.1", "localhost"]);
    let (sl1, settings, _dir) = https_sl1(&own, &other.ca_pem).await;

    let error = Sl1Client::new(&settings)
        .unwrap()
        .oneshot(request())
        .await
        .unwrap_err();
    assert!(matches!(error, Sl1Error::Connect(_)), "{error:?}");
    assert!(error.is_retryable());
    assert!(
        matches!(
            tls_error(&error),
            Some(rustls::Error::InvalidCertificate(_))
        ),
        "{error:?}"
    );
    assert_eq!(sl1.request_count(), 0, "nothing was sent");
}

/// A pinned certificate is still checked against the URL's host (its subjectAltName).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_certificate_must_name_the_url_host() {
    let own = TestPki::self_signed_ca(&["sl1.example.invalid"]);
    let (sl1, settings, _dir) = https_sl1(&own, &own.ca_pem).await;
    let error = Sl1Client::new(&settings)
        .unwrap()
        .oneshot(request())
        .await
        .unwrap_err();
    assert!(
        matches!(
            tls_error(&error),
            Some(rustls::Error::InvalidCertificate(_))
        ),
        "{error:?}"
    );
    assert_eq!(sl1.request_count(), 0);
}

/// Through the worker pool, with async deliveries (`hybrid`) and OS threads (`thread_pool`),
/// both over the one async client: the pinned self-signed SL1 gets the alert; with another certificate in
/// `sl1_ca_file` the event is retried, dead-lettered with the TLS error, and never sent.
async fn self_signed_sl1_through_the_pool(model: ThreadingModel) {
    let own = TestPki::self_signed_ca(&["127.0.0.1"]);
    let other = TestPki::self_signed_ca(&["127.0.0.1"]);
    for (trusted, delivered) in [(&own.ca_pem, true), (&other.ca_pem, false)] {
        let (sl1, settings, _dir) = https_sl1(&own, trusted).await;
        let queue = MemoryQueue::new();
        queue.push(test_event("tls1", "github", "one"));
        let pool = spawn_pool(
            WorkerSettings {
                threading: model,
                ..settings
            },
            &queue,
        );
        queue.wait_settled(1, WAIT).await;
        if delivered {
            assert_eq!(queue.acked().len(), 1, "{model:?}");
            assert_eq!(sl1.accepted().len(), 1, "{model:?}");
        } else {
            let dead = queue.dead();
            assert_eq!(dead.len(), 1, "{model:?}");
            assert_eq!(
                dead[0].attempts, 4,
                "{model:?}: the first try and 3 retries"
            );
            let last_error = dead[0].last_error.as_deref().unwrap();
            assert!(
                last_error.contains("certificate"),
                "{model:?}: {last_error}"
            );
            assert_eq!(sl1.request_count(), 0, "{model:?}: never sent");
        }
        assert_eq!(pool.shutdown(Duration::from_secs(1)).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_sl1_through_the_pool_with_async_deliveries() {
    self_signed_sl1_through_the_pool(ThreadingModel::Hybrid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_sl1_through_the_pool_with_thread_pool_workers() {
    self_signed_sl1_through_the_pool(ThreadingModel::ThreadPool).await;
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

#[tokio::test]
async fn errors_are_classified_by_type_not_text() {
    let boxed: BoxError = Box::new(Sl1Error::Timeout);
    assert!(genhook::worker::policy::is_outage(&boxed));
    let text: BoxError = "connection refused".into();
    assert!(!genhook::worker::policy::is_outage(&text));
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

// === the adaptive in-flight limit against a real loopback SL1 ===

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

// === end to end: GenHook in process, a webhook in, an alert at the SL1 mock ===

async fn webhook_reaches_sl1(model: &str) {
    let sl1 = Sl1Mock::builder().answer(Answer::status(503)).start().await;
    let genhook = support::TestGenHook::builder()
        .mapping("design.ini", support::DESIGN_LINES)
        .sl1(&sl1.url())
        .set("threading_model", model)
        .set("max_worker_threads", 2)
        .start()
        .await;
    let body = serde_json::json!({
        "action": "opened",
        "pull_request": {"title": "Fix the flux", "user": {"login": "alice"}},
        "repository": {"name": "genhook"}
    });
    let response = genhook
        .post(
            "/webhook/github",
            &[
                ("content-type", "application/json"),
                ("x-github-event", "pull_request"),
                ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
            ],
            body.to_string(),
        )
        .await;
    assert_eq!(
        response.status(),
        202,
        "{model}: {}",
        response.text().await.unwrap()
    );

    let accepted = sl1.wait_for_accepted(1, WAIT).await;
    assert_eq!(sl1.request_count(), 2, "{model}: 503 once, then delivered");
    let alert = &accepted[0];
    assert_eq!(
        alert.message(),
        Some(r#"GitHub opened on genhook: "Fix the flux" by alice"#),
        "{model}"
    );
    assert_eq!(
        alert.basic_auth(),
        Some(("em7admin".into(), "em7pass".into()))
    );
    assert_eq!(alert.header("x-em7-guid-paths"), Some("1"));
    assert_eq!(
        alert.header("x-genhook-delivery-id"),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    let (report, _dir) = genhook.shutdown().await;
    assert_eq!(report.left_in_queue, 0, "{model}");
}

#[tokio::test(flavor = "current_thread")]
async fn end_to_end_with_async_model_on_one_thread() {
    webhook_reaches_sl1("async").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_with_hybrid_model() {
    webhook_reaches_sl1("hybrid").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_with_thread_pool_model() {
    webhook_reaches_sl1("thread_pool").await;
}
