//! The `redis` backend: Redis Streams shared by many GenHook instances behind a load balancer.
//!
//! - **Keys** (all under `redis_prefix`, default `genhook`): one stream per priority
//!   (`{prefix}:queue:high|normal|low`), the dead letters in their own stream
//!   (`{prefix}:dead`), one key per claimed delivery id (`{prefix}:dedup:{id}`), and the byte
//!   counter of the three queue streams (`{prefix}:queue:bytes`).
//! - **Records**: an entry's `event` field (a dead letter's `letter`) is the binary record of
//!   [`genhook_core::queue::record`] (raw body, no base64); entries written by earlier versions
//!   (JSON) are still read.
//! - **Accept**: one Lua script checks `queue_max_size` and `queue_max_bytes` (against the byte
//!   counter), the delivery id's claim, then `XADD`s the entry (never `MAXLEN`: nothing is ever
//!   trimmed away), adds its size to the counter and sets the claim, so Redis holds all or none. `accept` resolves once Redis answered; how durable that is follows the
//!   server's `appendfsync` setting.
//! - **Share**: one consumer group (`genhook`) over the three streams, created with
//!   `XGROUP CREATE … MKSTREAM`; each process reads with `XREADGROUP` under a consumer name of its
//!   own (`pid-random`), so the instances split the work and no entry goes to two of them.
//! - **Done**: `XACK` + `XDEL` once SL1 accepted the alert, and its size off the byte counter,
//!   in one Lua script (`settle.lua`, also used by requeue and dead-lettering): the size is taken
//!   off only when this call deleted the entry, so an entry settled twice (reclaimed from a slow
//!   instance) counts once, and the counter never goes below zero (entries of earlier versions
//!   were never counted). Every instance shares the counter, so the bound holds across them.
//! - **Crash**: an entry read by an instance that died stays pending in the group; after
//!   `redis_claim_idle` (default 60 s) another instance takes it over with `XAUTOCLAIM`
//!   (at-least-once: an instance that was only slow may deliver it too).
//! - **Priority**: the three streams are read into local lanes served 4 : 2 : 1
//!   ([`super::priority`]), so high goes first and none starves.
//! - **De-duplication**: a key per delivery id with the window as its expiry (`SET … PX`), set by
//!   the accept script with its entry: atomic across every instance.
//! - **Depth**: the sum of the three streams' `XLEN` (entries leave only when acknowledged);
//!   the accept script checks `queue_max_size` against it, so the limit holds across instances.
//!   [`Queue::depth`] and [`Queue::bytes`] report it as of the last read (and this process'
//!   own changes since).
//!
//! - **Redis restarts**: the one connection is a [`ConnectionManager`]: a command that finds it
//!   dropped fails, and the next one reconnects (each attempt bounded by 2 s, each answer by 5 s).
//!   While Redis is away, or answers `LOADING` while it replays its AOF, every command fails with
//!   [`QueueError::Unavailable`]: `accept` fails, so the webhook is answered `503` with
//!   `Retry-After` and never `202`; the readers log once, stop reading and try again every
//!   100 ms doubling to 2 s; an acknowledgement of an event SL1 already accepted is retried in
//!   the background until Redis takes it (so an outage shorter than `redis_claim_idle` delivers
//!   nothing twice). When Redis answers again, the consumer first reads its own pending entries
//!   (`XREADGROUP … 0`): a read whose answer was lost with the connection left entries pending
//!   under it that nothing else would hand out before `redis_claim_idle`; entries this process
//!   still holds are never handed out twice, nor are those it acknowledged while that read was on
//!   its way (Redis may have answered before the `XACK` landed). Nothing needs a GenHook restart.
//! - **Redis came back empty** (no persistence): commands that need the group (`XREADGROUP`,
//!   `XAUTOCLAIM`) get `NOGROUP`; the group is then recreated on all three streams and the
//!   command run once more. What was queued before is gone with Redis' data, so for the 202
//!   promise Redis must run with AOF (`appendonly yes`): `appendfsync always` keeps every
//!   acknowledged `XADD` through a crash of the Redis machine, `everysec` may lose the last second
//!   of them if that machine (not just the process) fails.
//!
//! Reads poll (every 100 ms when idle, at once after a local enqueue) rather than `BLOCK`, so one
//! multiplexed connection serves every worker.
//!
//! | module | holds |
//! |---|---|
//! | this one | [`RedisQueue`]: read, acknowledge, requeue, reclaim |
//! | `accept` | accepting a new event with its delivery-id key (`accept.lua`) |
//! | `dead_letters` | [`RedisDeadLetters`]: the `{prefix}:dead` stream |
//! | `errors` | Redis errors as queue errors; (re)creating the consumer group |
//! | `keys` | the key names under `redis_prefix` |

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use genhook_core::queue::{record, Accepted, Claim, DeadLetter, Event, Queue, QueueError};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use tokio::sync::Notify;
use tokio::time::Instant;

