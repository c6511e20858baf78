//! The accept loop: at most `max_connections` open connections, and accept failures that neither
//! flood the log nor spin.
//!
//! - Beyond `max_connections` a new connection is accepted and closed at once (counted in
//!   `genhook_connections_refused_total`): the kernel's backlog never fills with connections
//!   nobody will serve, and the descriptors left over stay free for the queue store, the log,
//!   Redis and SL1. `genhook_connections_open` is the gauge of open connections. A run of
//!   refusals is logged when it starts, and with its count once none came for a while.
//! - An accept that fails for want of resources (`EMFILE`/`ENFILE`: out of file descriptors,
//!   `ENOBUFS`/`ENOMEM`) is logged once when a run of them starts and once, with the count, when
//!   accepting works again; between tries the loop backs off (doubling, up to a second) instead of
//!   spinning on a socket that stays readable. A failure of one connection (reset before it was
//!   accepted) is skipped at once.

use std::io;
use std::time::Duration;

use genhook_core::metrics as names;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The first pause after an accept failed for want of resources.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest pause.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// A run of refused connections ends only after this long without one: under a steady flood a
/// slot freed now and then must not log an end and a new start each time.
const REFUSALS_QUIET: Duration = Duration::from_secs(10);

/// Accepts connections and runs `serve` on each, at most `max_connections` at once, until
/// `stop` resolves. Returns the connections still open.
pub(super) async fn accept_loop<F, Fut>(
    listener: &TcpListener,
    max_connections: usize,
    stop: impl std::future::Future<Output = ()>,
    mut serve: F,
) -> JoinSet<()>
where
    F: FnMut(TcpStream, std::net::SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut open = JoinSet::new();
    let mut failures = Run::default();
    let mut refusals = Run::default();
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut stop => break,
            Some(_) = open.join_next(), if !open.is_empty() => {
                metrics::gauge!(names::CONNECTIONS_OPEN).set(open.len() as f64);
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_connection_error(&error) => {
                tracing::debug!(%error, "A connection failed before it was accepted.");
                continue;
            }
            Err(error) => {
                metrics::counter!(names::ACCEPT_ERRORS).increment(1);
                if failures.hit() {
                    tracing::warn!(
                        %error,
                        "Cannot accept connections; retrying with a back-off (further failures are counted, not logged)."
                    );
                }
                tokio::time::sleep(failures.backoff()).await;
                continue;
            }
        };
        if let Some((count, lasted)) = failures.end() {
            tracing::warn!(
                failures = count,
                lasted = ?lasted,
                "Accepting connections again."
            );
        }
        while open.try_join_next().is_some() {}
        if open.len() >= max_connections {
            metrics::counter!(names::CONNECTIONS_REFUSED).increment(1);
            if refusals.hit() {
                tracing::warn!(
                    max_connections,
                    "max_connections are open: new connections are closed at once until some end."
                );
            }
            drop(stream);
            continue;
        }
        if let Some((count, lasted)) = refusals.end_after(REFUSALS_QUIET) {
            tracing::info!(
                refused = count,
                lasted = ?lasted,
                "Taking new connections again."
            );
        }
        open.spawn(serve(stream, peer));
        metrics::gauge!(names::CONNECTIONS_OPEN).set(open.len() as f64);
    }
    open
}

/// Errors of one incoming connection, not of the listener (as hyper's and tokio's accept loops
/// treat them): skip it and accept the next.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// A run of the same trouble (accept failures, refused connections), logged at its start and
/// its end rather than each time.
#[derive(Debug, Default)]
struct Run {
    count: u64,
    /// When the run started and when its last hit came.
    started: Option<(Instant, Instant)>,
    backoff: Duration,
}

impl Run {
    /// Counts one more; whether it starts a run.
    fn hit(&mut self) -> bool {
        self.count += 1;
        let now = Instant::now();
        match &mut self.started {
            Some((_, last)) => {
                *last = now;
                false
            }
            None => {
                self.started = Some((now, now));
                true
            }
        }
    }

    /// The pause before the next try: doubling from [`FIRST_BACKOFF`] up to [`MAX_BACKOFF`].
    fn backoff(&mut self) -> Duration {
        self.backoff = (self.backoff * 2).clamp(FIRST_BACKOFF, MAX_BACKOFF);
        self.backoff
    }

    /// Ends the run, if one was going: its count and how long it lasted.
    fn end(&mut self) -> Option<(u64, Duration)> {
        let (started, _) = self.started.take()?;
        let count = std::mem::take(&mut self.count);
        self.backoff = Duration::ZERO;
        Some((count, started.elapsed()))
    }

    /// Ends the run as [`Run::end`] does, if its last hit is at least `quiet` old.
    fn end_after(&mut self, quiet: Duration) -> Option<(u64, Duration)> {
        let (_, last) = self.started?;
        if last.elapsed() < quiet {
            return None;
        }
        self.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_reported_at_its_start_and_its_end_only() {
        let mut run = Run::default();
        assert_eq!(run.end(), None);
        assert!(run.hit());
        assert!(!run.hit());
        assert!(!run.hit());
        assert_eq!(run.end().map(|(count, _)| count), Some(3));
        assert_eq!(run.end(), None);
        assert!(run.hit(), "a new run starts after one ended");
    }

    #[tokio::test(start_paused = true)]
    async fn a_run_of_refusals_ends_only_after_a_quiet_while() {
        let mut run = Run::default();
        assert!(run.hit());
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(run.end_after(REFUSALS_QUIET), None);
        assert!(!run.hit(), "still the same run");
        tokio::time::sleep(Duration::from_secs(9)).await;
        assert_eq!(run.end_after(REFUSALS_QUIET), None);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            run.end_after(REFUSALS_QUIET),
            Some((2, Duration::from_secs(15)))
        );
    }

    #[test]
    fn the_backoff_doubles_up_to_a_second_and_restarts_with_a_new_run() {
        let mut run = Run::default();
        run.hit();
        let pauses: Vec<u64> = (0..9).map(|_| run.backoff().as_millis() as u64).collect();
        assert_eq!(pauses, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        run.end();
        run.hit();
        assert_eq!(run.backoff(), FIRST_BACKOFF);
    }
}
