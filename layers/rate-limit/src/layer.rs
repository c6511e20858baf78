//! [`RateLimitLayer`]: the configuration of the rate-limit stage.

use std::fmt;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tower::Layer;

use crate::RateLimit;

/// The governor limiter a source's stack shares between all its requests.
pub(crate) type Limiter<C> =
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// Applies a source's `rate_limit` to every request through the wrapped service.
///
/// One limiter (GCRA on an atomic, no lock) is built with the layer and shared by every service
/// it makes and every clone of them, so all requests of a source count against one quota.
pub struct RateLimitLayer<C: Clock = DefaultClock> {
    limiter: Option<(Arc<Limiter<C>>, Quota)>,
}

// === impl RateLimitLayer ===

impl RateLimitLayer {
    /// A layer allowing `quota`, on the real clock.
    pub fn new(quota: Quota) -> Self {
        Self::with_clock(quota, DefaultClock::default())
    }

    /// A layer that lets everything through: what a source without `rate_limit` gets.
    pub fn unlimited() -> Self {
        Self { limiter: None }
    }
}

impl<C: Clock> RateLimitLayer<C> {
    /// A layer allowing `quota`, on the given clock (governor's `FakeRelativeClock` in tests).
    pub fn with_clock(quota: Quota, clock: C) -> Self {
        Self {
            limiter: Some((
                Arc::new(RateLimiter::direct_with_clock(quota, clock)),
                quota,
            )),
        }
    }

    /// The quota, or `None` when the layer lets everything through.
    pub fn quota(&self) -> Option<Quota> {
        self.limiter.as_ref().map(|(_, quota)| *quota)
    }
}

impl<C: Clock> Clone for RateLimitLayer<C> {
    fn clone(&self) -> Self {
        Self {
            limiter: self.limiter.clone(),
        }
    }
}

impl<C: Clock> fmt::Debug for RateLimitLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("quota", &self.quota())
            .finish()
    }
}

impl<S, C: Clock> Layer<S> for RateLimitLayer<C> {
    type Service = RateLimit<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit::from_parts(inner, self.limiter.as_ref().map(|(l, _)| Arc::clone(l)))
    }
}
