//! The admin API over the dead-letter queue: auth, list/show, replay with re-rendering, purge.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod queue_common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use genhook::admin::{router, AdminState, Rerender};
use genhook::core::queue::{
    Accepted, Claim, DeadLetterFilter, DeadLetters as _, Event, Priority, Queue,
};
use genhook::core::Secret;
use genhook::queue::memory::MemoryQueue;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use queue_common::event;
use serde_json::Value;
use tower::ServiceExt as _;

const TOKEN: &str = "admin-secret-token";

struct Fixture {
    queue: Arc<MemoryQueue>,
    app: axum::Router,
}

/// A memory queue with dead letters d1 (github push), d2 (github ping), d3 (stripe charge), and
/// an admin router whose re-render fixes messages, except for events of type `broken`.
async fn fixture(capacity: usize) -> Fixture {
    let queue = Arc::new(MemoryQueue::new(capacity));
    for (id, source, ev) in [
        ("d1", "github", "push"),
        ("d2", "github", "ping"),
        ("d3", "stripe", "broken"),
    ] {
        let mut e = event(id, source, ev, Priority::Normal);
        e.attempts = 7;
        e.last_error = Some("SL1 503".into());
        queue.dead_letter(e).await.unwrap();
    }
    let rerender: Rerender = Arc::new(|mut e: Event| {
        if e.event == "broken" {
            return Err("no mapping for stripe/broken".into());
        }
        e.alert.message = format!("fixed {}", e.id);
        Ok(e)
    });
    let state = AdminState {
        dead_letters: queue.dead_letters(),
        queue: queue.clone(),
        token: Secret::new(TOKEN),
        rerender,
    };
    Fixture {
        app: axum::Router::new().nest("/admin", router(state)),
        queue,
    }
}

async fn call(
    app: &axum::Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body: Bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_json() {
    let f = fixture(10).await;
    for token in [None, Some("wrong"), Some("admin-secret-toke"), Some("")] {
        let (status, body) = call(&f.app, Method::GET, "/admin/dlq", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(body["error"], "missing or wrong admin token");
    }
    let (status, _) = call(&f.app, Method::DELETE, "/admin/dlq", Some("nope")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        f.queue.dead_letters().count().await.unwrap(),
        3,
        "nothing purged without the token"
    );
}

#[tokio::test]
async fn list_filters_and_show() {
    let f = fixture(10).await;
    let (status, body) = call(&f.app, Method::GET, "/admin/dlq?source=github", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["count"], 2);
    assert_eq!(body["total"], 3);
    assert_eq!(body["dead_letters"][0]["id"], "d1");
    assert_eq!(body["dead_letters"][0]["attempts"], 7);
    assert_eq!(body["dead_letters"][1]["event"], "ping");
    let (_, body) = call(&f.app, Method::GET, "/admin/dlq?limit=1", Some(TOKEN)).await;
    assert_eq!(body["count"], 1);
    let (status, body) = call(&f.app, Method::GET, "/admin/dlq/d3", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["event"]["source"], "stripe");
    assert_eq!(body["event"]["last_error"], "SL1 503");
    let (status, body) = call(&f.app, Method::GET, "/admin/dlq/zzz", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no dead letter zzz");
    let (status, body) = call(&f.app, Method::GET, "/admin/dlq?limit=lots", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().starts_with("bad request"));
}

#[tokio::test]
async fn replay_renders_with_current_mappings_and_enqueues() {
    let f = fixture(10).await;
    let (status, body) = call(&f.app, Method::POST, "/admin/dlq/d1/replay", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["status"], "queued");
    let queued = f.queue.next().await.unwrap().unwrap();
    assert_eq!(queued.id, "d1");
    assert_eq!(
        queued.alert.message, "fixed d1",
        "rendered again, not the stored message"
    );
    assert_eq!(queued.attempts, 0);
    assert!(f.queue.dead_letters().get("d1").await.unwrap().is_none());
    let (status, _) = call(&f.app, Method::POST, "/admin/dlq/d1/replay", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "replayed once only");
}

/// A replay that queued its copy and then died (SIGKILL) before it removed the dead letter: the
/// dead letter is still there (never lost), and replaying it again finishes the job without
/// queueing a second copy. The interrupted first half is what `replay` does first: the fresh
/// copy queued with a claim on the dead letter's id and time.
#[tokio::test]
async fn a_replay_interrupted_after_queueing_finishes_without_a_second_copy() {
    let f = fixture(10).await;
    let letter = f.queue.dead_letters().get("d1").await.unwrap().unwrap();
    let claim = Claim {
        key: format!("dlq-replay:d1:{}", letter.dead_at_ms),
        window: Duration::from_secs(3600),
    };
    let accepted = f
        .queue
        .accept(letter.event.clone(), Some(claim))
        .await
        .unwrap();
    assert_eq!(accepted, Accepted::Queued);

    let (status, body) = call(&f.app, Method::POST, "/admin/dlq/d1/replay", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(f.queue.depth(), 1, "one copy queued, not two");
    assert!(f.queue.dead_letters().get("d1").await.unwrap().is_none());
}

#[tokio::test]
async fn replay_that_still_fails_to_render_goes_back_to_the_dlq() {
    let f = fixture(10).await;
    let (status, body) = call(&f.app, Method::POST, "/admin/dlq/d3/replay", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "render failed: no mapping for stripe/broken");
    let back = f.queue.dead_letters().get("d3").await.unwrap().unwrap();
    assert_eq!(
        back.event.last_error.as_deref(),
        Some("render failed: no mapping for stripe/broken")
    );
    assert_eq!(f.queue.depth(), 0);
}

#[tokio::test]
async fn replay_refused_by_a_full_queue_is_503_and_kept() {
    let f = fixture(0).await;
    let (status, body) = call(&f.app, Method::POST, "/admin/dlq/d2/replay", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["error"].as_str().unwrap().contains("full"));
    assert!(f.queue.dead_letters().get("d2").await.unwrap().is_some());
}

#[tokio::test]
async fn replay_all_matching_and_purge() {
    let f = fixture(10).await;
    let (status, body) = call(&f.app, Method::POST, "/admin/dlq/replay", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["replayed"], 2);
    assert_eq!(body["failed"][0]["id"], "d3");
    assert_eq!(f.queue.depth(), 2);
    let (status, body) = call(
        &f.app,
        Method::DELETE,
        "/admin/dlq?source=github",
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        (status, body["purged"].clone()),
        (StatusCode::OK, Value::from(0))
    );
    let (_, body) = call(
        &f.app,
        Method::DELETE,
        "/admin/dlq?source=stripe",
        Some(TOKEN),
    )
    .await;
    assert_eq!(body["purged"], 1);
    let all = f
        .queue
        .dead_letters()
        .list(&DeadLetterFilter::default())
        .await
        .unwrap();
    assert!(all.is_empty());
}

#[tokio::test]
async fn unknown_admin_route_is_json_404() {
    let f = fixture(10).await;
    let (status, body) = call(&f.app, Method::GET, "/admin/nope", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
}
