//! The rate-limit stage on governor's fake clock: never the wall clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;
use std::time::Duration;

use bytes::Bytes;
use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
use genhook_rate_limit::{parse_rate, RateLimit, RateLimitError, RateLimitLayer};
use governor::clock::FakeRelativeClock;
use http::StatusCode;
use tokio_test::{assert_pending, assert_ready_ok};
use tower::{Layer, Service, ServiceExt};
use tower_test::mock;

type Mock = mock::Mock<WebhookRequest, WebhookResponse>;

fn request() -> WebhookRequest {
    WebhookRequest::new(Bytes::from_static(b"{}"))
}

fn limited(rate: &str) -> (RateLimitLayer<FakeRelativeClock>, FakeRelativeClock) {
    let clock = FakeRelativeClock::default();
    (
        RateLimitLayer::with_clock(parse_rate(rate).unwrap(), clock.clone()),
        clock,
    )
}

/// Calls the service once; answers the inner mock with 200 if the request reaches it.
async fn call(
    svc: &mut RateLimit<Mock, FakeRelativeClock>,
    handle: &mut mock::Handle<WebhookRequest, WebhookResponse>,
) -> Result<WebhookResponse, PipelineError> {
    let future = svc.ready().await.unwrap().call(request());
    if let std::task::Poll::Ready(Some((_, send))) = handle.poll_request() {
        send.send_response(WebhookResponse::new(Bytes::new()));
    }
    future.await
}

#[tokio::test]
async fn over_quota_is_429_with_retry_after_and_never_reaches_inner() {
    let (layer, _clock) = limited("2/s");
    let (inner, mut handle) = mock::pair();
    let mut svc = layer.layer(inner);

    for _ in 0..2 {
        let response = call(&mut svc, &mut handle).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let future = svc.ready().await.unwrap().call(request());
    assert!(
        handle.poll_request().is_pending(),
        "a limited webhook must not reach the inner service"
    );
    let error = future.await.unwrap_err();
    assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error.public_reason(), "rate limit exceeded");
    assert_eq!(error.metric_reason(), "rate_limited");
    // 2/s replenishes one cell every 500 ms, and no time has passed.
    assert_eq!(error.retry_after(), Some(Duration::from_millis(500)));
    assert_eq!(
        error.downcast_ref::<RateLimitError>(),
        Some(&RateLimitError::Limited {
            retry_after: Duration::from_millis(500)
        })
    );
}

#[tokio::test]
async fn retry_after_shrinks_as_time_passes_and_quota_refills() {
    let (layer, clock) = limited("2/s");
    let (inner, mut handle) = mock::pair();
    let mut svc = layer.layer(inner);
    call(&mut svc, &mut handle).await.unwrap();
    call(&mut svc, &mut handle).await.unwrap();

    clock.advance(Duration::from_millis(200));
    let error = call(&mut svc, &mut handle).await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_millis(300)));

    clock.advance(Duration::from_millis(300));
    let response = call(&mut svc, &mut handle).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        call(&mut svc, &mut handle).await.is_err(),
        "one cell refilled, not two"
    );
}

#[tokio::test]
async fn burst_lets_more_through_at_once() {
    let (layer, _clock) = limited("1/s burst 5");
    let (inner, mut handle) = mock::pair();
    let mut svc = layer.layer(inner);
    for i in 0..5 {
        assert!(
            call(&mut svc, &mut handle).await.is_ok(),
            "request {i} is within the burst"
        );
    }
    let error = call(&mut svc, &mut handle).await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
}

#[tokio::test]
async fn clones_and_services_of_one_layer_share_one_quota() {
    let (layer, _clock) = limited("3/m");
    let leaf = tower::service_fn(|_req: WebhookRequest| async {
        Ok::<_, PipelineError>(WebhookResponse::new(Bytes::new()))
    });
    let first = layer.layer(leaf);
    let second = layer.layer(leaf);
    assert!(first.clone().oneshot(request()).await.is_ok());
    assert!(second.clone().oneshot(request()).await.is_ok());
    assert!(first.clone().oneshot(request()).await.is_ok());
    let error = second.oneshot(request()).await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(20)));
}

#[tokio::test]
async fn unlimited_layer_passes_everything() {
    let layer = RateLimitLayer::unlimited();
    assert_eq!(layer.quota(), None);
    let svc = layer.layer(tower::service_fn(|_req: WebhookRequest| async {
        Ok::<_, PipelineError>(WebhookResponse::new(Bytes::new()))
    }));
    for _ in 0..1_000 {
        let response = svc.clone().oneshot(request()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn readiness_follows_the_inner_service() {
    let (layer, _clock) = limited("1/s");
    let (mut svc, mut handle) = mock::spawn_layer::<WebhookRequest, WebhookResponse, _>(layer);
    handle.allow(0);
    assert_pending!(svc.poll_ready());
    handle.allow(1);
    assert_ready_ok!(svc.poll_ready());
}

#[test]
fn layer_debug_shows_the_quota() {
    let layer = RateLimitLayer::new(governor::Quota::per_second(NonZeroU32::new(50).unwrap()));
    let text = format!("{layer:?}");
    assert!(text.starts_with("RateLimitLayer"), "{text}");
    assert_eq!(layer.quota().unwrap().burst_size().get(), 50);
}
