//! Shedding at the door (issue 9): while the queue is full, its storage unavailable, or the
//! service draining, a webhook is answered `503` + `Retry-After` + `{"error": …}` from its head
//! alone, before its body is read. Each refusal here is of a request whose body is withheld (only
//! the head with its `Content-Length` is sent), so an answer proves that it came before the body;
//! `request_timeout` is longer than every wait, so the server never answers for another reason.
//! Admission holds a queue slot per admitted webhook: of many concurrent webhooks, no more are
//! admitted than the queue has room for. Once room is made, webhooks get `202` and everything
//! answered `202` reaches SL1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use genhook::queue::disk::{self, FaultSwitch};
use support::sl1_mock::{Answer, Sl1Mock};
use support::{TestBuilder, TestGenHook};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The bound of every wait: generous, nothing here asserts a speed.
const WAIT: Duration = Duration::from_secs(60);

/// The withheld bodies' declared length: a GitHub `pull_request` delivery's size.
const DECLARED: usize = 25_194;

fn mapping() -> &'static str {
    "[shop]\nevent = type\n*: type,id::order $id$\n"
}

fn body(id: &str) -> String {
    format!(r#"{{"type":"t","id":"{id}"}}"#)
}

/// GenHook delivering to `sl1`, one worker, with a `request_timeout` far beyond [`WAIT`].
fn genhook(sl1: &Sl1Mock) -> TestBuilder {
    TestGenHook::builder()
        .mapping("shop.ini", mapping())
        .sl1(&sl1.url())
        .set("max_worker_threads", 1)
        .set("sl1_timeout", "1200s")
        .set("request_timeout", "1200s")
        .set("shutdown_grace_period", "120s")
}

/// An HTTP/1.1 answer read off a raw connection.
#[derive(Debug)]
struct RawAnswer {
    status: u16,
    headers: BTreeMap<String, String>,
    json: serde_json::Value,
}

impl RawAnswer {
    /// Asserts a refusal at the door: 503, `Retry-After` ≥ 1, `Connection: close`, and `reason`.
    fn assert_refused(&self, reason: &str) {
        assert_eq!(self.status, 503, "{self:?}");
        let retry_after: u64 = self.headers["retry-after"].parse().unwrap();
        assert!(retry_after >= 1, "{self:?}");
        assert_eq!(self.headers["connection"], "close", "{self:?}");
        assert_eq!(self.json["error"], reason, "{self:?}");
    }
}

/// Sends a webhook's head declaring a [`DECLARED`]-byte body and none of the body.
async fn head_only(addr: SocketAddr, id: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /webhook/shop HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nx-test-id: {id}\r\ncontent-length: {DECLARED}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// The body [`head_only`] declared, for webhook `id`.
fn declared_body(id: &str) -> Vec<u8> {
    let mut bytes = format!(r#"{{"type":"t","id":"{id}","pad":""#).into_bytes();
    bytes.resize(DECLARED - 2, b'x');
    bytes.extend_from_slice(b"\"}");
    bytes
}

/// Reads one answer (head and `Content-Length` body).
async fn read_answer(stream: &mut TcpStream) -> std::io::Result<RawAnswer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .map_or(0, |v| v.parse().unwrap());
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let json = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or_default();
    Ok(RawAnswer {
        status,
        headers,
        json,
    })
}

/// A webhook whose body is never sent: its answer, which must come without the body.
async fn answer_without_body(addr: SocketAddr, id: &str) -> RawAnswer {
    let mut stream = head_only(addr, id).await;
    tokio::time::timeout(WAIT, read_answer(&mut stream))
        .await
        .unwrap_or_else(|_| panic!("no answer to webhook {id} while its body is withheld"))
        .unwrap()
}

/// How many times SL1 accepted each order, by id.
fn orders(sl1: &Sl1Mock) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for request in sl1.accepted() {
        if let Some(id) = request.message().and_then(|m| m.strip_prefix("order ")) {
            *seen.entry(id.to_owned()).or_default() += 1;
        }
    }
    seen
}

/// Waits until SL1 accepted every one of `ids`.
async fn all_reach_sl1(sl1: &Sl1Mock, ids: &[String]) {
    assert!(
        support::eventually(WAIT, || {
            let seen = orders(sl1);
            ids.iter().all(|id| seen.contains_key(id))
        })
        .await,
        "not everything answered 202 reached SL1: wanted {ids:?}, got {:?}",
        orders(sl1)
    );
}

async fn post(genhook: &TestGenHook, id: &str) -> u16 {
    genhook
        .post("/webhook/shop", &[], body(id))
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_full_queue_answers_503_before_the_body_and_202_once_room_is_made() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::gated())
        .start()
        .await;
    let genhook = genhook(&sl1).set("queue_max_size", 2).start().await;
    let queue = genhook.running().backend().queue.clone();

    // The worker holds the first delivery at SL1's gate; the second waits: the queue is full.
    for id in ["a0", "a1"] {
        assert_eq!(post(&genhook, id).await, 202);
    }
    sl1.wait_for_requests(1, WAIT).await;
    assert_eq!(queue.depth(), 2);

    answer_without_body(genhook.addr, "full")
        .await
        .assert_refused("queue is full");
    let refused = genhook.post("/webhook/shop", &[], body("full2")).await;
    assert_eq!(refused.status(), 503);
    let metrics = genhook.metrics().await;
    assert!(
        support::metric_value(
            &metrics,
            "genhook_webhooks_rejected_total",
            &["source=\"shop\"", "reason=\"queue_full\""]
        )
        .is_some_and(|n| n >= 2.0),
        "{metrics}"
    );

    // SL1 answers: the queue empties, webhooks are admitted again.
    sl1.open_gate();
    assert!(support::eventually(WAIT, || queue.depth() == 0).await);
    for id in ["b0", "b1"] {
        assert_eq!(post(&genhook, id).await, 202);
    }
    let accepted: Vec<String> = ["a0", "a1", "b0", "b1"].map(str::to_owned).to_vec();
    all_reach_sl1(&sl1, &accepted).await;
    assert_eq!(genhook.running().state().webhooks_admitted(), 0);
}

