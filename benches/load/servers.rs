//! The two loopback servers of the bench: the bare hyper baseline and the SL1 mock.
//!
//! - [`bare`]: hyper (the same `hyper-util` auto connection builder GenHook uses) answering
//!   `202` to every request once it has read the body, and nothing else: the ceiling of the HTTP
//!   stack on this machine, against which GenHook's figures are read.
//! - [`Sl1Mock`]: `POST /api/alert` answered `201`, counting the alerts whose `message` starts
//!   with what the mapping must render, and noting when the last one arrived (end-to-end time);
//!   it can take a fixed time to answer each alert (a slow SL1, for the burst).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A server running on a task of its own; aborting the task stops accepting.
#[derive(Debug)]
pub(crate) struct Running {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Serves `handler` on a fresh `127.0.0.1:0` listener; call inside the runtime that should run it.
pub(crate) async fn serve<F, Fut>(handler: F) -> Running
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("a bound address");
    let accept = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(request).await) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Running { addr, accept }
}

/// The bare hyper baseline: reads the body, answers `202` with a small JSON body.
pub(crate) async fn bare() -> Running {
    serve(|request: Request<Incoming>| async move {
        let _ = request.into_body().collect().await;
        let mut response = Response::new(Full::new(Bytes::from_static(br#"{"status":"queued"}"#)));
        *response.status_mut() = StatusCode::ACCEPTED;
        response
    })
    .await
}

/// What the SL1 mock has seen.
#[derive(Debug)]
struct Seen {
    expected: String,
    good: AtomicUsize,
    wrong: AtomicUsize,
    last: Mutex<Option<Instant>>,
    total: watch::Sender<usize>,
}

/// A mock of SL1's alert API.
#[derive(Debug)]
pub(crate) struct Sl1Mock {
    server: Running,
    seen: Arc<Seen>,
}

impl Sl1Mock {
    /// Starts the mock; an alert counts as good when it has Basic auth and its `message` starts
    /// with `expected`. Each answer is sent `delay` after the alert was read (zero: at once); the
    /// alert counts as arrived when it is answered, as SL1 accepted it then.
    pub(crate) async fn start(expected: &str, delay: Duration) -> Self {
        let seen = Arc::new(Seen {
            expected: expected.to_owned(),
            good: AtomicUsize::new(0),
            wrong: AtomicUsize::new(0),
            last: Mutex::new(None),
            total: watch::Sender::new(0),
        });
        let state = Arc::clone(&seen);
        let server = serve(move |request: Request<Incoming>| {
            let seen = Arc::clone(&state);
            async move {
                let basic = request
                    .headers()
                    .get(http::header::AUTHORIZATION)
                    .is_some_and(|v| v.as_bytes().starts_with(b"Basic "));
                let body = request.into_body().collect().await.map(|b| b.to_bytes());
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let good = basic
                    && body.ok().is_some_and(|body| {
                        serde_json::from_slice::<serde_json::Value>(&body)
                            .ok()
                            .is_some_and(|json| {
                                json.get("message")
                                    .and_then(serde_json::Value::as_str)
                                    .is_some_and(|m| m.starts_with(&seen.expected))
                            })
                    });
                if good {
                    seen.good.fetch_add(1, Ordering::Relaxed);
                } else {
                    seen.wrong.fetch_add(1, Ordering::Relaxed);
                }
                if let Ok(mut last) = seen.last.lock() {
                    *last = Some(Instant::now());
                }
                seen.total.send_modify(|n| *n += 1);
                let mut response = Response::new(Full::new(Bytes::from_static(
                    br#"{"id":"1","uri":"/api/alert/1"}"#,
                )));
                *response.status_mut() = StatusCode::CREATED;
                response
            }
        })
        .await;
        Self { server, seen }
    }

    /// The URL GenHook posts alerts to.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/api/alert", self.server.addr)
    }

    /// Alerts received with the expected message, and others.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (
            self.seen.good.load(Ordering::Relaxed),
            self.seen.wrong.load(Ordering::Relaxed),
        )
    }

    /// When the latest alert arrived.
    pub(crate) fn last_arrival(&self) -> Option<Instant> {
        self.seen.last.lock().ok().and_then(|last| *last)
    }

    /// Waits until `total` alerts have arrived in all, or `cap` has passed; whether they did.
    pub(crate) async fn wait_for(&self, total: usize, cap: Duration) -> bool {
        let mut rx = self.seen.total.subscribe();
        tokio::time::timeout(cap, rx.wait_for(|n| *n >= total))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}
