//! The redis backend's dead-letter queue: the `{prefix}:dead` stream, one entry per letter (its
//! record in the `letter` field; see [`genhook_core::queue::record`]).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use genhook_core::queue::{record, DeadLetter, DeadLetterFilter, DeadLetters, QueueError};
use redis::streams::StreamRangeReply;

use super::errors::storage;
use super::Inner;

/// The dead letters, in the `{prefix}:dead` stream.
#[derive(Debug, Clone)]
pub struct RedisDeadLetters {
    pub(super) inner: Arc<Inner>,
}

impl RedisDeadLetters {
    async fn all(&self) -> Result<Vec<(String, DeadLetter)>, QueueError> {
        let range: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&self.inner.keys.dead)
            .arg("-")
            .arg("+")
            .query_async(&mut self.inner.conn())
            .await
            .map_err(storage)?;
        Ok(range
            .ids
            .iter()
            .filter_map(|entry| {
                let record: Vec<u8> = entry.get("letter")?;
                let letter = record::decode_dead_letter(Bytes::from(record)).ok()?;
                Some((entry.id.clone(), letter))
            })
            .collect())
    }

    async fn delete(&self, entry: &str) -> Result<bool, QueueError> {
        let removed: usize = redis::cmd("XDEL")
            .arg(&self.inner.keys.dead)
            .arg(entry)
            .query_async(&mut self.inner.conn())
            .await
            .map_err(storage)?;
        Ok(removed == 1)
    }
}

impl DeadLetters for RedisDeadLetters {
    fn list(
        &self,
        filter: &DeadLetterFilter,
    ) -> BoxFuture<'_, Result<Vec<DeadLetter>, QueueError>> {
        let filter = filter.clone();
        async move {
            Ok(self
                .all()
                .await?
                .into_iter()
                .map(|(_, l)| l)
                .filter(|l| filter.matches(l))
                .take(filter.limit.unwrap_or(usize::MAX))
                .collect())
        }
        .boxed()
    }

    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>> {
        let id = id.to_owned();
        async move {
            Ok(self
                .all()
                .await?
                .into_iter()
                .map(|(_, l)| l)
                .find(|l| l.event.id == id))
        }
        .boxed()
    }

    fn take(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>> {
        let id = id.to_owned();
        async move {
            for (entry, letter) in self.all().await? {
                // XDEL answers 1 to exactly one caller: two concurrent takes never both win.
                if letter.event.id == id && self.delete(&entry).await? {
                    return Ok(Some(letter));
                }
            }
            Ok(None)
        }
        .boxed()
    }

    fn purge(&self, filter: &DeadLetterFilter) -> BoxFuture<'_, Result<usize, QueueError>> {
        let filter = filter.clone();
        async move {
            let mut purged = 0;
            let budget = filter.limit.unwrap_or(usize::MAX);
            for (entry, letter) in self.all().await? {
                if purged >= budget {
                    break;
                }
                if filter.matches(&letter) && self.delete(&entry).await? {
                    purged += 1;
                }
            }
            Ok(purged)
        }
        .boxed()
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, QueueError>> {
        async move {
            redis::cmd("XLEN")
                .arg(&self.inner.keys.dead)
                .query_async(&mut self.inner.conn())
                .await
                .map_err(storage)
        }
        .boxed()
    }
}
