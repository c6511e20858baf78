//! Whether Redis answers: the readers' backoff while it is away (100 ms doubling to 2 s), and
//! what is logged and reported (`/readyz`) when it goes and comes back.

use super::*;

/// Whether readers are waiting for Redis to come back, since when, and until when.
#[derive(Debug, Default)]
pub(super) struct Outage {
    pub(super) since: Option<Instant>,
    pub(super) retry_at: Option<Instant>,
    pub(super) backoff: Duration,
}

impl Inner {
    /// Whether the readers are waiting before they try Redis again.
    pub(super) fn backing_off(&self) -> bool {
        lock(&self.outage)
            .retry_at
            .is_some_and(|at| Instant::now() < at)
    }
    /// A read failed because Redis is away: wait longer before the next try (up to
    /// [`BACKOFF_MAX`]); logged once per outage.
    pub(super) fn unreachable(&self, error: &(dyn std::error::Error + 'static)) {
        let mut outage = lock(&self.outage);
        outage.backoff = (outage.backoff * 2).clamp(BACKOFF_MIN, BACKOFF_MAX);
        outage.retry_at = Some(Instant::now() + outage.backoff);
        if outage.since.is_none() {
            outage.since = Some(Instant::now());
            drop(outage);
            tracing::error!(
                backend = "redis",
                %error,
                "Redis is unreachable; workers wait for it (retrying every {}s at most) and webhooks are answered 503 until it is back.",
                BACKOFF_MAX.as_secs()
            );
        } else {
            drop(outage);
            tracing::debug!(backend = "redis", %error, "Redis is still unreachable.");
        }
    }
    /// A read succeeded: ends an outage (logged once).
    pub(super) fn reachable(&self) {
        let mut outage = lock(&self.outage);
        if let Some(since) = outage.since.take() {
            *outage = Outage::default();
            drop(outage);
            tracing::info!(
                backend = "redis",
                away_ms = u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX),
                "Redis is back; workers read from the queue again."
            );
        }
    }
}
