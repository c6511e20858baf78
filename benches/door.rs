//! What a refused webhook costs (issue 9, "shed at the door"): one signed GitHub `pull_request`
//! delivery (`tests/fixtures/github/pull_request.opened.json`, a fresh `X-GitHub-Delivery` each
//! time) through GenHook's edge stack and router, in three situations, in the same run:
//!
//! | entry          | what happens                                                              |
//! |----------------|---------------------------------------------------------------------------|
//! | `accepted_202` | the queue has room: body read, HMAC, parse, extract, render, queued (memory) |
//! | `late_503`     | the queue refuses at the end of the stack, as before the door existed: all of the above, then `503 queue is full` |
//! | `door_503`     | the queue is full and the door knows: `503 queue is full` from the head alone |
//!
//! Each GenHook is started through the library as `genhook serve` starts it (the repository's
//! `mappings/github.ini` with `verify = github`), and requests are sent to its router in-process
//! (`tower::ServiceExt::oneshot`: no sockets, so the entries differ only in what GenHook does).
//! Read the results as ratios (`door_503` ÷ `accepted_202`): the machine is small and shared.
//! Run with `cargo bench --bench door`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::future::{self, BoxFuture, FutureExt};
use genhook::app::{GenHook, Running};
use genhook::config::Config;
use genhook::core::queue::{Accepted, Claim, Event, Queue, QueueError};
use genhook::queue::memory::MemoryQueue;
use genhook::queue::Backend;
use genhook::server::{edge, routes};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tower::ServiceExt as _;

const SECRET: &str = "s3cret";

/// Delivery ids unique across the run, so that no request is answered as a duplicate.
static NEXT_DELIVERY: AtomicU64 = AtomicU64::new(1);

/// The signed delivery.
struct Delivery {
    body: Bytes,
    signature: String,
}

impl Delivery {
    fn load(repo: &Path) -> Self {
        let body = std::fs::read(repo.join("tests/fixtures/github/pull_request.opened.json"))
            .expect("the GitHub fixture");
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(&body);
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        Self {
            body: Bytes::from(body),
            signature,
        }
    }

    fn request(&self) -> http::Request<Body> {
        let n = NEXT_DELIVERY.fetch_add(1, Ordering::Relaxed);
        http::Request::post("/webhook/github")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("content-length", self.body.len())
            .header("x-github-event", "pull_request")
            .header(
                "x-github-delivery",
                format!("6c1e2b7a-0000-4000-8000-{n:012x}"),
            )
            .header("x-hub-signature-256", &self.signature)
            .body(Body::from(self.body.clone()))
            .unwrap()
    }
}

/// A queue that always says it is full, but not to the door (its depth reads 0): every webhook
/// runs the whole stack and is refused at its end, as every refusal was before the door.
#[derive(Debug)]
struct RefusesLate;

impl Queue for RefusesLate {
    fn accept(&self, _: Event, _: Option<Claim>) -> BoxFuture<'_, Result<Accepted, QueueError>> {
        future::ready(Err(QueueError::Full)).boxed()
    }
    fn next(&self) -> BoxFuture<'_, Result<Option<Event>, QueueError>> {
        future::pending().boxed()
    }
    fn ack(&self, _: &Event) -> BoxFuture<'_, Result<(), QueueError>> {
        future::ready(Ok(())).boxed()
    }
    fn requeue(&self, _: Event, _: Duration) -> BoxFuture<'_, Result<(), QueueError>> {
        future::ready(Ok(())).boxed()
    }
    fn dead_letter(&self, _: Event) -> BoxFuture<'_, Result<(), QueueError>> {
        future::ready(Ok(())).boxed()
    }
    fn depth(&self) -> usize {
        0
    }
    fn capacity(&self) -> usize {
        1
    }
    fn close(&self) {}
    fn backend(&self) -> &'static str {
        "memory"
    }
}

