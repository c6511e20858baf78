//! One client connection, from accept to close, with the deadlines that keep a silent or idle
//! client from holding a file descriptor for as long as it likes:
//!
//! - **first request**: the TLS handshake, the HTTP/1-or-HTTP/2 detection and the first request's
//!   head must all arrive within `header_read_timeout` of the accept; otherwise the connection is
//!   dropped (nothing was asked, so nothing is answered);
//! - **idle**: once a request has been answered, a connection with no request in flight for
//!   `idle_timeout` is shut down gracefully (HTTP/1 closes; HTTP/2 gets a GOAWAY). For HTTP/1,
//!   hyper's own `header_read_timeout` also times the next request's head from the moment the
//!   connection goes idle, so the shorter of the two applies;
//! - **HTTP/2 keep-alive**: PING frames every `http2_keep_alive_interval`; a peer that does not
//!   acknowledge one within the same time is closed (a dead peer with streams open);
//! - **server shutdown**: every connection is shut down gracefully, letting requests in flight
//!   finish.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// The deadlines of a connection.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadlines {
    /// From accept to the first request's head (TLS and protocol detection included).
    pub(super) first_request: Duration,
    /// With no request in flight.
    pub(super) idle: Duration,
}

/// The most an HTTP/1 connection's read buffer grows to, and so the largest request head (request
/// line and headers) accepted: a larger one is answered `431`. hyper's default is some 400 KiB;
/// webhook heads are a few KiB, and 64 KiB bounds what a slow client sending an endless head can
/// make one connection hold (the first read buffer is 8 KiB and grows only for what arrives;
/// bodies stream through it in chunks of at most this size, never whole).
pub(super) const MAX_HTTP1_BUFFER: usize = 64 * 1024;

/// The hyper builder shared by every connection: HTTP/1 header timeout and read buffer bound,
/// HTTP/2 keep-alive pings.
pub(super) fn builder(
    header_read_timeout: Duration,
    http2_keep_alive_interval: Duration,
) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_HTTP1_BUFFER);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(http2_keep_alive_interval)
        .keep_alive_timeout(http2_keep_alive_interval);
    builder
}

/// What a connection needs besides its socket. Cheap to clone.
#[derive(Clone)]
pub(super) struct Serving {
    pub(super) builder: Arc<auto::Builder<TokioExecutor>>,
    pub(super) app: Router,
    pub(super) tls: Option<TlsAcceptor>,
    pub(super) deadlines: Deadlines,
    /// Turns `true` when the server stops.
    pub(super) stopping: watch::Receiver<bool>,
}

impl std::fmt::Debug for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving")
            .field("tls", &self.tls.is_some())
            .field("deadlines", &self.deadlines)
            .finish_non_exhaustive()
    }
}

impl Serving {
    /// Serves one accepted connection until it closes.
    pub(super) async fn serve(self, stream: TcpStream, peer: std::net::SocketAddr) {
        let first_request = Instant::now() + self.deadlines.first_request;
        match self.tls.clone() {
            None => self.serve_io(stream, peer, first_request).await,
            Some(acceptor) => {
                match tokio::time::timeout_at(first_request, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => self.serve_io(stream, peer, first_request).await,
                    Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed."),
                    Err(_) => tracing::debug!(%peer, "TLS handshake not done in time; closed."),
                }
            }
        }
    }

    async fn serve_io<I>(self, io: I, peer: std::net::SocketAddr, first_request: Instant)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (activity, watched) = watch::channel(Activity::new());
        let activity = Arc::new(activity);
        let app = self.app;
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ClientAddr(peer));
            let active = ActiveRequest::begin(activity.clone());
            let answer = app.clone().oneshot(request);
            async move {
                let answer = answer.await;
                drop(active);
                answer
            }
        });
        let connection = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(connection);
        let expired = expiry(watched, first_request, self.deadlines.idle);
        tokio::pin!(expired);
        let mut stopping = self.stopping;
        tokio::select! {
            result = connection.as_mut() => return ended(peer, result),
            why = &mut expired => match why {
                Expired::NoRequest => {
                    tracing::debug!(%peer, "No request in time; connection closed.");
                    return;
                }
                Expired::Idle => {
                    tracing::debug!(%peer, "Connection idle; closing it.");
                    connection.as_mut().graceful_shutdown();
                }
            },
            _ = stopping.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
        }
        ended(peer, connection.await);
    }
}

