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
//! multiplexed connection serves every worker. Of the readers (a delivery loop per slot of the
//! adaptive limit), one fetches at a time; the others wait for what it pushes, woken one per
//! entry, and a local enqueue wakes both the fetcher (out of its poll wait) and one waiting
//! reader (to take up fetching if nobody does).
//!
//! | module | holds |
//! |---|---|
//! | this one | [`RedisQueue`]: opening it, and the [`Queue`] calls |
//! | `accept` | accepting a new event with its delivery-id key (`accept.lua`) |
//! | `read` | `next`: reading and rereading the streams through the group, decoding entries |
//! | `settle` | acknowledge, requeue, dead-letter in one script (`settle.lua`); acks kept while away |
//! | `state` | the entries read and the leases handed out, and the reread rules |
//! | `outage` | the readers' backoff while Redis is away, and its reporting |
//! | `dead_letters` | [`RedisDeadLetters`]: the `{prefix}:dead` stream |
//! | `errors` | Redis errors as queue errors; (re)creating the consumer group |
//! | `keys` | the key names under `redis_prefix` |

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
mod outage;
mod read;
mod settle;
mod state;

pub use dead_letters::RedisDeadLetters;

use errors::{create_groups, storage};
use keys::Keys;

use outage::Outage;
use state::{Append, Entry, Lease, State};

use crate::queue::memory::lock;
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

struct Inner {
    conn: ConnectionManager,
    keys: Keys,
    consumer: String,
    state: Mutex<State>,
    /// Wakes readers waiting for entries (one per entry pushed to the local lanes, and one per
    /// local enqueue so that a reader takes up fetching when nobody does).
    ready: Notify,
    /// Wakes the reader that fetches while it waits out an empty read: a local enqueue.
    wanted: Notify,
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
            wanted: Notify::new(),
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
                self.inner.wake_for_new_entry();
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
                inner.wake_for_new_entry();
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
        self.inner.wanted.notify_waiters();
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
