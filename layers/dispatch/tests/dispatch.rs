//! Behaviour of the dispatch stage against an in-test queue (which keeps the claimed keys).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use genhook_core::queue::{Priority, Queue};
use genhook_core::stage::{ReceivedAt, RenderFailed, Rendered, SourceName};
use genhook_core::{AlertDefaults, MissingStage, WebhookRequest, WebhookResponse};
use genhook_dispatch::{Dispatch, DispatchError, DispatchLayer, DispatchSettings, REDACTED};
use http::StatusCode;
use support::{body, Mode, TestQueue, TestRequest};
use tower::{Layer, Service, ServiceExt};
use tower_test::mock;

type Inner = mock::Mock<WebhookRequest, WebhookResponse>;
type Handle = mock::Handle<WebhookRequest, WebhookResponse>;

struct Fixture {
    queue: Arc<TestQueue>,
    svc: Dispatch<Inner>,
    handle: Handle,
}

impl Fixture {
    fn new() -> Self {
        Self::with_settings(DispatchSettings::new("github"))
    }

    fn with_settings(settings: DispatchSettings) -> Self {
        let queue = TestQueue::new();
        let (inner, handle) = mock::pair();
        let layer = DispatchLayer::new(Arc::clone(&queue) as Arc<dyn Queue>, settings);
        Self {
            queue,
            svc: layer.layer(inner),
            handle,
        }
    }

    async fn call(
        &mut self,
        request: WebhookRequest,
    ) -> Result<WebhookResponse, genhook_core::PipelineError> {
        self.svc.ready().await?.call(request).await
    }

    fn assert_inner_never_called(&mut self) {
        assert!(
            self.handle.poll_request().is_pending(),
            "dispatch must never call its inner service"
        );
    }
}

#[tokio::test]
async fn rendered_webhook_is_queued_with_202() {
    let mut fx = Fixture::new();
    let response = fx
        .call(TestRequest::github().delivery("d-1").build())
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["content-type"], "application/json");
    let queued = fx.queue.queued();
    assert_eq!(queued.len(), 1);
    let event = &queued[0];
    assert_eq!(
        body(&response),
        serde_json::json!({"id": event.id, "source": "github", "event": "pull_request", "status": "queued"})
    );
    assert_eq!(event.source, "github");
    assert_eq!(event.event, "pull_request");
    assert_eq!(event.delivery_id.as_deref(), Some("d-1"));
    assert_eq!(event.alert.message, "GitHub opened on genhook");
    assert_eq!(event.alert.aligned_resource, "/api/organization/0");
    assert_eq!(event.render_error, None);
    assert_eq!(event.attempts, 0);
    assert_eq!(&event.body[..], br#"{"action":"opened"}"#);
    let id = uuid::Uuid::parse_str(&event.id).unwrap();
    assert_eq!(id.get_version_num(), 7, "event ids are UUIDv7");
    assert!(fx.queue.dead().is_empty());
    fx.assert_inner_never_called();
}

#[tokio::test]
async fn event_carries_priority_alert_fields_and_receipt_time() {
    let alert = AlertDefaults {
        force_ytype: "2".into(),
        aligned_resource: "/api/device/7".into(),
        ..AlertDefaults::default()
    };
    let settings = DispatchSettings::new("github")
        .with_priority(Priority::High)
        .with_alert(alert);
    let mut fx = Fixture::with_settings(settings);
    let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    fx.call(TestRequest::github().extension(ReceivedAt(at)).build())
        .await
        .unwrap();

    let event = &fx.queue.queued()[0];
    assert_eq!(event.priority, Priority::High);
    assert_eq!(event.received_at_ms, 1_700_000_000_123);
    assert_eq!(event.alert.force_ytype, "2");
    assert_eq!(event.alert.force_yid, "0");
    assert_eq!(event.alert.aligned_resource, "/api/device/7");
    assert_eq!(event.alert.message, "GitHub opened on genhook");
}

#[tokio::test]
async fn without_receipt_time_now_is_used() {
    let mut fx = Fixture::new();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    fx.call(TestRequest::github().build()).await.unwrap();
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let at = fx.queue.queued()[0].received_at_ms;
    assert!(before <= at && at <= after, "{before} <= {at} <= {after}");
}

