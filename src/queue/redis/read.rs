//! `next`: entries read from the streams through the consumer group (new ones, and this
//! consumer's own pending ones after a restart or an outage), decoded and handed out in priority
//! order.

use super::*;

impl RedisQueue {
    pub(super) async fn next_event(&self) -> Result<Option<Event>, QueueError> {
        loop {
            let notified = self.inner.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = lock(&self.inner.state);
                if let Some(entry) = state.local.pop() {
                    let lease = Lease {
                        stream: entry.stream,
                        id: entry.id,
                        size: entry.size,
                    };
                    state.leased.insert(entry.event.id.clone(), lease);
                    return Ok(Some(entry.event));
                }
                if state.closed {
                    return Ok(None);
                }
            }
            // One reader fetches at a time; the others wait for what it pushes.
            let Ok(last_claim) = self.inner.fetching.try_lock() else {
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep(POLL) => {}
                }
                continue;
            };
            // Listening before the read: an enqueue while it is on its way is not missed.
            let wanted = self.inner.wanted.notified();
            tokio::pin!(wanted);
            wanted.as_mut().enable();
            let fetched = if self.inner.backing_off() {
                // Not held through the wait: while Redis is away nobody fetches anyway.
                drop(last_claim);
                0
            } else {
                match self.inner.fetch(last_claim).await {
                    Ok(fetched) => {
                        self.inner.reachable();
                        fetched
                    }
                    Err(QueueError::Unavailable(error)) => {
                        self.inner.unreachable(&*error);
                        0
                    }
                    Err(error) => return Err(error),
                }
            };
            if fetched == 0 {
                tokio::select! {
                    () = &mut wanted => {}
                    () = &mut notified => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        }
    }
}

pub(super) fn decode(stream: &str, entry: &StreamId) -> Option<Entry> {
    let bytes: Vec<u8> = entry.get("event")?;
    let size = bytes.len() as u64;
    match record::decode_event(Bytes::from(bytes)) {
        Ok(event) => Some(Entry {
            stream: stream.to_owned(),
            id: entry.id.clone(),
            event,
            size,
        }),
        Err(error) => {
            tracing::error!(backend = "redis", stream, entry = %entry.id, %error, "Queued entry does not decode; it stays pending in Redis.");
            None
        }
    }
}

