//! The fixed-order worker stack that delivers one alert to SL1, outermost first:
//!
//! ```text
//! Retry(Sl1RetryPolicy) ► CircuitBreaker ► ConcurrencyLimit(per source) ► Adaptive ► AttemptTimeout(sl1_timeout) ► Sl1Client
//! ```
//!
//! - the timeout is inside the retry, so `sl1_timeout` bounds each attempt; the delivery as a whole
//!   is bounded by the request's deadline (`processing_timeout`): the last attempt is cut short at
//!   it and the policy starts no retry that would end after it;
//! - the breaker is inside the retry, so it sees every attempt; when open it fails fast with
//!   `BreakerOpen`, which the policy does not retry (the worker requeues the event);
//! - the concurrency limit is below the breaker and inside the retry, so backoff sleeps hold no
//!   SL1 permit and refused calls never wait for one;
//! - the adaptive limit ([`super::adaptive`]) is below the per-source limit: an attempt waits for
//!   its source's permit, then for a slot of the shared limit, and only the time SL1 takes is
//!   measured (the per-attempt timeout inside it counts as an overload answer).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use genhook::core::AlertDefaults;
//! use genhook::worker::{sl1_stack, AdaptiveLimit, Breaker, Sl1Request, Sl1Response, Sl1RetryPolicy};
//! use http::StatusCode;
//! use tokio::sync::Semaphore;
//! use tower::{service_fn, BoxError, ServiceExt};
//!
//! // A leaf standing in for the SL1 client.
//! let leaf = service_fn(|_: Sl1Request| async {
//!     Ok::<_, BoxError>(Sl1Response { status: StatusCode::CREATED, em7_message: None })
//! });
//! let stack = sl1_stack(
//!     leaf,
//!     Breaker::new(5, Duration::from_secs(30)),
//!     Arc::new(Semaphore::new(10)),
//!     AdaptiveLimit::new(8, 256),
//!     Duration::from_secs(30),
//!     Sl1RetryPolicy::new(3),
//! );
//! let alert = AlertDefaults::default().alert("GitHub opened on repo");
//! let response = stack.oneshot(Sl1Request::new(alert, "event-1", "github")).await.unwrap();
//! assert_eq!(response.status, StatusCode::CREATED);
//! # }
//! ```
//!
//! One [`Breaker`] is shared by every source (there is one SL1); each source listed in
//! `per_source_max_concurrent` has its own semaphore, the others share one of `sl1_max_inflight`
//! permits (so only the adaptive limit holds them back). One [`AdaptiveLimit`] is shared by every
//! source too.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tower::limit::{ConcurrencyLimit, GlobalConcurrencyLimitLayer};
use tower::retry::{Retry, RetryLayer};
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};

use super::adaptive::{Adaptive, AdaptiveLayer, AdaptiveLimit};
use super::attempt_timeout::{AttemptTimeout, AttemptTimeoutLayer};
use super::breaker::{Breaker, CircuitBreaker, CircuitBreakerLayer, FailureClassifier};
use super::policy::{is_outage, Backoff, Sl1RetryPolicy};
use super::settings::WorkerSettings;
use super::sl1::{Sl1Request, Sl1Response};

/// The breaker's failure classifier: what [`is_outage`] says (retryable errors and timeouts; an
/// SL1 `400` says nothing about SL1's health).
#[derive(Debug, Clone, Copy, Default)]
pub struct OutageClassifier;

impl FailureClassifier for OutageClassifier {
    fn is_failure(&self, error: &BoxError) -> bool {
        is_outage(error)
    }
}

/// The worker stack around a leaf `S` (the [`Sl1Client`](super::Sl1Client) in production, a mock
/// in tests).
pub type Sl1Stack<S> = Retry<
    Sl1RetryPolicy,
    CircuitBreaker<
        ConcurrencyLimit<Adaptive<AttemptTimeout<S>, OutageClassifier>>,
        OutageClassifier,
    >,
>;

