//! Shutdown as a client meets it: while the queue drains the listener stays open, webhooks get
//! `503` with `Retry-After` and a JSON error, `/readyz` is 503, `/healthz` is 200; a webhook
//! already inside the pipeline when shutdown began completes; once drained the port closes and
//! every webhook answered 202 reached SL1. In-process and over the real binary with SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash_common;
mod support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use genhook::core::{BuildContext, BuildError, LayerFactory, PipelineLayer, WebhookRequest};
use support::sl1_mock::{Answer, Sl1Mock};
use support::TestGenHook;
use tokio::sync::Semaphore;
use tower::util::BoxCloneSyncServiceLayer;
use tower::ServiceExt as _;

const WAIT: Duration = Duration::from_secs(20);

fn mapping() -> String {
    "[shop]\nevent = type\n*: type,id::order $id$\n".to_owned()
}

/// A fresh client per check, so no pooled connection hides what a new client meets.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Polls `/readyz` until it answers 503 (bounded).
async fn wait_not_ready(base: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(response) = client().get(format!("{base}/readyz")).send().await {
            if response.status() == 503 {
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["error"], "shutting down", "{body}");
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/readyz never turned 503"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a client meets during the drain: webhook 503 + Retry-After + JSON (+ Connection: close),
/// `/healthz` 200.
async fn assert_draining_answers(base: &str) {
    let response = client()
        .post(format!("{base}/webhook/shop"))
        .body(r#"{"type":"t","id":"late"}"#)
        .send()
        .await
        .expect("the listener must stay open while the queue drains");
    assert_eq!(response.status(), 503);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_eq!(response.headers()["connection"], "close");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "service is shutting down", "{body}");

    let health = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

/// Whether a TCP connection to `addr` is refused now.
fn port_closed(addr: SocketAddr) -> bool {
    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_the_drain_webhooks_and_readyz_get_503_then_the_port_closes() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::created().delay(Duration::from_millis(150)))
        .start()
        .await;
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", &mapping())
        .sl1(&sl1.url())
        .set("max_worker_threads", 1)
        .set("shutdown_grace_period", "30s")
        .start()
        .await;
    let accepted = 12;
    for id in 0..accepted {
        let body = format!(r#"{{"type":"t","id":"{id}"}}"#);
        assert_eq!(genhook.post("/webhook/shop", &[], body).await.status(), 202);
    }
    let addr = genhook.addr;
    let base = genhook.url("");
    let shutdown = tokio::spawn(genhook.shutdown());

    wait_not_ready(&base).await;
    assert_draining_answers(&base).await;
    assert!(
        sl1.accepted().len() < accepted,
        "the drain was over before the checks: the test proves nothing"
    );

    let (report, _dir) = tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("shutdown took longer than its bound")
        .unwrap();
    assert_eq!(report.left_in_queue, 0);
    assert_eq!(
        sl1.accepted().len(),
        accepted,
        "every webhook answered 202 reaches SL1, the one answered 503 does not"
    );
    assert!(port_closed(addr), "the port is still open after shutdown");
}

/// A stage that holds each request until the test lets it through.
#[derive(Clone)]
struct Gate {
    entered: Arc<AtomicBool>,
    open: Arc<Semaphore>,
}

impl LayerFactory for Gate {
    fn name(&self) -> &'static str {
        "gate"
    }

    fn build(&self, _cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        let gate = self.clone();
        Ok(BoxCloneSyncServiceLayer::new(tower::layer::layer_fn(
            move |inner: genhook::core::PipelineService| {
                let gate = gate.clone();
                tower::service_fn(move |request: WebhookRequest| {
                    let gate = gate.clone();
                    let inner = inner.clone();
                    async move {
                        gate.entered.store(true, Ordering::SeqCst);
                        let _permit = gate.open.acquire().await;
                        inner.oneshot(request).await
                    }
                })
            },
        )))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_inside_the_pipeline_when_shutdown_begins_still_completes() {
    let sl1 = Sl1Mock::start().await;
    let gate = Gate {
        entered: Arc::new(AtomicBool::new(false)),
        open: Arc::new(Semaphore::new(0)),
    };
    let entered = gate.entered.clone();
    let open = gate.open.clone();
    let genhook = TestGenHook::builder()
        .mapping(
            "shop.ini",
            "[shop]\nlayers = verify, identify, extract, template, gate, dispatch\nevent = type\n*: type,id::order $id$\n",
        )
        .sl1(&sl1.url())
        .set("shutdown_grace_period", "30s")
        .customize(move |builder| builder.register_layer(gate).unwrap())
        .start()
        .await;
    let base = genhook.url("");
    let addr = genhook.addr;
    let held = tokio::spawn({
        let url = genhook.url("/webhook/shop");
        async move {
            client()
                .post(url)
                .body(r#"{"type":"t","id":"held"}"#)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    assert!(
        support::eventually(WAIT, || entered.load(Ordering::SeqCst)).await,
        "the webhook never reached the gate"
    );
    let shutdown = tokio::spawn(genhook.shutdown());

    wait_not_ready(&base).await;
    assert_draining_answers(&base).await;
    assert!(!held.is_finished(), "the held webhook was answered early");

    open.add_permits(1);
    let status = tokio::time::timeout(WAIT, held).await.unwrap().unwrap();
    assert_eq!(
        status, 202,
        "a webhook in the pipeline before shutdown completes"
    );
    let (report, _dir) = tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("shutdown took longer than its bound")
        .unwrap();
    assert_eq!(report.left_in_queue, 0);
    let delivered = sl1.accepted();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].message(), Some("order held"));
    assert!(port_closed(addr), "the port is still open after shutdown");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_the_binary_answers_503_while_draining_then_exits() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::created().delay(Duration::from_millis(150)))
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let port = crash_common::free_port();
    let config = crash_common::write_config(
        dir.path(),
        "genhook",
        port,
        &sl1.url(),
        &[
            ("queue_backend", "disk".into()),
            ("max_worker_threads", "1".into()),
            ("shutdown_grace_period", "30s".into()),
            ("log_level", "info".into()),
        ],
    );
    let mut server =
        crash_common::Server::start(&config, port, dir.path().join("genhook.log")).await;
    let base = format!("http://127.0.0.1:{port}");
    let accepted = 12;
    for n in 0..accepted {
        let response = client()
            .post(format!("{base}/webhook/crash"))
            .body(format!(r#"{{"n":{n}}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }

    let status = std::process::Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    wait_not_ready(&base).await;
    let late = client()
        .post(format!("{base}/webhook/crash"))
        .body(r#"{"n":999}"#)
        .send()
        .await
        .expect("the listener must stay open while the queue drains");
    assert_eq!(late.status(), 503);
    assert!(late.headers().contains_key("retry-after"));
    let body: serde_json::Value = late.json().await.unwrap();
    assert_eq!(body["error"], "service is shutting down");
    let health = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(
        sl1.accepted().len() < accepted,
        "the drain was over before the checks: the test proves nothing"
    );

    let deadline = tokio::time::Instant::now() + WAIT;
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "genhook did not exit after SIGTERM: {}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit}: {}", server.log_text());
    assert_eq!(sl1.accepted().len(), accepted, "{}", server.log_text());
    assert!(port_closed(SocketAddr::from(([127, 0, 0, 1], port))));
    assert!(
        server.log_text().contains("Queue drained"),
        "{}",
        server.log_text()
    );
}