impl Inner {
    /// Hands entries to the local lanes (but those this process holds already) and wakes as
    /// many readers; how many were new.
    pub(super) fn push_local(&self, entries: Vec<Entry>) -> usize {
        self.push_read(entries, false)
    }
    /// [`Inner::push_local`] for the answer of a read of pending entries (begun with
    /// [`Inner::reread`]): entries let go of while it was on its way are left out.
    pub(super) fn push_reread(&self, entries: Vec<Entry>) -> usize {
        self.push_read(entries, true)
    }
    pub(super) fn push_read(&self, entries: Vec<Entry>, rereading: bool) -> usize {
        let pushed = lock(&self.state).push(entries, rereading);
        // A reader per entry (not every reader: there is one per delivery slot).
        for _ in 0..pushed {
            self.ready.notify_one();
        }
        pushed
    }
    /// A new entry was put in the streams by this process: the fetching reader reads at once
    /// instead of waiting out its poll, and a waiting reader takes up fetching if nobody does.
    pub(super) fn wake_for_new_entry(&self) {
        self.wanted.notify_one();
        self.ready.notify_one();
    }
    /// This process is done with an entry (acknowledged, requeued, dead-lettered, or failed to
    /// and left pending for `XAUTOCLAIM`).
    pub(super) fn let_go(&self, lease: Option<&Lease>) {
        if let Some(lease) = lease {
            lock(&self.state).let_go(&lease.key());
        }
    }
    /// Sends a read of pending entries (`XREADGROUP … 0`, `XAUTOCLAIM`), noting what this process
    /// lets go of until its answer is pushed with [`Inner::push_reread`].
    pub(super) async fn reread<T: redis::FromRedisValue>(
        &self,
        command: &redis::Cmd,
    ) -> Result<T, QueueError> {
        lock(&self.state).reread_starts();
        let read = self.group_query(command).await;
        if read.is_err() {
            lock(&self.state).reread_failed();
        }
        read
    }
    /// After an outage: reads this consumer's own pending entries again (`XREADGROUP` from id
    /// `0`). A read whose answer was lost when the connection dropped left its entries pending
    /// under this consumer, and nothing else would hand them out before `redis_claim_idle`.
    pub(super) async fn recover_own(&self) -> Result<usize, QueueError> {
        const PAGE: usize = 100;
        let mut recovered = 0;
        for stream in self.keys.streams() {
            let mut after = "0".to_owned();
            loop {
                let read: Option<StreamReadReply> = self
                    .reread(self.read_group(PAGE).arg(stream).arg(&after))
                    .await?;
                let ids: Vec<StreamId> = read
                    .map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect())
                    .unwrap_or_default();
                let Some(last) = ids.last() else {
                    break;
                };
                after.clone_from(&last.id);
                recovered +=
                    self.push_reread(ids.iter().filter_map(|e| decode(stream, e)).collect());
                if ids.len() < PAGE {
                    break;
                }
            }
        }
        if recovered > 0 {
            tracing::warn!(
                backend = "redis",
                recovered,
                "Took back entries read just before the connection dropped."
            );
        }
        Ok(recovered)
    }
    pub(super) async fn refresh_depth(&self) -> Result<usize, QueueError> {
        let mut pipe = redis::pipe();
        for stream in self.keys.streams() {
            pipe.cmd("XLEN").arg(stream);
        }
        pipe.cmd("GET").arg(&self.keys.bytes);
        let (high, normal, low, bytes): (usize, usize, usize, Option<u64>) =
            pipe.query_async(&mut self.conn()).await.map_err(storage)?;
        let depth = high + normal + low;
        self.depth.store(depth, Ordering::Relaxed);
        self.bytes.store(bytes.unwrap_or(0), Ordering::Relaxed);
        Ok(depth)
    }
    /// Reads new entries (and, every half idle period, entries abandoned by crashed consumers)
    /// into the local lanes; how many. What was read is in the lanes even when a later command
    /// fails.
    pub(super) async fn fetch(
        &self,
        mut last_claim: tokio::sync::MutexGuard<'_, Instant>,
    ) -> Result<usize, QueueError> {
        let mut fetched = 0;
        if lock(&self.outage).since.is_some() {
            fetched += self.recover_own().await?;
        }
        if last_claim.elapsed() >= self.claim_idle / 2 {
            let idle_ms = u64::try_from(self.claim_idle.as_millis()).unwrap_or(u64::MAX);
            for stream in self.keys.streams() {
                let claimed: StreamAutoClaimReply = self
                    .reread(
                        redis::cmd("XAUTOCLAIM")
                            .arg(stream)
                            .arg(GROUP)
                            .arg(&self.consumer)
                            .arg(idle_ms)
                            .arg("0-0")
                            .arg("COUNT")
                            .arg(100),
                    )
                    .await?;
                if !claimed.claimed.is_empty() {
                    tracing::warn!(
                        backend = "redis",
                        stream,
                        claimed = claimed.claimed.len(),
                        "Claimed entries left pending by another consumer."
                    );
                }
                fetched += self.push_reread(
                    claimed
                        .claimed
                        .iter()
                        .filter_map(|e| decode(stream, e))
                        .collect(),
                );
            }
            *last_claim = Instant::now();
        }
        let read: Option<StreamReadReply> = self
            .group_query(
                self.read_group(READ_COUNT)
                    .arg(&self.keys.streams()[..])
                    .arg(&[">", ">", ">"]),
            )
            .await?;
        let mut entries = Vec::new();
        for key in read.map(|r| r.keys).unwrap_or_default() {
            entries.extend(key.ids.iter().filter_map(|e| decode(&key.key, e)));
        }
        fetched += self.push_local(entries);
        self.refresh_depth().await?;
        Ok(fetched)
    }
}