fn ended(peer: std::net::SocketAddr, result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "Connection ended with an error.");
    }
}

/// What the requests of one connection are doing.
#[derive(Debug, Clone, Copy)]
struct Activity {
    /// Requests begun so far.
    begun: u64,
    /// Requests not answered yet.
    in_flight: u64,
    /// When the last request in flight was answered.
    idle_since: Instant,
}

impl Activity {
    fn new() -> Self {
        Self {
            begun: 0,
            in_flight: 0,
            idle_since: Instant::now(),
        }
    }
}

/// A request of the connection, counted in flight until dropped.
struct ActiveRequest(Arc<watch::Sender<Activity>>);

impl ActiveRequest {
    fn begin(activity: Arc<watch::Sender<Activity>>) -> Self {
        activity.send_modify(|a| {
            a.begun += 1;
            a.in_flight += 1;
        });
        Self(activity)
    }
}

impl Drop for ActiveRequest {
    fn drop(&mut self) {
        self.0.send_modify(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            if a.in_flight == 0 {
                a.idle_since = Instant::now();
            }
        });
    }
}

/// Why a connection's time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expired {
    /// No request began before the first-request deadline.
    NoRequest,
    /// No request was in flight for the idle timeout.
    Idle,
}

/// Resolves when the connection's time runs out: no request by `first_request`, or none in
/// flight for `idle` after the last answer. Pending while a request is in flight.
async fn expiry(
    mut activity: watch::Receiver<Activity>,
    first_request: Instant,
    idle: Duration,
) -> Expired {
    loop {
        let now = *activity.borrow_and_update();
        let deadline = match now {
            Activity { in_flight: 1.., .. } => None,
            Activity { begun: 0, .. } => Some((first_request, Expired::NoRequest)),
            Activity { idle_since, .. } => Some((idle_since + idle, Expired::Idle)),
        };
        match deadline {
            None => {
                if activity.changed().await.is_err() {
                    // The connection is gone; nothing left to time.
                    return std::future::pending().await;
                }
            }
            Some((at, why)) => {
                tokio::select! {
                    changed = activity.changed() => {
                        if changed.is_err() {
                            return std::future::pending().await;
                        }
                    }
                    () = tokio::time::sleep_until(at) => return why,
                }
            }
        }
    }
}

/// The client's address, put in every request's extensions (the record of refused requests
/// keeps it).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_without_a_request_expires_at_the_first_deadline() {
        let (_activity, watched) = watch::channel(Activity::new());
        let start = Instant::now();
        let why = expiry(
            watched,
            start + Duration::from_secs(5),
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(why, Expired::NoRequest);
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn the_idle_clock_runs_only_while_no_request_is_in_flight() {
        let (activity, watched) = watch::channel(Activity::new());
        let activity = Arc::new(activity);
        let start = Instant::now();
        let request = ActiveRequest::begin(activity.clone());
        let timer = tokio::spawn(expiry(
            watched,
            start + Duration::from_secs(1),
            Duration::from_secs(10),
        ));
        // A request in flight far past both deadlines: nothing expires.
        tokio::time::sleep(Duration::from_secs(100)).await;
        assert!(!timer.is_finished());
        drop(request);
        let why = timer.await.unwrap();
        assert_eq!(why, Expired::Idle);
        assert_eq!(Instant::now() - start, Duration::from_secs(110));
    }
}
