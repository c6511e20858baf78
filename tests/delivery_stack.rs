//! SL1 delivery, the worker stack alone: retries, backoff, timeouts and the deadline on a paused
//! clock, with a `tower_test` mock as SL1 (no socket), and the classification of errors by type.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery_common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use delivery_common::request;
use genhook::worker::{
    sl1_stack, AdaptiveLimit, Backoff, Breaker, Sl1Error, Sl1Request, Sl1Response, Sl1RetryPolicy,
};
use http::StatusCode;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tower::{BoxError, ServiceExt};

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

#[tokio::test]
async fn errors_are_classified_by_type_not_text() {
    let boxed: BoxError = Box::new(Sl1Error::Timeout);
    assert!(genhook::worker::policy::is_outage(&boxed));
    let text: BoxError = "connection refused".into();
    assert!(!genhook::worker::policy::is_outage(&text));
}
