//! Running GenHook: hot reload keeps the old mappings when new ones fail, shutdown drains the
//! queue, and the metrics count what happened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::sl1_mock::{Answer, Sl1Mock};
use support::{metric_value, TestGenHook};

const WAIT: Duration = Duration::from_secs(10);

fn mapping(template: &str) -> String {
    format!("[shop]\nevent = type\n*: type,id::{template}\n")
}

#[tokio::test]
async fn a_reload_takes_a_valid_change_and_keeps_the_old_mappings_when_the_new_ones_fail() {
    let sl1 = Sl1Mock::start().await;
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", &mapping("first $id$"))
        .sl1(&sl1.url())
        .start()
        .await;
    let file = genhook.mappings_dir().join("shop.ini");

    std::fs::write(&file, mapping("second $id$")).unwrap();
    assert!(genhook.running().reload(), "a valid change was refused");
    assert_eq!(
        genhook
            .post("/webhook/shop", &[], r#"{"type":"t","id":"1"}"#)
            .await
            .status(),
        202
    );

    std::fs::write(&file, "[shop]\nevent = type\n*: type{::broken $id$\n").unwrap();
    assert!(!genhook.running().reload(), "a broken file was taken");
    assert_eq!(
        genhook
            .post("/webhook/shop", &[], r#"{"type":"t","id":"2"}"#)
            .await
            .status(),
        202
    );

    let messages: Vec<String> = sl1
        .wait_for_accepted(2, WAIT)
        .await
        .iter()
        .map(|r| r.message().unwrap().to_owned())
        .collect();
    assert!(messages.contains(&"second 1".to_owned()), "{messages:?}");
    assert!(messages.contains(&"second 2".to_owned()), "{messages:?}");
}

#[tokio::test]
async fn a_changed_mapping_file_is_picked_up_without_a_restart() {
    let sl1 = Sl1Mock::start().await;
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", &mapping("before $id$"))
        .sl1(&sl1.url())
        .set("reload", "true")
        .start()
        .await;
    std::fs::write(
        genhook.mappings_dir().join("shop.ini"),
        mapping("after $id$ (reloaded)"),
    )
    .unwrap();
    // The watcher looks every 2 s; post until the new template is in use (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut n = 0;
    loop {
        n += 1;
        let body = format!(r#"{{"type":"t","id":"{n}"}}"#);
        assert_eq!(genhook.post("/webhook/shop", &[], body).await.status(), 202);
        let seen = sl1.wait_for_accepted(n, WAIT).await;
        if seen
            .iter()
            .any(|r| r.message().unwrap_or_default().ends_with("(reloaded)"))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the change was never picked up"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn shutdown_drains_the_queue_before_stopping() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::created().delay(Duration::from_millis(100)))
        .start()
        .await;
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", &mapping("order $id$"))
        .sl1(&sl1.url())
        .set("max_worker_threads", 2)
        .set("shutdown_grace_period", "20s")
        .start()
        .await;
    for id in 0..20 {
        let body = format!(r#"{{"type":"t","id":"{id}"}}"#);
        assert_eq!(genhook.post("/webhook/shop", &[], body).await.status(), 202);
    }
    let (report, _dir) = genhook.shutdown().await;
    assert_eq!(report.left_in_queue, 0);
    assert_eq!(
        sl1.accepted().len(),
        20,
        "shutdown returned before the queue was drained"
    );
}

#[tokio::test]
async fn metrics_count_received_accepted_and_rejected_webhooks() {
    let genhook = TestGenHook::builder()
        .mapping("m.ini", "[metered]\nevent = type\npaid: type::Paid\n")
        .start()
        .await;
    for _ in 0..3 {
        assert_eq!(
            genhook
                .post("/webhook/metered", &[], r#"{"type":"paid"}"#)
                .await
                .status(),
            202
        );
    }
    assert_eq!(
        genhook
            .post("/webhook/metered", &[], r#"{"type":"refunded"}"#)
            .await
            .status(),
        422
    );
    assert_eq!(
        genhook
            .post("/webhook/metered", &[], "{oops")
            .await
            .status(),
        400
    );
    let text = genhook.metrics().await;
    let value = |name: &str, labels: &[&str]| metric_value(&text, name, labels).unwrap_or(0.0);
    assert_eq!(
        value(
            "genhook_webhooks_received_total",
            &[r#"source="metered""#, r#"event="paid""#]
        ),
        3.0
    );
    assert_eq!(
        value(
            "genhook_webhooks_received_total",
            &[r#"source="metered""#, r#"event="other""#]
        ),
        1.0,
        "an event no line names is counted as `other` (bounded labels)"
    );
    assert!(!text.contains(r#"event="refunded""#), "{text}");
    assert_eq!(
        value(
            "genhook_webhooks_accepted_total",
            &[r#"source="metered""#, r#"status="queued""#]
        ),
        3.0
    );
    assert_eq!(
        value("genhook_webhooks_rejected_total", &[r#"source="metered""#]),
        2.0
    );
    assert!(
        text.contains("genhook_layer_duration_seconds_bucket{source=\"metered\",layer=\"extract\""),
        "{text}"
    );
    assert!(text.contains("genhook_queue_depth{backend=\"memory\"}"));
    // Every answer is timed, by status (other tests of this binary may add to the counts).
    let answered = |status: &str| {
        value(
            "genhook_http_request_duration_seconds_count",
            &[format!("status=\"{status}\"").as_str()],
        )
    };
    assert!(answered("202") >= 3.0, "{text}");
    assert!(answered("422") >= 1.0, "{text}");
    assert!(answered("400") >= 1.0, "{text}");
}
