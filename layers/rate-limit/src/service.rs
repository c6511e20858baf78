//! [`RateLimit`]: the rate-limit middleware. It decides in `call` and stays ready, so a webhook
//! over the quota is answered 429 at once instead of waiting.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
use governor::clock::{Clock, DefaultClock};
use tower::Service;

use crate::error::RateLimitError;
use crate::future::ResponseFuture;
use crate::layer::Limiter;
use crate::RateLimitLayer;

/// Middleware that refuses webhooks over the source's quota with
/// [`RateLimitError::Limited`] (429 with `Retry-After`); the inner service never sees them.
pub struct RateLimit<S, C: Clock = DefaultClock> {
    inner: S,
    limiter: Option<Arc<Limiter<C>>>,
}

// === impl RateLimit ===

impl<S, C: Clock> RateLimit<S, C> {
    pub(crate) fn from_parts(inner: S, limiter: Option<Arc<Limiter<C>>>) -> Self {
        Self { inner, limiter }
    }

    /// Wraps `inner` with the limiter of `layer`.
    pub fn new(inner: S, layer: &RateLimitLayer<C>) -> Self {
        tower::Layer::layer(layer, inner)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the middleware, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone, C: Clock> Clone for RateLimit<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            limiter: self.limiter.clone(),
        }
    }
}

impl<S: fmt::Debug, C: Clock> fmt::Debug for RateLimit<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("inner", &self.inner)
            .field("limited", &self.limiter.is_some())
            .finish()
    }
}

impl<S, C> Service<WebhookRequest> for RateLimit<S, C>
where
    S: Service<WebhookRequest, Response = WebhookResponse>,
    S::Error: Into<PipelineError>,
    C: Clock,
{
    type Response = WebhookResponse;
    type Error = PipelineError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: WebhookRequest) -> Self::Future {
        if let Some(limiter) = &self.limiter {
            if let Err(not_until) = limiter.check() {
                let retry_after = not_until.wait_time_from(limiter.clock().now());
                tracing::debug!(
                    retry_after_ms = retry_after.as_millis() as u64,
                    "Webhook refused: over the source's rate limit."
                );
                return ResponseFuture::rejected(RateLimitError::Limited { retry_after });
            }
        }
        ResponseFuture::called(self.inner.call(request))
    }
}