mod accept;
mod dead_letters;
mod errors;
mod keys;

pub use dead_letters::RedisDeadLetters;

use errors::{create_groups, storage};
use keys::Keys;

use crate::queue::memory::lock;
use crate::queue::priority::Lanes;
use crate::queue::{Limits, QueueSettings};

/// Settles a read entry (acknowledge, requeue, dead-letter) with the byte counter.
static SETTLE: std::sync::LazyLock<redis::Script> =
    std::sync::LazyLock::new(|| redis::Script::new(include_str!("settle.lua")));

/// The consumer group every instance shares.
const GROUP: &str = "genhook";
/// Entries read per stream and per read.
const READ_COUNT: usize = 8;
/// How long an idle reader waits before polling again.
const POLL: Duration = Duration::from_millis(100);
/// How long `open` waits for Redis to answer.
const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one attempt to (re)connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a command may wait for its answer; after that it fails as [`QueueError::Unavailable`]
/// (a webhook is then answered 503, never 202).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait of the readers after Redis stopped answering; it doubles up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(100);
/// The longest wait of the readers (and of a pending acknowledgement) while Redis is away.
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// Whether readers are waiting for Redis to come back, since when, and until when.
#[derive(Debug, Default)]
struct Outage {
    since: Option<Instant>,
    retry_at: Option<Instant>,
    backoff: Duration,
}

/// One entry read from a stream and not yet acknowledged.
#[derive(Debug)]
struct Entry {
    stream: String,
    id: String,
    event: Event,
    /// Its record's bytes, counted in `{prefix}:queue:bytes`.
    size: u64,
}

/// Where a leased event's entry is: its stream, its id, and its size.
#[derive(Debug, Clone)]
struct Lease {
    stream: String,
    id: String,
    size: u64,
}

/// An entry the settle script appends: to which stream, the size it counts (0: not counted),
/// its fields.
#[derive(Debug, Clone, Copy)]
struct Append<'a> {
    stream: &'a str,
    size: u64,
    fields: &'a [(&'a str, &'a [u8])],
}

impl Lease {
    fn key(&self) -> (String, String) {
        (self.stream.clone(), self.id.clone())
    }
}

#[derive(Debug, Default)]
struct State {
    local: Lanes<Entry>,
    /// Event id to the entry of what `next` handed out.
    leased: HashMap<String, Lease>,
    /// (stream, entry id) of every entry this process read and has not finished with yet (in
    /// `local`, handed out, being requeued or acknowledged): read again (its own pending entries
    /// after an outage, `XAUTOCLAIM`), it is not handed out twice.
    held: HashSet<(String, String)>,
    /// While a read of pending entries is on its way (this consumer's own after an outage,
    /// `XAUTOCLAIM`): the entries let go of meanwhile. Redis may have answered that read before
    /// their acknowledgement landed; handed out again they would reach SL1 twice.
    let_go_while_rereading: Option<HashSet<(String, String)>>,
    closed: bool,
}

