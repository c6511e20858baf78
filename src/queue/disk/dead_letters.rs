//! The dead letters of a disk queue: kept in the same store, read through `spawn_blocking`,
//! taken and purged through the writer.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use genhook_core::queue::{DeadLetter, DeadLetterFilter, DeadLetters, QueueError};

use super::ops::{Op, Reply};
use super::store;
use super::Inner;

/// The dead letters of a [`DiskQueue`](super::DiskQueue), in the same store.
#[derive(Debug, Clone)]
pub struct DiskDeadLetters {
    pub(super) inner: Arc<Inner>,
}

impl DeadLetters for DiskDeadLetters {
    fn list(
        &self,
        filter: &DeadLetterFilter,
    ) -> BoxFuture<'_, Result<Vec<DeadLetter>, QueueError>> {
        let filter = filter.clone();
        self.inner
            .blocking(move |db| store::list_dead(db, &filter))
            .boxed()
    }

    fn get(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>> {
        let id = id.to_owned();
        self.inner
            .blocking(move |db| store::get_dead(db, &id))
            .boxed()
    }

    fn take(&self, id: &str) -> BoxFuture<'_, Result<Option<DeadLetter>, QueueError>> {
        let op = Op::TakeDead { id: id.to_owned() };
        async move {
            match self.inner.writer.submit(op).await? {
                Reply::Taken(letter) => Ok(letter.map(|l| *l)),
                _ => Ok(None),
            }
        }
        .boxed()
    }

    fn purge(&self, filter: &DeadLetterFilter) -> BoxFuture<'_, Result<usize, QueueError>> {
        let op = Op::PurgeDead {
            filter: filter.clone(),
        };
        async move {
            match self.inner.writer.submit(op).await? {
                Reply::Purged(n) => Ok(n),
                _ => Ok(0),
            }
        }
        .boxed()
    }

    fn count(&self) -> BoxFuture<'_, Result<usize, QueueError>> {
        self.inner.blocking(store::count_dead).boxed()
    }
}
