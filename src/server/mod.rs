//! The HTTP server: hyper 1 connections (HTTP/1.1 and HTTP/2, optional TLS) serving the edge
//! stack and the router, with graceful shutdown.
//!
//! - [`edge`]: the fixed tower-http stack (panic catching, sensitive headers, tracing, request
//!   id, timeout);
//! - [`routes`]: DESIGN.md's HTTP table;
//! - [`respond`]: the one place that knows the JSON error shape;
//! - [`detect`]: handshakes and provider detection before a source is known;
//! - `state`: what the routes share (the stacks snapshot, the queue, the shutdown flag, the
//!   webhooks in flight).
//!
//! Shutdown keeps the listener open: [`crate::app::Running::shutdown`] first sets the shutting-down
//! flag (webhooks get 503 with `Retry-After`, `/readyz` turns 503, HTTP/1 answers carry
//! `Connection: close`), drains the queue, and only then resolves the future given to
//! [`Server::run`], which stops accepting and lets the requests in flight finish.

pub mod detect;
pub mod edge;
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
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

pub use state::{AppState, WebhookInFlight};

/// What the listener needs, in plain data.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Where to listen (`server_host:server_port`; port 0 picks a free one).
    pub addr: SocketAddr,
    /// TLS certificate and key files, when `ssl_enabled`.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The largest request body accepted (`max_body_size`).
    pub max_body_size: usize,
    /// How long a client may take to send the request head (`header_read_timeout`).
    pub header_read_timeout: Duration,
    /// How long a whole request may take (`request_timeout`).
    pub request_timeout: Duration,
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
    app: Router,
    header_read_timeout: Duration,
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
        let tls = match &settings.tls {
            Some((cert, key)) => Some(tls::acceptor(cert, key).map_err(ServeError::Tls)?),
            None => None,
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
            app: edge::wrap(router, settings.request_timeout),
            header_read_timeout: settings.header_read_timeout,
        })
    }

    /// The bound address.
    ///
    /// # Errors
    /// When the socket cannot tell.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting and waits for the connections in
    /// flight to finish their requests (at most `grace`).
    pub async fn run(self, shutdown: impl Future<Output = ()>, grace: Duration) {
        let graceful = GracefulShutdown::new();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        let builder = Arc::new(builder);
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "Accept failed.");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let service = TowerToHyperService::new(self.app.clone());
            let builder = builder.clone();
            match &self.tls {
                None => {
                    let connection =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    let connection = graceful.watch(connection.into_owned());
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%peer, %error, "Connection ended with an error.");
                        }
                    });
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        let stream = match acceptor.accept(stream).await {
                            Ok(stream) => stream,
                            Err(error) => {
                                tracing::debug!(%peer, %error, "TLS handshake failed.");
                                return;
                            }
                        };
                        let connection =
                            builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                        if let Err(error) = watcher.watch(connection.into_owned()).await {
                            tracing::debug!(%peer, %error, "Connection ended with an error.");
                        }
                    });
                }
            }
        }
        drop(self.listener);
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("Every connection finished."),
            () = tokio::time::sleep(grace) => tracing::warn!("Connections still open after the grace period; closing them."),
        }
    }
}