impl State {
    /// Adds entries to the local lanes, but those this process holds already and, when
    /// `rereading`, those let go of since the read was sent; how many were added.
    fn push(&mut self, entries: Vec<Entry>, rereading: bool) -> usize {
        let skip = if rereading {
            self.let_go_while_rereading.take().unwrap_or_default()
        } else {
            HashSet::new()
        };
        let mut pushed = 0;
        for entry in entries {
            let key = (entry.stream.clone(), entry.id.clone());
            if !skip.contains(&key) && self.held.insert(key) {
                self.local.push(entry.event.priority, entry);
                pushed += 1;
            }
        }
        pushed
    }

    /// A read of pending entries is about to be sent.
    fn reread_starts(&mut self) {
        self.let_go_while_rereading = Some(HashSet::new());
    }

    /// The read of pending entries failed: nothing to filter any more.
    fn reread_failed(&mut self) {
        self.let_go_while_rereading = None;
    }

    /// This process is done with an entry.
    fn let_go(&mut self, lease: &(String, String)) {
        self.held.remove(lease);
        if let Some(let_go) = &mut self.let_go_while_rereading {
            let_go.insert(lease.clone());
        }
    }
}

struct Inner {
    conn: ConnectionManager,
    keys: Keys,
    consumer: String,
    state: Mutex<State>,
    ready: Notify,
    fetching: tokio::sync::Mutex<Instant>,
    outage: Mutex<Outage>,
    depth: AtomicUsize,
    /// `{prefix}:queue:bytes` as of the last read, with this process' changes since.
    bytes: AtomicU64,
    limits: Limits,
    claim_idle: Duration,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisQueue")
            .field("keys", &self.keys)
            .field("consumer", &self.consumer)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// The Redis Streams queue.
#[derive(Debug, Clone)]
pub struct RedisQueue {
    inner: Arc<Inner>,
}

/// Opens the redis backend.
pub(crate) async fn open_backend(settings: &QueueSettings) -> Result<super::Backend, QueueError> {
    let queue = RedisQueue::open(settings).await?;
    Ok(super::Backend {
        dead_letters: Arc::new(RedisDeadLetters {
            inner: Arc::clone(&queue.inner),
        }),
        queue: Arc::new(queue),
    })
}

impl RedisQueue {
    /// Connects to `redis_url` and creates the consumer group (and streams) if missing.
    ///
    /// # Errors
    ///
    /// [`QueueError::Storage`] when the URL is bad, [`QueueError::Unavailable`] when Redis
    /// refuses the connection or does not answer within 5 s.
    pub async fn open(settings: &QueueSettings) -> Result<Self, QueueError> {
        let client = redis::Client::open(settings.redis_url.as_str()).map_err(storage)?;
        // One connection attempt per reconnection (no retries inside the manager): its backoff
        // starts at 1 s and grows by `factor` (not `exponent_base`), so a command issued while
        // it retried would wait for seconds. Commands fail fast instead, the readers back off
        // themselves (`Outage`) and the next command after Redis is back reconnects.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(0);
        let mut conn = tokio::time::timeout(
            OPEN_TIMEOUT,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| QueueError::Unavailable("redis did not answer within 5s".into()))?
        .map_err(storage)?;
        let keys = Keys::new(&settings.redis_prefix);
        tokio::time::timeout(OPEN_TIMEOUT, create_groups(&mut conn, &keys))
            .await
            .map_err(|_| QueueError::Unavailable("redis did not answer within 5s".into()))??;
        let consumer = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let inner = Inner {
            conn,
            keys,
            consumer,
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            fetching: tokio::sync::Mutex::new(Instant::now()),
            outage: Mutex::new(Outage::default()),
            depth: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
            limits: settings.limits(),
            claim_idle: settings.redis_claim_idle,
        };
        inner.refresh_depth().await?;
        tracing::info!(backend = "redis", consumer = %inner.consumer, "Redis queue opened.");
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// This process's consumer name in the group.
    pub fn consumer(&self) -> &str {
        &self.inner.consumer
    }

    async fn next_event(&self) -> Result<Option<Event>, QueueError> {
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
            let fetched = match self.inner.fetching.try_lock() {
                Ok(_) if self.inner.backing_off() => 0,
                Ok(last_claim) => match self.inner.fetch(last_claim).await {
                    Ok(fetched) => {
                        self.inner.reachable();
                        fetched
                    }
                    Err(QueueError::Unavailable(error)) => {
                        self.inner.unreachable(&*error);
                        0
                    }
                    Err(error) => return Err(error),
                },
                Err(_) => 0,
            };
            if fetched == 0 {
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
        }
    }
}

fn decode(stream: &str, entry: &StreamId) -> Option<Entry> {
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
    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// `XREADGROUP GROUP genhook <consumer> COUNT <count> STREAMS`: add the streams and ids.
    fn read_group(&self, count: usize) -> redis::Cmd {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(count)
            .arg("STREAMS");
        cmd
    }

    /// Runs a command that needs the consumer group. When Redis answers `NOGROUP` (it came back
    /// without its data), recreates the group on every stream and runs the command once more.
    async fn group_query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, QueueError> {
        match cmd.query_async(&mut self.conn()).await {
            Err(error) if error.code() == Some("NOGROUP") => {
                tracing::warn!(
                    backend = "redis",
                    group = GROUP,
                    %error,
                    "The consumer group is gone (did Redis restart without its data?); recreating it."
                );
                create_groups(&mut self.conn(), &self.keys).await?;
                cmd.query_async(&mut self.conn()).await.map_err(storage)
            }
            result => result.map_err(storage),
        }
    }

    /// Whether the readers are waiting before they try Redis again.
    fn backing_off(&self) -> bool {
        lock(&self.outage)
            .retry_at
            .is_some_and(|at| Instant::now() < at)
    }

    /// A read failed because Redis is away: wait longer before the next try (up to
    /// [`BACKOFF_MAX`]); logged once per outage.
    fn unreachable(&self, error: &(dyn std::error::Error + 'static)) {
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
    fn reachable(&self) {
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

    /// Runs the settle script (`settle.lua`): `XACK` + `XDEL` of the leased entry (its bytes
    /// leave the counter), then the `XADD` of `then` if any, in one step.
    async fn settle(
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
    async fn acknowledge(&self, lease: &Lease) -> Result<(), QueueError> {
        self.settle(Some(lease), None).await
    }

    /// Retries an acknowledgement Redis could not take until it does: the event reached SL1, and
    /// an entry left pending would be delivered again after `redis_claim_idle`.
    async fn acknowledge_later(&self, event_id: String, lease: Lease) {
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

    fn depth_down(&self) {
        let _ = self
            .depth
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some(d.saturating_sub(1))
            });
    }

    fn bytes_down(&self, size: u64) {
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(size))
            });
    }

    /// Hands entries to the local lanes (but those this process holds already) and wakes the
    /// readers; how many were new.
    fn push_local(&self, entries: Vec<Entry>) -> usize {
        self.push_read(entries, false)
    }

    /// [`Inner::push_local`] for the answer of a read of pending entries (begun with
    /// [`Inner::reread`]): entries let go of while it was on its way are left out.
    fn push_reread(&self, entries: Vec<Entry>) -> usize {
        self.push_read(entries, true)
    }

    fn push_read(&self, entries: Vec<Entry>, rereading: bool) -> usize {
        let pushed = lock(&self.state).push(entries, rereading);
        if pushed > 0 {
            self.ready.notify_waiters();
        }
        pushed
    }

    /// This process is done with an entry (acknowledged, requeued, dead-lettered, or failed to
    /// and left pending for `XAUTOCLAIM`).
    fn let_go(&self, lease: Option<&Lease>) {
        if let Some(lease) = lease {
            lock(&self.state).let_go(&lease.key());
        }
    }

    /// Sends a read of pending entries (`XREADGROUP … 0`, `XAUTOCLAIM`), noting what this process
    /// lets go of until its answer is pushed with [`Inner::push_reread`].
    async fn reread<T: redis::FromRedisValue>(
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
    async fn recover_own(&self) -> Result<usize, QueueError> {
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

    async fn refresh_depth(&self) -> Result<usize, QueueError> {
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
    async fn fetch(
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

    fn take_lease(&self, event_id: &str) -> Option<Lease> {
        lock(&self.state).leased.remove(event_id)
    }

    /// Adds `event` to its stream and, in the same step, acknowledges and deletes the entry it
    /// came from.
    async fn replace(&self, event: &Event, lease: Option<Lease>) -> Result<(), QueueError> {
        let bytes = match accept::encode_event(event) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.let_go(lease.as_ref());
                return Err(error);
            }
        };
        let size = bytes.len() as u64;
        let fields: [(&str, &[u8]); 1] = [("event", &bytes)];
        let result = self
            .settle(
                lease.as_ref(),
                Some(Append {
                    stream: self.keys.stream(event.priority),
                    size,
                    fields: &fields,
                }),
            )
            .await;
        self.let_go(lease.as_ref());
        result
    }
}

impl Queue for RedisQueue {
    fn accept(
        &self,
        event: Event,
        claim: Option<Claim>,
    ) -> BoxFuture<'_, Result<Accepted, QueueError>> {
        async move {
            if lock(&self.inner.state).closed {
                return Err(QueueError::Closed);
            }
            let (accepted, size) = self.inner.accept(event, claim).await?;
            if accepted == Accepted::Queued {
                self.inner.depth.fetch_add(1, Ordering::Relaxed);
                self.inner.bytes.fetch_add(size, Ordering::Relaxed);
                self.inner.ready.notify_one();
            }
            Ok(accepted)
        }
        .boxed()
    }

    fn next(&self) -> BoxFuture<'_, Result<Option<Event>, QueueError>> {
        self.next_event().boxed()
    }

    fn ack(&self, event: &Event) -> BoxFuture<'_, Result<(), QueueError>> {
        let lease = self.inner.take_lease(&event.id);
        let event_id = event.id.clone();
        async move {
            let Some(lease) = lease else {
                return Ok(());
            };
            match self.inner.acknowledge(&lease).await {
                Ok(()) => {}
                Err(QueueError::Unavailable(error)) => {
                    tracing::warn!(backend = "redis", %event_id, %error, "Redis is away; the acknowledgement of a delivered event is retried until it is back.");
                    let inner = Arc::clone(&self.inner);
                    tokio::spawn(async move { inner.acknowledge_later(event_id, lease).await });
                    return Ok(());
                }
                Err(error) => {
                    self.inner.let_go(Some(&lease));
                    return Err(error);
                }
            }
            self.inner.let_go(Some(&lease));
            self.inner.depth_down();
            Ok(())
        }
        .boxed()
    }

