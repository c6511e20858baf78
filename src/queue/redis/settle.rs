//! Settling a read entry (acknowledge, requeue, dead-letter) in one script with the byte
//! counter, and acknowledgements kept and retried while Redis is away.

use super::*;

impl Inner {
    /// Runs the settle script (`settle.lua`): `XACK` + `XDEL` of the leased entry (its bytes
    /// leave the counter), then the `XADD` of `then` if any, in one step.
    pub(super) async fn settle(
        &self,
        lease: Option<&Lease>,
        then: Option<Append<'_>>,
    ) -> Result<(), QueueError> {
        let mut script = SETTLE.prepare_invoke();
        let old_stream = lease.map_or(self.keys.high.as_str(), |l| l.stream.as_str());
        let new_stream = then.map_or(old_stream, |a| a.stream);
        script.key(&self.keys.bytes).key(old_stream).key(new_stream);
        script
            .arg(GROUP)
            .arg(lease.map_or("", |l| l.id.as_str()))
            .arg(lease.map_or(0, |l| l.size))
            .arg(then.map_or(0, |a| a.size));
        for (field, value) in then.map_or(&[][..], |a| a.fields) {
            script.arg(*field).arg(*value);
        }
        script
            .invoke_async::<String>(&mut self.conn())
            .await
            .map_err(storage)?;
        if let Some(lease) = lease {
            self.bytes_down(lease.size);
        }
        if let Some(append) = then {
            self.bytes.fetch_add(append.size, Ordering::Relaxed);
        }
        Ok(())
    }
    /// Acknowledges and deletes one entry.
    pub(super) async fn acknowledge(&self, lease: &Lease) -> Result<(), QueueError> {
        self.settle(Some(lease), None).await
    }
    /// Retries an acknowledgement Redis could not take until it does: the event reached SL1, and
    /// an entry left pending would be delivered again after `redis_claim_idle`.
    pub(super) async fn acknowledge_later(&self, event_id: String, lease: Lease) {
        let started = Instant::now();
        let mut backoff = BACKOFF_MIN;
        let mut warned = false;
        loop {
            tokio::time::sleep(backoff).await;
            match self.acknowledge(&lease).await {
                Ok(()) => {
                    tracing::info!(backend = "redis", %event_id, "Acknowledged a delivered event once Redis was back.");
                    self.let_go(Some(&lease));
                    self.depth_down();
                    return;
                }
                Err(QueueError::Unavailable(_)) => {
                    if !warned && started.elapsed() >= self.claim_idle {
                        warned = true;
                        tracing::error!(backend = "redis", %event_id, "Redis has been away longer than redis_claim_idle; this delivered event may be delivered again.");
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
                Err(error) => {
                    tracing::error!(backend = "redis", %event_id, %error, "Cannot acknowledge a delivered event; it may be delivered again.");
                    self.let_go(Some(&lease));
                    return;
                }
            }
        }
    }
    pub(super) fn depth_down(&self) {
        let _ = self
            .depth
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some(d.saturating_sub(1))
            });
    }
    pub(super) fn bytes_down(&self, size: u64) {
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(size))
            });
    }
}
