//! End to end: GenHook in process, a webhook in, an alert at the SL1 mock, in each threading
//! model (`async` on one thread).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery_common;
mod support;

use delivery_common::WAIT;
use support::sl1_mock::{Answer, Sl1Mock};

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
