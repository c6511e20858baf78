//! The HTTP server: hyper 1 connections (HTTP/1.1 and HTTP/2, optional TLS) serving the edge
//! stack and the router, with graceful shutdown.
//!
//! - `listener`: the accept loop (`max_connections`, accept failures logged once per run);
//! - `connection`: one connection's deadlines (first request, idle, HTTP/2 keep-alive) and
//!   graceful close;
//! - [`edge`]: the fixed tower-http stack (panic catching, sensitive headers, tracing, request
//!   id, timeout);
//! - [`routes`]: the README's HTTP table;
//! - [`respond`]: the one place that knows the JSON error shape;
//! - [`detect`]: handshakes and provider detection before a source is known;
//! - `door`: admitting a webhook before its body is read, only while the queue can take it
//!   (503 + `Retry-After` otherwise);
//! - [`body`]: reading request bodies within `max_body_size` and `max_inflight_body_bytes`;
//! - `tls`: the certificate served ([`ServerCerts`], swapped on reload) and client
//!   certificates (`ssl_client_ca`);
//! - `state`: what the routes share (the stacks snapshot, the queue, the shutdown flag, the
//!   webhooks in flight).
//!
//! Shutdown keeps the listener open: [`crate::app::Running::shutdown`] first sets the shutting-down
//! flag (webhooks get 503 with `Retry-After` at the door, `/readyz` turns 503, HTTP/1 answers carry
//! `Connection: close`), drains the queue, and only then resolves the future given to
//! [`Server::run`], which stops accepting and lets the requests in flight finish.

pub mod body;
mod connection;
pub mod detect;
mod door;
pub mod edge;
mod listener;
pub mod respond;
pub mod routes;
mod state;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use connection::{Deadlines, Serving};

pub use connection::ClientAddr;
pub use door::QueueSlot;
pub use state::{AppState, WebhookInFlight};
pub(crate) use tls::read_certificates;
pub use tls::ServerCerts;

/// What the listener needs, in plain data.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Where to listen (`server_host:server_port`; port 0 picks a free one).
    pub addr: SocketAddr,
    /// TLS certificate and key files, when `ssl_enabled`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The CA bundle client certificates must be signed by (`ssl_client_ca`, with `tls`).
    pub client_ca: Option<PathBuf>,
    /// The largest request body accepted (`max_body_size`).
    pub max_body_size: usize,
    /// How long a client may take to send the request head (`header_read_timeout`).
    pub header_read_timeout: Duration,
    /// How long a whole request may take (`request_timeout`).
    pub request_timeout: Duration,
    /// How long a connection may stay with no request in flight (`idle_timeout`).
    pub idle_timeout: Duration,
    /// How often HTTP/2 connections are pinged (`http2_keep_alive_interval`).
    pub http2_keep_alive_interval: Duration,
    /// Open connections beyond which new ones are closed at once (`max_connections`).
    pub max_connections: usize,
}

/// Starting the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(String),
}

/// A bound listener, ready to serve.
pub struct Server {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    certs: Option<Arc<ServerCerts>>,
    app: Router,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    http2_keep_alive_interval: Duration,
    max_connections: usize,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the listener and assembles the edge stack around the router.
    ///
    /// # Errors
    /// When the address cannot be bound or the TLS files cannot be loaded.
    pub async fn bind(settings: &ServerSettings, router: Router) -> Result<Self, ServeError> {
        let (tls, certs) = match &settings.tls {
            Some((cert, key)) => {
                let certs = Arc::new(ServerCerts::load(cert, key).map_err(ServeError::Tls)?);
                let acceptor = tls::acceptor(Arc::clone(&certs), settings.client_ca.as_deref())
                    .map_err(ServeError::Tls)?;
                (Some(acceptor), Some(certs))
            }
            None => (None, None),
        };
        let listener =
            TcpListener::bind(settings.addr)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: settings.addr,
                    source,
                })?;
        Ok(Self {
            listener,
            tls,
            certs,
            app: edge::wrap(router, settings.request_timeout),
            header_read_timeout: settings.header_read_timeout,
            idle_timeout: settings.idle_timeout,
            http2_keep_alive_interval: settings.http2_keep_alive_interval,
            max_connections: settings.max_connections,
        })
    }

    /// The bound address.
    ///
    /// # Errors
    /// When the socket cannot tell.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The certificate and key served, when `ssl_enabled`: a reload swaps a new pair in.
    pub fn tls_certs(&self) -> Option<Arc<ServerCerts>> {
        self.certs.clone()
    }

    /// Serves until `shutdown` resolves, then stops accepting and shuts every open connection
    /// down gracefully, waiting for their requests in flight to finish (at most `grace`; the
    /// connections still open then are closed).
    pub async fn run(self, shutdown: impl Future<Output = ()>, grace: Duration) {
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let serving = Serving {
            builder: Arc::new(connection::builder(
                self.header_read_timeout,
                self.http2_keep_alive_interval,
            )),
            app: self.app,
            tls: self.tls,
            deadlines: Deadlines {
                first_request: self.header_read_timeout,
                idle: self.idle_timeout,
            },
            stopping,
        };
        tracing::debug!(
            max_connections = self.max_connections,
            "Accepting connections."
        );
        let mut open = listener::accept_loop(
            &self.listener,
            self.max_connections,
            shutdown,
            |stream, peer| serving.clone().serve(stream, peer),
        )
        .await;
        drop(self.listener);
        stop.send_replace(true);
        let all_closed = async { while open.join_next().await.is_some() {} };
        tokio::select! {
            () = all_closed => tracing::info!("Every connection finished."),
            () = tokio::time::sleep(grace) => tracing::warn!("Connections still open after the grace period; closing them."),
        }
        open.abort_all();
        metrics::gauge!(genhook_core::metrics::CONNECTIONS_OPEN).set(0.0);
    }
}