#[tokio::test]
async fn unavailable_storage_answers_503_before_the_body_and_202_once_it_heals() {
    let sl1 = Sl1Mock::start().await;
    let dir = tempfile::tempdir().unwrap();
    let faults = FaultSwitch::new();
    let backend = disk::open_backend_with_faults(&dir.path().join("queue"), 1_000, faults.clone())
        .await
        .unwrap();
    let genhook = genhook(&sl1)
        .set("queue_backend", "disk")
        .customize(move |builder| builder.queue_backend(backend))
        .start()
        .await;
    let queue = genhook.running().backend().queue.clone();
    assert_eq!(post(&genhook, "before").await, 202);

    // The first write after the disk filled up meets the fault (refused by the queue itself);
    // from then on the door knows.
    faults.fail_with(FaultSwitch::DISK_FULL);
    assert_eq!(post(&genhook, "meets-the-fault").await, 503);
    assert!(!queue.is_available());
    answer_without_body(genhook.addr, "unavailable")
        .await
        .assert_refused("queue is unavailable");

    faults.clear();
    assert!(
        support::eventually(WAIT, || queue.is_available()).await,
        "the store was not reopened"
    );
    assert_eq!(post(&genhook, "after").await, 202);
    all_reach_sl1(&sl1, &["before".to_owned(), "after".to_owned()]).await;
}

#[tokio::test]
async fn draining_answers_503_before_the_body() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::gated())
        .start()
        .await;
    let genhook = genhook(&sl1).start().await;
    assert_eq!(post(&genhook, "queued").await, 202);
    sl1.wait_for_requests(1, WAIT).await;
    let (addr, state) = (genhook.addr, genhook.running().state().clone());
    let metrics_url = genhook.url("/metrics");
    let shutdown = tokio::spawn(genhook.shutdown());
    assert!(support::eventually(WAIT, || state.is_shutting_down()).await);

    answer_without_body(addr, "late")
        .await
        .assert_refused("service is shutting down");
    // Counted like every refusal, by source and reason.
    let metrics = reqwest::get(&metrics_url)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        support::metric_value(
            &metrics,
            "genhook_webhooks_rejected_total",
            &["source=\"shop\"", "reason=\"shutting_down\""]
        )
        .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );

    sl1.open_gate();
    let (report, _dir) = tokio::time::timeout(WAIT, shutdown)
        .await
        .expect("the drain did not end")
        .unwrap();
    assert_eq!(report.left_in_queue, 0);
    all_reach_sl1(&sl1, &["queued".to_owned()]).await;
}

/// What became of one of the concurrent webhooks.
#[derive(Debug)]
enum Fate {
    /// Answered while its body was withheld.
    Refused(RawAnswer),
    /// Still waiting for its body when told to send it; then answered.
    Sent(RawAnswer),
}