#[tokio::test]
async fn source_falls_back_to_the_configured_name() {
    let mut fx = Fixture::with_settings(DispatchSettings::new("legacy"));
    fx.call(TestRequest::github().without::<SourceName>().build())
        .await
        .unwrap();
    assert_eq!(fx.queue.queued()[0].source, "legacy");
}

#[tokio::test]
async fn sensitive_headers_are_redacted_in_the_event() {
    let mut fx = Fixture::new();
    let request = TestRequest::github()
        .header("authorization", "Basic dXNlcjpodW50ZXIy")
        .header("x-hub-signature-256", "sha256=0123abcd")
        .header("x-slack-signature", "v0=feed")
        .header("x-api-key", "k-123")
        .header("cookie", "session=s3cr3t")
        .header("x-github-event", "pull_request")
        .build();
    fx.call(request).await.unwrap();

    let headers = &fx.queue.queued()[0].headers;
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    };
    for name in [
        "authorization",
        "x-hub-signature-256",
        "x-slack-signature",
        "x-api-key",
        "cookie",
    ] {
        assert_eq!(get(name), REDACTED, "{name}");
    }
    assert_eq!(get("x-github-event"), "pull_request");
    let all = format!("{headers:?}");
    for secret in [
        "hunter2",
        "dXNlcjpodW50ZXIy",
        "0123abcd",
        "feed",
        "k-123",
        "s3cr3t",
    ] {
        assert!(!all.contains(secret), "{secret} leaked: {all}");
    }
}

#[tokio::test]
async fn redelivery_is_200_duplicate_and_not_queued_again() {
    let mut fx = Fixture::new();
    let first = fx
        .call(TestRequest::github().delivery("abc").build())
        .await
        .unwrap();
    let second = fx
        .call(TestRequest::github().delivery("abc").build())
        .await
        .unwrap();

    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(
        body(&second),
        serde_json::json!({"source": "github", "event": "pull_request", "status": "duplicate"})
    );
    assert_eq!(fx.queue.queued().len(), 1);
    let claims = fx.queue.claims();
    assert_eq!(claims.len(), 2);
    assert_eq!(
        claims[0],
        ("github:abc".to_owned(), Duration::from_secs(72 * 3600))
    );
    fx.assert_inner_never_called();
}

#[tokio::test]
async fn different_delivery_ids_are_both_queued() {
    let mut fx = Fixture::new();
    fx.call(TestRequest::github().delivery("a").build())
        .await
        .unwrap();
    fx.call(TestRequest::github().delivery("b").build())
        .await
        .unwrap();
    assert_eq!(fx.queue.queued().len(), 2);
}

#[tokio::test]
async fn without_delivery_id_nothing_is_claimed() {
    let mut fx = Fixture::new();
    fx.call(TestRequest::github().build()).await.unwrap();
    fx.call(TestRequest::github().build()).await.unwrap();
    assert_eq!(fx.queue.queued().len(), 2);
    assert!(fx.queue.claims().is_empty());
}

#[tokio::test]
async fn zero_window_turns_deduplication_off() {
    let mut fx =
        Fixture::with_settings(DispatchSettings::new("github").with_dedup_window(Duration::ZERO));
    fx.call(TestRequest::github().delivery("x").build())
        .await
        .unwrap();
    fx.call(TestRequest::github().delivery("x").build())
        .await
        .unwrap();
    assert_eq!(fx.queue.queued().len(), 2);
    assert!(fx.queue.claims().is_empty());
}

