//! The Redis the `genhook-redis` scenario queues into: the local one at `127.0.0.1:6379`, when it
//! answers, kept apart from everything else that uses it.
//!
//! Each run gets a database of its own (`1 + pid % 15`, as the crash tests pick theirs) and, when
//! GenHook knows the key `redis_prefix`, a unique prefix (`genhook-bench-<uuid>`) whose keys are
//! deleted after the run. A GenHook without that key uses its default prefix `genhook`: then that
//! database's `genhook:*` keys are deleted before the run (stale de-duplication claims of an
//! earlier run would swallow this run's deliveries, whose ids restart at 1) and after it.

use std::time::Duration;

use redis::AsyncCommands as _;

/// Where the bench looks for Redis.
pub(crate) const ADDRESS: &str = "127.0.0.1:6379";

/// GenHook's key prefix when `redis_prefix` is not set.
const DEFAULT_PREFIX: &str = "genhook";

/// One run's place in Redis.
#[derive(Debug, Clone)]
pub(crate) struct Place {
    /// `redis_url` for GenHook.
    pub(crate) url: String,
    /// The unique `redis_prefix`, or `None` when GenHook does not know that key.
    pub(crate) prefix: Option<String>,
}

impl Place {
    /// A fresh place, or `None` when no Redis answers at [`ADDRESS`] within 2 s. `prefixes`:
    /// whether GenHook knows `redis_prefix`.
    pub(crate) async fn new(prefixes: bool) -> Option<Self> {
        let db = 1 + std::process::id() % 15;
        let place = Self {
            url: format!("redis://{ADDRESS}/{db}"),
            prefix: prefixes.then(|| format!("genhook-bench-{}", uuid::Uuid::new_v4().simple())),
        };
        let mut conn = place.connect().await?;
        let pong: Option<String> = redis::cmd("PING").query_async(&mut conn).await.ok();
        pong.map(|_| place)
    }

    async fn connect(&self) -> Option<redis::aio::MultiplexedConnection> {
        let client = redis::Client::open(self.url.as_str()).ok()?;
        tokio::time::timeout(
            Duration::from_secs(2),
            client.get_multiplexed_async_connection(),
        )
        .await
        .ok()?
        .ok()
    }

    /// Deletes the keys under the prefix GenHook uses here; how many were deleted.
    pub(crate) async fn clean(&self) -> usize {
        let prefix = self.prefix.as_deref().unwrap_or(DEFAULT_PREFIX);
        let Some(mut conn) = self.connect().await else {
            return 0;
        };
        let keys: Vec<String> = conn.keys(format!("{prefix}:*")).await.unwrap_or_default();
        if keys.is_empty() {
            return 0;
        }
        conn.del::<_, usize>(&keys).await.unwrap_or(0)
    }
}