#[tokio::test]
async fn of_many_concurrent_webhooks_no_more_are_admitted_than_the_queue_has_room_for() {
    const FREE: usize = 3;
    const SENT: usize = 40;
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::gated())
        .start()
        .await;
    let genhook = genhook(&sl1).set("queue_max_size", FREE).start().await;
    let state = genhook.running().state().clone();

    // SENT heads at once, bodies withheld: the door admits FREE and refuses the rest at once.
    let (send_bodies, go) = tokio::sync::watch::channel(false);
    let (refusals, mut refused) = tokio::sync::mpsc::unbounded_channel();
    let tasks: Vec<_> = (0..SENT)
        .map(|n| {
            let (mut go, refusals) = (go.clone(), refusals.clone());
            let addr = genhook.addr;
            tokio::spawn(async move {
                let id = format!("c{n}");
                let mut stream = head_only(addr, &id).await;
                let fate = tokio::select! {
                    answer = read_answer(&mut stream) => Fate::Refused(answer.unwrap()),
                    () = async { drop(go.wait_for(|go| *go).await) } => {
                        stream.write_all(&declared_body(&id)).await.unwrap();
                        Fate::Sent(read_answer(&mut stream).await.unwrap())
                    }
                };
                if matches!(fate, Fate::Refused(_)) {
                    let _ = refusals.send(());
                }
                (id, fate)
            })
        })
        .collect();
    drop(refusals);
    for _ in 0..SENT - FREE {
        tokio::time::timeout(WAIT, refused.recv())
            .await
            .expect("fewer refusals than webhooks beyond the free slots, before any body was sent")
            .unwrap();
    }
    assert_eq!(state.webhooks_admitted(), FREE);

    send_bodies.send_replace(true);
    let mut accepted = Vec::new();
    let mut refusals = 0;
    for task in tasks {
        let (id, fate) = tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
        match fate {
            Fate::Refused(answer) => {
                answer.assert_refused("queue is full");
                refusals += 1;
            }
            Fate::Sent(answer) => {
                assert_eq!(answer.status, 202, "{id}: {answer:?}");
                accepted.push(id);
            }
        }
    }
    assert_eq!(accepted.len(), FREE, "{accepted:?}");
    assert_eq!(refusals, SENT - FREE);

    sl1.open_gate();
    all_reach_sl1(&sl1, &accepted).await;
    assert!(support::eventually(WAIT, || state.webhooks_admitted() == 0).await);
}

/// A body of about `size` bytes for webhook `id`.
fn padded_body(id: &str, size: usize) -> String {
    format!(r#"{{"type":"t","id":"{id}","pad":"{}"}}"#, "x".repeat(size))
}

/// `queue_max_bytes` bounds the queue by bytes: a queue holding nothing takes one webhook larger
/// than the bound; holding it, the queue is at its bound and the door refuses the next webhook
/// before its body (`queue is full`), `/metrics` shows the bytes held; once delivered, the bytes
/// leave and webhooks are admitted again.
#[tokio::test]
async fn the_byte_bound_answers_503_before_the_body_and_202_once_the_bytes_leave() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::gated())
        .start()
        .await;
    let genhook = genhook(&sl1).set("queue_max_bytes", "10KB").start().await;
    let queue = genhook.running().backend().queue.clone();
    assert_eq!(queue.max_bytes(), 10 << 10);

    let big = genhook
        .post("/webhook/shop", &[], padded_body("big", 12_000))
        .await;
    assert_eq!(
        big.status(),
        202,
        "an empty queue takes one webhook of any size"
    );
    sl1.wait_for_requests(1, WAIT).await;
    assert!(queue.bytes() > 12_000, "{}", queue.bytes());
    assert_eq!(queue.depth(), 1, "one event: far below any count bound");

    answer_without_body(genhook.addr, "over")
        .await
        .assert_refused("queue is full");
    let metrics = genhook.metrics().await;
    let held = support::metric_value(&metrics, "genhook_queue_bytes", &["backend=\"memory\""]);
    assert!(held.is_some_and(|b| b > 12_000.0), "{metrics}");

    sl1.open_gate();
    assert!(support::eventually(WAIT, || queue.bytes() == 0).await);
    assert_eq!(post(&genhook, "after").await, 202);
    all_reach_sl1(&sl1, &["big".to_owned(), "after".to_owned()]).await;
}
