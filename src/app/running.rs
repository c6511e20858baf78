//! A running GenHook: [`Running`] gives its address, state and configuration, reloads on demand,
//! and [`Running::shutdown`] stops it gracefully (the listener stays open, answering 503, while
//! the queue drains). [`shutdown_signal`] is the SIGTERM / Ctrl-C future the binary waits on.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::queue::Backend;
use crate::reload::{Reloaded, Reloader};
use crate::server::AppState;
use crate::worker::WorkerPool;

/// A running GenHook.
#[derive(Debug)]
pub struct Running {
    pub(super) addr: SocketAddr,
    pub(super) state: AppState,
    pub(super) reloader: Reloader,
    pub(super) backend: Backend,
    pub(super) workers: WorkerPool,
    pub(super) stop_tx: oneshot::Sender<()>,
    pub(super) server_task: JoinHandle<()>,
    pub(super) reload_task: Option<JoinHandle<()>>,
    pub(super) grace: Duration,
    pub(super) data_dir: std::path::PathBuf,
    /// Writes the records' files (refused requests, deliveries); flushed last at shutdown.
    pub(super) journal: crate::journal::Writer,
    /// Samples the health series every minute.
    pub(super) sampling: JoinHandle<()>,
}

/// What shutdown left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Events still queued when the grace period ended.
    pub left_in_queue: usize,
}

impl Running {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The routes' shared state (current stacks, queue).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The queue (which also keeps the de-duplication claims) and the dead letters.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Reloads the configuration file and the mappings now, as SIGHUP does (blocking file I/O);
    /// whether everything read was taken (see [`reload_report`](Self::reload_report)).
    pub fn reload(&self) -> bool {
        self.reload_report().all_taken()
    }

    /// Reloads as [`reload`](Self::reload) does and says what was taken and what needs a restart.
    pub fn reload_report(&self) -> Reloaded {
        self.reloader.reload_now()
    }

    /// The configuration in use (the live keys of the last reload that validated).
    pub fn config(&self) -> Config {
        self.reloader.config()
    }

    /// Runs until `signal` resolves, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> ShutdownReport {
        signal.await;
        self.shutdown().await
    }

    /// Graceful shutdown, with the listener open until the queue is drained:
    ///
    /// 1. the shutting-down flag is set: webhooks are answered `503` with `Retry-After`,
    ///    `/readyz` turns 503 (so a load balancer takes this instance out), `/healthz` stays 200,
    ///    and HTTP/1 answers carry `Connection: close`;
    /// 2. webhooks already inside the pipeline finish normally (their events are queued);
    /// 3. the workers drain the queue, for what is left of `shutdown_grace_period`;
    /// 4. the HTTP server stops: no new connections, the requests in flight finish;
    /// 5. what is left in the queue is logged, with where it is kept.
    pub async fn shutdown(self) -> ShutdownReport {
        tracing::info!(
            grace = ?self.grace,
            "Shutting down: webhooks are answered 503 and /readyz is 503 while the queue drains."
        );
        self.state.begin_shutdown();
        if let Some(task) = &self.reload_task {
            task.abort();
        }
        self.sampling.abort();
        let deadline = tokio::time::Instant::now() + self.grace;
        let remaining = || deadline.saturating_duration_since(tokio::time::Instant::now());
        if !self.state.wait_webhooks_done(self.grace).await {
            tracing::warn!(
                in_flight = self.state.webhooks_in_flight(),
                "Webhooks still in the pipeline when the grace period ended."
            );
        }
        // Nothing new enters the queue from now on (webhooks are refused), so the drain ends.
        self.workers.shutdown(remaining()).await;
        let _ = self.stop_tx.send(());
        let mut server_task = self.server_task;
        let server_limit = remaining().max(SERVER_STOP_MIN);
        match tokio::time::timeout(server_limit, &mut server_task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "The server task failed."),
            Err(_) => {
                tracing::warn!("Requests still in flight after the grace period; closing them.");
                server_task.abort();
            }
        }
        // Counted once the server is stopped, before the queue is closed: what the queue holds
        // now is what really was not delivered.
        let left_in_queue = self.backend.queue.depth();
        self.backend.queue.close();
        let backend = self.backend.queue.backend();
        match (left_in_queue, backend) {
            (0, _) => tracing::info!("Queue drained; GenHook stopped."),
            (left, "memory") => tracing::warn!(
                left,
                "Stopped with events in the memory queue: they are lost."
            ),
            (left, "disk") => {
                tracing::warn!(left, data_dir = %self.data_dir.display(), "Stopped with events queued; they are kept on disk and delivered at the next start.")
            }
            (left, _) => tracing::warn!(
                left,
                backend,
                "Stopped with events queued; they are kept in Redis for any instance to deliver."
            ),
        }
        // What the records still hold for their files is written before the process ends.
        let journal = self.journal.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || journal.flush()).await {
            tracing::warn!(%error, "The records' files may miss their last entries.");
        }
        ShutdownReport { left_in_queue }
    }
}

/// How long the HTTP server gets to finish the requests in flight once the queue is drained, when
/// the grace period is used up already.
const SERVER_STOP_MIN: Duration = Duration::from_secs(1);

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
