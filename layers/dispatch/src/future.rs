//! The response future of [`Dispatch`](crate::Dispatch).
//!
//! `dispatch` is the leaf-like end of a stack: it awaits the queue (a trait object returning
//! boxed futures), so its own future is a named newtype around a `BoxFuture` (as axum's
//! `from_fn` and vector's sinks do) rather than a hand-written state machine over futures that
//! are boxed anyway.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use genhook_core::{PipelineError, WebhookResponse};

/// Response future of [`Dispatch`](crate::Dispatch).
pub struct ResponseFuture {
    inner: BoxFuture<'static, Result<WebhookResponse, PipelineError>>,
}

impl ResponseFuture {
    pub(crate) fn new(
        future: impl Future<Output = Result<WebhookResponse, PipelineError>> + Send + 'static,
    ) -> Self {
        Self {
            inner: Box::pin(future),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<WebhookResponse, PipelineError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}