/// Builds the stack around `leaf`.
pub fn sl1_stack<S>(
    leaf: S,
    breaker: Breaker,
    limit: Arc<Semaphore>,
    adaptive: AdaptiveLimit,
    timeout: Duration,
    policy: Sl1RetryPolicy,
) -> Sl1Stack<S>
where
    S: Service<Sl1Request, Response = Sl1Response> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    ServiceBuilder::new()
        // Outermost: one delivery, several attempts; its sleeps hold nothing below.
        .layer(RetryLayer::new(policy))
        // Sees every attempt; fails fast with BreakerOpen while SL1 is down.
        .layer(CircuitBreakerLayer::with_classifier(
            breaker,
            OutageClassifier,
        ))
        // Per-source cap on concurrent SL1 calls (a semaphore shared by the source's clones).
        .layer(GlobalConcurrencyLimitLayer::with_semaphore(limit))
        // The shared adaptive limit on attempts at SL1, fed with each attempt's RTT and outcome.
        .layer(AdaptiveLayer::new(adaptive, OutageClassifier))
        // Per attempt: a hung SL1 costs sl1_timeout (less near the deadline), then the retry
        // policy decides.
        .layer(AttemptTimeoutLayer::new(timeout))
        .service(leaf)
}

/// The stacks of every source, sharing one breaker. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Deliverer<S> {
    default: Sl1Stack<S>,
    per_source: Arc<HashMap<String, Sl1Stack<S>>>,
    default_limit: (usize, Arc<Semaphore>),
    limits: Arc<HashMap<String, (usize, Arc<Semaphore>)>>,
    breaker: Breaker,
    adaptive: AdaptiveLimit,
    policy: Sl1RetryPolicy,
}

impl<S> Deliverer<S>
where
    S: Service<Sl1Request, Response = Sl1Response> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    /// The stacks for `settings` around `leaf`, sharing `breaker` and `adaptive`.
    pub fn new(
        leaf: S,
        settings: &WorkerSettings,
        breaker: Breaker,
        adaptive: AdaptiveLimit,
    ) -> Self {
        Self::replacing(leaf, settings, breaker, adaptive, None)
    }

    /// Like [`new`](Self::new), taking over the semaphores of `previous` (a reload) wherever a
    /// source's limit is unchanged, so that deliveries in flight on the old stacks still count
    /// against the limit of the new ones. A changed limit starts a new semaphore.
    pub fn replacing(
        leaf: S,
        settings: &WorkerSettings,
        breaker: Breaker,
        adaptive: AdaptiveLimit,
        previous: Option<&Self>,
    ) -> Self {
        let policy = Sl1RetryPolicy::with_backoff(
            settings.sl1_retry_attempts,
            Backoff::new(settings.retry_backoff_base, settings.retry_backoff_max, 0.1),
        );
        let build = |limit: &Arc<Semaphore>| {
            sl1_stack(
                leaf.clone(),
                breaker.clone(),
                Arc::clone(limit),
                adaptive.clone(),
                settings.sl1_timeout,
                policy.clone(),
            )
        };
        let semaphore = |size: usize, old: Option<&(usize, Arc<Semaphore>)>| match old {
            Some((old_size, old)) if *old_size == size => (size, Arc::clone(old)),
            _ => (size, Arc::new(Semaphore::new(size))),
        };
        let limits: HashMap<String, (usize, Arc<Semaphore>)> = settings
            .per_source_max_concurrent
            .iter()
            .map(|(source, limit)| {
                let old = previous.and_then(|p| p.limits.get(source));
                (source.clone(), semaphore((*limit).max(1), old))
            })
            .collect();
        let per_source = limits
            .iter()
            .map(|(source, (_, limit))| (source.clone(), build(limit)))
            .collect();
        let default_limit = semaphore(
            settings.sl1_max_inflight.max(1),
            previous.map(|p| &p.default_limit),
        );
        Self {
            default: build(&default_limit.1),
            per_source: Arc::new(per_source),
            default_limit,
            limits: Arc::new(limits),
            breaker,
            adaptive,
            policy,
        }
    }

    /// The shared breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The shared adaptive limit.
    pub fn adaptive(&self) -> &AdaptiveLimit {
        &self.adaptive
    }

    /// The retry policy (its backoff and retry count).
    pub fn policy(&self) -> &Sl1RetryPolicy {
        &self.policy
    }

    /// Delivers one alert through the stack of its source.
    ///
    /// # Errors
    /// The last attempt's error (boxed `Sl1Error`, `Elapsed` or `BreakerOpen`).
    pub async fn deliver(&self, request: Sl1Request) -> Result<Sl1Response, BoxError> {
        let stack = self
            .per_source
            .get(&*request.source)
            .unwrap_or(&self.default)
            .clone();
        stack.oneshot(request).await
    }
}