    fn requeue(&self, event: Event, delay: Duration) -> BoxFuture<'_, Result<(), QueueError>> {
        let lease = self.inner.take_lease(&event.id);
        let inner = Arc::clone(&self.inner);
        async move {
            if delay.is_zero() {
                return inner.replace(&event, lease).await;
            }
            // The old entry stays pending meanwhile: if this process dies, another reclaims it.
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Err(error) = inner.replace(&event, lease).await {
                    tracing::error!(backend = "redis", %error, "Requeue failed; the entry stays pending and will be reclaimed.");
                }
                inner.ready.notify_one();
            });
            Ok(())
        }
        .boxed()
    }

    fn dead_letter(&self, event: Event) -> BoxFuture<'_, Result<(), QueueError>> {
        let lease = self.inner.take_lease(&event.id);
        async move {
            let id = event.id.clone();
            let letter = DeadLetter {
                event,
                dead_at_ms: super::now_ms(),
            };
            let bytes = match accept::encode_dead_letter(&letter) {
                Ok(bytes) => bytes,
                Err(error) => {
                    self.inner.let_go(lease.as_ref());
                    return Err(error);
                }
            };
            let fields: [(&str, &[u8]); 2] = [("id", id.as_bytes()), ("letter", &bytes)];
            let result = self
                .inner
                .settle(
                    lease.as_ref(),
                    Some(Append {
                        stream: &self.inner.keys.dead,
                        size: 0,
                        fields: &fields,
                    }),
                )
                .await;
            self.inner.let_go(lease.as_ref());
            result?;
            if lease.is_some() {
                self.inner.depth_down();
            }
            Ok(())
        }
        .boxed()
    }

    fn depth(&self) -> usize {
        self.inner.depth.load(Ordering::Relaxed)
    }

    fn capacity(&self) -> usize {
        self.inner.limits.max_events
    }

    fn bytes(&self) -> u64 {
        self.inner.bytes.load(Ordering::Relaxed)
    }

    fn max_bytes(&self) -> u64 {
        self.inner.limits.max_bytes
    }

    fn close(&self) {
        let unread = {
            let mut state = lock(&self.inner.state);
            state.closed = true;
            state.local.len()
        };
        tracing::info!(backend = "redis", unread, "Redis queue closed; entries it read but did not deliver are reclaimed by another instance after redis_claim_idle.");
        self.inner.ready.notify_waiters();
    }

    fn backend(&self) -> &'static str {
        "redis"
    }

    fn is_available(&self) -> bool {
        lock(&self.inner.outage).since.is_none()
    }

    /// While Redis is away: `/readyz` says so, and GenHook alerts SL1 about itself (once when
    /// it goes, once when it is back). The cause (which may name the server) stays in the log.
    fn unavailable_reason(&self) -> Option<String> {
        lock(&self.inner.outage)
            .since
            .map(|_| "Redis is unreachable".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genhook_core::queue::Priority;

    fn entry(id: &str) -> Entry {
        Entry {
            stream: "genhook:queue:normal".into(),
            id: id.into(),
            event: Event {
                id: format!("event-{id}"),
                source: "s".into(),
                event: "e".into(),
                delivery_id: None,
                priority: Priority::Normal,
                received_at_ms: 0,
                alert: genhook_core::AlertDefaults::default().alert(id.to_owned()),
                render_error: None,
                headers: vec![],
                body: bytes::Bytes::new(),
                attempts: 0,
                last_error: None,
            },
            size: 0,
        }
    }

    fn key(id: &str) -> (String, String) {
        ("genhook:queue:normal".into(), id.into())
    }

    #[test]
    fn an_entry_acknowledged_while_a_reread_was_on_its_way_is_not_handed_out_again() {
        let mut state = State::default();
        assert_eq!(state.push(vec![entry("1-0"), entry("2-0")], false), 2);
        // Recovery after an outage sends `XREADGROUP … 0`; Redis answers with both entries,
        // still pending, while a worker acknowledges 1-0 (XACK lands after the read).
        state.reread_starts();
        state.let_go(&key("1-0"));
        let pushed = state.push(vec![entry("1-0"), entry("2-0"), entry("3-0")], true);
        assert_eq!(
            pushed, 1,
            "only 3-0 is new: 1-0 was let go during the read, 2-0 is held"
        );
        assert!(!state.held.contains(&key("1-0")));
        assert!(
            state.let_go_while_rereading.is_none(),
            "the note ends with the read"
        );

        // Let go of outside a reread, an entry read again later (still pending after a failed
        // acknowledgement) is handed out again.
        state.let_go(&key("2-0"));
        assert_eq!(state.push(vec![entry("2-0")], true), 1);
    }

    #[test]
    fn a_failed_reread_stops_noting() {
        let mut state = State::default();
        state.reread_starts();
        state.reread_failed();
        state.let_go(&key("1-0"));
        assert!(state.let_go_while_rereading.is_none());
    }
}
