//! The redis backend's de-duplication memory, shared by every instance on one Redis.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use genhook_core::queue::{DedupStore, QueueError};

use super::errors::storage;
use super::Inner;

/// The de-duplication memory: one `SET NX PX` key per delivery id, shared by every instance.
#[derive(Debug, Clone)]
pub struct RedisDedup {
    pub(super) inner: Arc<Inner>,
}

impl DedupStore for RedisDedup {
    fn claim(&self, key: &str, window: Duration) -> BoxFuture<'_, Result<bool, QueueError>> {
        let key = format!("{}{key}", self.inner.keys.dedup);
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        async move {
            let set: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query_async(&mut self.inner.conn())
                .await
                .map_err(storage)?;
            Ok(set.is_some())
        }
        .boxed()
    }

    fn release(&self, key: &str) -> BoxFuture<'_, Result<(), QueueError>> {
        let key = format!("{}{key}", self.inner.keys.dedup);
        async move {
            redis::cmd("DEL")
                .arg(&key)
                .query_async::<()>(&mut self.inner.conn())
                .await
                .map_err(storage)
        }
        .boxed()
    }
}