/// A GenHook with the given queue backend, delivering to an SL1 that never answers (its one worker
/// holds the first event for the rest of the run), and its router with the edge stack.
async fn start(repo: &Path, dir: &Path, backend: Backend, sl1: &str) -> (Running, Router) {
    let mappings = dir.join("mappings");
    std::fs::create_dir_all(&mappings).unwrap();
    let github = std::fs::read_to_string(repo.join("mappings/github.ini"))
        .unwrap()
        .replace("; verify = github", "verify = github")
        .replace(
            "; secret = ${GENHOOK_GITHUB_SECRET}",
            &format!("secret = {SECRET}"),
        );
    std::fs::write(mappings.join("github.ini"), github).unwrap();
    let ini = format!(
        "server_host = 127.0.0.1\nserver_port = 0\nmappings_dir = {}\ndata_dir = {}\n\
         queue_backend = memory\nsl1_api_url = {sl1}\nsl1_username = bench\nsl1_password = bench\n\
         sl1_timeout = 3600s\nmax_worker_threads = 1\nreload = false\n",
        mappings.display(),
        dir.join("data").display()
    );
    let file = dir.join("genhook.ini");
    std::fs::write(&file, ini).unwrap();
    let config = Config::load(Some(&file), &|_: &str| None).expect("the bench configuration");
    let timeout = config.request_timeout;
    let running = GenHook::builder(config)
        .queue_backend(backend)
        .start()
        .await
        .expect("GenHook starts");
    let router = edge::wrap(routes::router(running.state().clone(), None), timeout);
    (running, router)
}

fn memory(queue: Arc<MemoryQueue>) -> Backend {
    Backend {
        dead_letters: queue.dead_letters(),
        queue,
    }
}

/// Sends one request through `router`; its status.
async fn send(router: &Router, delivery: &Delivery) -> u16 {
    let response = router.clone().oneshot(delivery.request()).await.unwrap();
    let status = response.status().as_u16();
    let _ = axum::body::to_bytes(response.into_body(), 1 << 16).await;
    status
}

fn door(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let delivery = Delivery::load(repo);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();

    let (accepted, door_full, late) = rt.block_on(async {
        // An SL1 that takes connections and never answers.
        let sl1 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sl1_url = format!("http://{}/api/alert", sl1.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = sl1.accept().await {
                held.push(stream);
            }
        });

        // Room for every request of the run: what the one worker does not hold is taken
        // (and acked) here.
        let roomy = Arc::new(MemoryQueue::new(usize::MAX / 2));
        let drained = Arc::clone(&roomy);
        tokio::spawn(async move {
            while let Ok(Some(event)) = drained.next().await {
                let _ = drained.ack(&event).await;
            }
        });
        let accepted = start(repo, dirs[0].path(), memory(roomy), &sl1_url).await;

        // Room for one event, which the worker holds: full.
        let full = Arc::new(MemoryQueue::new(1));
        let door_full = start(repo, dirs[1].path(), memory(Arc::clone(&full)), &sl1_url).await;
        assert_eq!(send(&door_full.1, &delivery).await, 202);
        while full.depth() < 1 {
            tokio::task::yield_now().await;
        }

        let late = Backend {
            queue: Arc::new(RefusesLate),
            dead_letters: MemoryQueue::new(1).dead_letters(),
        };
        let late = start(repo, dirs[2].path(), late, &sl1_url).await;
        (accepted, door_full, late)
    });

    let mut group = c.benchmark_group("door");
    group.throughput(Throughput::Bytes(delivery.body.len() as u64));
    for (name, (_, router), want) in [
        ("accepted_202", &accepted, 202),
        ("late_503", &late, 503),
        ("door_503", &door_full, 503),
    ] {
        assert_eq!(rt.block_on(send(router, &delivery)), want, "{name}");
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| send(router, &delivery));
        });
    }
    group.finish();
    drop((accepted, door_full, late));
}

criterion_group!(benches, door);
criterion_main!(benches);