#[tokio::test]
async fn configured_window_is_passed_to_the_queue() {
    let window = Duration::from_secs(24 * 3600);
    let mut fx = Fixture::with_settings(DispatchSettings::new("github").with_dedup_window(window));
    fx.call(TestRequest::github().delivery("x").build())
        .await
        .unwrap();
    assert_eq!(fx.queue.claims(), vec![("github:x".to_owned(), window)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redelivery_storm_enqueues_exactly_once() {
    let fx = Fixture::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let mut svc = fx.svc.clone();
        let barrier = Arc::clone(&barrier);
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let request = TestRequest::github().delivery("storm-1").build();
            svc.ready()
                .await
                .unwrap()
                .call(request)
                .await
                .unwrap()
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    let duplicates = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!((accepted, duplicates), (1, 49));
    assert_eq!(fx.queue.queued().len(), 1);
    assert_eq!(fx.queue.claims().len(), 50);
}

#[tokio::test]
async fn full_queue_is_503_with_retry_after_and_the_retry_is_accepted() {
    let mut fx = Fixture::new();
    fx.queue.set_mode(Mode::Full);
    let error = fx
        .call(TestRequest::github().delivery("r").build())
        .await
        .unwrap_err();

    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(error.public_reason(), "queue is full");
    assert!(matches!(
        error.downcast_ref::<DispatchError>(),
        Some(DispatchError::QueueFull)
    ));

    // The provider's retry, once the queue has room, is accepted (not taken for a duplicate).
    fx.queue.set_mode(Mode::Accept);
    let retry = fx
        .call(TestRequest::github().delivery("r").build())
        .await
        .unwrap();
    assert_eq!(retry.status(), StatusCode::ACCEPTED);
    assert_eq!(fx.queue.queued().len(), 1);
}

#[tokio::test]
async fn closed_queue_is_503_shutting_down() {
    let mut fx = Fixture::new();
    fx.queue.close();
    let error = fx.call(TestRequest::github().build()).await.unwrap_err();
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert!(matches!(
        error.downcast_ref::<DispatchError>(),
        Some(DispatchError::ShuttingDown)
    ));
}

#[tokio::test]
async fn storage_failure_is_500_without_internals() {
    let mut fx = Fixture::new();
    fx.queue.set_mode(Mode::Storage);
    let error = fx
        .call(TestRequest::github().delivery("s").build())
        .await
        .unwrap_err();
    assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error.public_reason(), "internal error");
    assert_eq!(error.retry_after(), None);
    assert!(!error.to_string().contains("redb"));
    assert!(matches!(
        error.downcast_ref::<DispatchError>(),
        Some(DispatchError::Storage(_))
    ));
    assert!(fx.queue.queued().is_empty());
}

#[tokio::test]
async fn unreachable_store_is_503_with_retry_after_without_internals() {
    let mut fx = Fixture::new();
    fx.queue.set_mode(Mode::Unavailable);
    let error = fx
        .call(TestRequest::github().delivery("u").build())
        .await
        .unwrap_err();
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    assert_eq!(error.public_reason(), "queue is unavailable");
    assert!(!error.to_string().contains("secret"));
    assert!(matches!(
        error.downcast_ref::<DispatchError>(),
        Some(DispatchError::Unavailable(_))
    ));
    assert!(fx.queue.queued().is_empty());
}

#[tokio::test]
async fn render_failure_is_dead_lettered_with_202() {
    let mut fx = Fixture::new();
    let request = TestRequest::github()
        .without::<Rendered>()
        .extension(RenderFailed::new(
            "template of m.ini:3 failed: truncate needs a number",
        ))
        .delivery("dl")
        .build();
    let response = fx.call(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let dead = fx.queue.dead();
    assert_eq!(dead.len(), 1);
    assert!(fx.queue.queued().is_empty());
    assert_eq!(
        dead[0].render_error.as_deref(),
        Some("template of m.ini:3 failed: truncate needs a number")
    );
    assert_eq!(
        body(&response),
        serde_json::json!({"id": dead[0].id, "source": "github", "event": "pull_request", "status": "dead_lettered"})
    );
    fx.assert_inner_never_called();
}

#[tokio::test]
async fn missing_rendered_message_is_500_missing_stage() {
    let mut fx = Fixture::new();
    let error = fx
        .call(TestRequest::github().without::<Rendered>().build())
        .await
        .unwrap_err();
    assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(error.is::<MissingStage>());
    assert!(fx.queue.queued().is_empty());
    assert!(fx.queue.claims().is_empty());
}

#[tokio::test]
async fn dispatch_is_always_ready_even_when_inner_is_not() {
    let mut fx = Fixture::new();
    fx.handle.allow(0);
    let response = fx.call(TestRequest::github().build()).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}
