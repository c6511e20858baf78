//! A circuit breaker: a generic tower middleware (not tied to SL1 or webhooks) that stops calling
//! an inner service that keeps failing.
//!
//! ```text
//!            N consecutive failures              cooldown elapsed
//!  Closed ─────────────────────────► Open ──────────────────────────► HalfOpen (one probe)
//!    ▲                                 ▲                                   │
//!    │ probe (or any call) succeeds    └──────── probe fails ──────────────┤
//!    └─────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! While open it fails fast with [`BreakerOpen`] (which says how long is left of the cooldown) and
//! never calls the inner service. Which errors count as failures is up to a classifier, so that an
//! SL1 `400` (the request is bad, SL1 is fine) does not open the circuit.
//!
//! The state machine, [`Breaker`], is shared by every clone of the middleware and is usable on
//! its own. Its state is published on
//! a `tokio::sync::watch` channel ([`Breaker::subscribe`]) and, when a gauge name is given, as a
//! metric (0 closed, 1 half-open, 2 open). Time is `tokio::time`, so paused-clock tests drive it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::Duration;
//! use genhook::worker::breaker::{Breaker, BreakerOpen, CircuitBreakerLayer};
//! use tower::{service_fn, BoxError, ServiceBuilder, ServiceExt};
//!
//! let breaker = Breaker::new(1, Duration::from_secs(30));
//! let svc = ServiceBuilder::new()
//!     .layer(CircuitBreakerLayer::new(breaker.clone()))
//!     .service(service_fn(|_: ()| async { Err::<(), BoxError>("down".into()) }));
//! assert!(svc.clone().oneshot(()).await.is_err()); // opens the circuit
//! let error = svc.oneshot(()).await.unwrap_err();
//! assert!(error.is::<BreakerOpen>()); // fails fast
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::sync::watch;
use tokio::time::Instant;
use tower::{BoxError, Layer, Service};

/// The state of a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// The cooldown is over; one probe call is going through.
    HalfOpen,
    /// Calls fail fast.
    Open,
}

impl BreakerState {
    /// The gauge value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

/// The circuit is open: the call was refused without reaching the inner service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker is open")]
pub struct BreakerOpen {
    retry_in: Duration,
}

impl BreakerOpen {
    /// How long until the breaker lets a probe through.
    pub fn retry_in(&self) -> Duration {
        self.retry_in
    }
}

#[derive(Debug)]
struct Machine {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Instant,
    probe_in_flight: bool,
}

struct Shared {
    threshold: u32,
    cooldown: Duration,
    gauge: Option<&'static str>,
    machine: Mutex<Machine>,
    watch: watch::Sender<BreakerState>,
}

/// The shared state machine of a circuit breaker. Clones share it.
#[derive(Clone)]
pub struct Breaker {
    shared: Arc<Shared>,
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("threshold", &self.shared.threshold)
            .field("cooldown", &self.shared.cooldown)
            .field("state", &self.state())
            .finish()
    }
}

impl Breaker {
    /// A closed breaker that opens after `threshold` consecutive failures (at least 1) and lets a
    /// probe through `cooldown` after opening.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self::build(threshold, cooldown, None)
    }

    /// Like [`new`](Self::new), also publishing its state to the gauge `name`.
    pub fn with_gauge(threshold: u32, cooldown: Duration, name: &'static str) -> Self {
        ::metrics::gauge!(name).set(BreakerState::Closed.gauge());
        Self::build(threshold, cooldown, Some(name))
    }

    fn build(threshold: u32, cooldown: Duration, gauge: Option<&'static str>) -> Self {
        let (watch, _) = watch::channel(BreakerState::Closed);
        Self {
            shared: Arc::new(Shared {
                threshold: threshold.max(1),
                cooldown,
                gauge,
                machine: Mutex::new(Machine {
                    state: BreakerState::Closed,
                    consecutive_failures: 0,
                    opened_at: Instant::now(),
                    probe_in_flight: false,
                }),
                watch,
            }),
        }
    }

    /// The cooldown.
    pub fn cooldown(&self) -> Duration {
        self.shared.cooldown
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // The critical sections below cannot leave the machine half-updated, so a poisoned lock
        // (a panic elsewhere while holding it) still holds a consistent state.
        self.shared
            .machine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    /// State changes, as a watch channel.
    pub fn subscribe(&self) -> watch::Receiver<BreakerState> {
        self.shared.watch.subscribe()
    }

    /// Whether a call now would be refused (open and still cooling down, or half-open with its
    /// probe already in flight).
    pub fn is_refusing(&self) -> bool {
        let machine = self.lock();
        match machine.state {
            BreakerState::Closed => false,
            BreakerState::HalfOpen => machine.probe_in_flight,
            BreakerState::Open => Instant::now() < machine.opened_at + self.shared.cooldown,
        }
    }

    fn set_state(&self, machine: &mut Machine, state: BreakerState) {
        if machine.state == state {
            return;
        }
        machine.state = state;
        if let Some(name) = self.shared.gauge {
            ::metrics::gauge!(name).set(state.gauge());
        }
        self.shared.watch.send_replace(state);
    }

    /// Asks to make one call: a [`Permit`] to report its outcome with, or [`BreakerOpen`].
    ///
    /// # Errors
    /// [`BreakerOpen`] while the circuit is open, or half-open with its probe in flight.
    pub fn try_acquire(&self) -> Result<Permit, BreakerOpen> {
        let mut machine = self.lock();
        let now = Instant::now();
        let reopen_at = machine.opened_at + self.shared.cooldown;
        match machine.state {
            BreakerState::Closed => Ok(self.permit(false)),
            BreakerState::Open if now >= reopen_at => {
                machine.probe_in_flight = true;
                self.set_state(&mut machine, BreakerState::HalfOpen);
                tracing::info!("Circuit breaker half-open: letting one probe through.");
                Ok(self.permit(true))
            }
            BreakerState::HalfOpen if !machine.probe_in_flight => {
                machine.probe_in_flight = true;
                Ok(self.permit(true))
            }
            BreakerState::Open => Err(BreakerOpen {
                retry_in: reopen_at.saturating_duration_since(now),
            }),
            // A probe is in flight: its answer decides. Come back after a short while (at most
            // a second), not at once, so that callers do not spin.
            BreakerState::HalfOpen => Err(BreakerOpen {
                retry_in: self.shared.cooldown.min(Duration::from_secs(1)),
            }),
        }
    }

    fn permit(&self, probe: bool) -> Permit {
        Permit {
            breaker: self.clone(),
            probe,
            done: false,
        }
    }

    fn record(&self, probe: bool, failed: bool) {
        let mut machine = self.lock();
        if probe {
            machine.probe_in_flight = false;
        }
        if !failed {
            machine.consecutive_failures = 0;
            if machine.state != BreakerState::Closed {
                self.set_state(&mut machine, BreakerState::Closed);
                tracing::info!("Circuit breaker closed: calls go through again.");
            }
            return;
        }
        machine.consecutive_failures = machine.consecutive_failures.saturating_add(1);
        let opens = match machine.state {
            BreakerState::HalfOpen => probe,
            BreakerState::Closed => machine.consecutive_failures >= self.shared.threshold,
            BreakerState::Open => false,
        };
        if opens {
            machine.opened_at = Instant::now();
            self.set_state(&mut machine, BreakerState::Open);
            tracing::warn!(
                consecutive_failures = machine.consecutive_failures,
                cooldown_s = self.shared.cooldown.as_secs_f64(),
                "Circuit breaker opened: failing fast until the cooldown is over."
            );
        }
    }
}

/// Leave to make one call through a [`Breaker`]; report how it went with
/// [`success`](Self::success) or [`failure`](Self::failure). Dropping it unreported (the call
/// was cancelled) counts as neither, and frees the probe slot.
#[derive(Debug)]
pub struct Permit {
    breaker: Breaker,
    probe: bool,
    done: bool,
}

impl Permit {
    /// The call succeeded (or failed in a way that says nothing about the inner service's health).
    pub fn success(mut self) {
        self.done = true;
        self.breaker.record(self.probe, false);
    }

    /// The call failed.
    pub fn failure(mut self) {
        self.done = true;
        self.breaker.record(self.probe, true);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done && self.probe {
            self.breaker.lock().probe_in_flight = false;
        }
    }
}

/// Which errors count as failures of the inner service.
pub trait FailureClassifier: Clone {
    /// Whether `error` says the inner service is unhealthy.
    fn is_failure(&self, error: &BoxError) -> bool;
}

/// Every error is a failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyError;

impl FailureClassifier for AnyError {
    fn is_failure(&self, _error: &BoxError) -> bool {
        true
    }
}

impl FailureClassifier for fn(&BoxError) -> bool {
    fn is_failure(&self, error: &BoxError) -> bool {
        self(error)
    }
}

/// Wraps a service in a [`CircuitBreaker`] sharing one [`Breaker`].
#[derive(Debug, Clone)]
pub struct CircuitBreakerLayer<C = AnyError> {
    breaker: Breaker,
    classifier: C,
}

impl CircuitBreakerLayer<AnyError> {
    /// Every error counts as a failure.
    pub fn new(breaker: Breaker) -> Self {
        Self {
            breaker,
            classifier: AnyError,
        }
    }
}

impl<C: FailureClassifier> CircuitBreakerLayer<C> {
    /// Only errors the classifier calls failures count.
    pub fn with_classifier(breaker: Breaker, classifier: C) -> Self {
        Self {
            breaker,
            classifier,
        }
    }
}

impl<S, C: FailureClassifier> Layer<S> for CircuitBreakerLayer<C> {
    type Service = CircuitBreaker<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreaker {
            inner,
            breaker: self.breaker.clone(),
            classifier: self.classifier.clone(),
            inner_ready: false,
        }
    }
}

/// The circuit-breaker middleware. Reports ready at once while the circuit refuses calls (without
/// polling the inner service), so that a refused call fails fast instead of waiting for
/// capacity it will not use.
#[derive(Debug)]
pub struct CircuitBreaker<S, C = AnyError> {
    inner: S,
    breaker: Breaker,
    classifier: C,
    inner_ready: bool,
}

impl<S: Clone, C: Clone> Clone for CircuitBreaker<S, C> {
    /// A clone has not polled its inner service ready (tower's rule: never call a freshly cloned,
    /// unpolled service).
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            breaker: self.breaker.clone(),
            classifier: self.classifier.clone(),
            inner_ready: false,
        }
    }
}

impl<S, C> CircuitBreaker<S, C> {
    /// The breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, consuming the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

// === impl CircuitBreaker ===

impl<S, C, R> Service<R> for CircuitBreaker<S, C>
where
    S: Service<R>,
    S::Error: Into<BoxError>,
    C: FailureClassifier,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = future::ResponseFuture<S::Future, C>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.inner_ready || self.breaker.is_refusing() {
            return Poll::Ready(Ok(()));
        }
        ready!(self.inner.poll_ready(cx)).map_err(Into::into)?;
        self.inner_ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: R) -> Self::Future {
        let inner_ready = std::mem::take(&mut self.inner_ready);
        match self.breaker.try_acquire() {
            Ok(permit) if inner_ready => future::ResponseFuture::called(
                self.inner.call(request),
                permit,
                self.classifier.clone(),
            ),
            // The circuit closed between poll_ready and call: the inner service was not made
            // ready, so it must not be called. Refuse this one call; the next one goes through.
            Ok(_unused) => future::ResponseFuture::refused(BreakerOpen {
                retry_in: Duration::ZERO,
            }),
            Err(open) => future::ResponseFuture::refused(open),
        }
    }
}

/// The response future of [`CircuitBreaker`].
pub mod future {
    use super::*;

    pin_project! {
        /// Response future of [`CircuitBreaker`](super::CircuitBreaker).
        #[derive(Debug)]
        pub struct ResponseFuture<F, C> {
            #[pin]
            kind: Kind<F, C>,
        }
    }

    pin_project! {
        #[project = KindProj]
        #[derive(Debug)]
        enum Kind<F, C> {
            Called { #[pin] future: F, permit: Option<Permit>, classifier: C },
            Refused { error: Option<BreakerOpen> },
        }
    }

    impl<F, C> ResponseFuture<F, C> {
        pub(super) fn called(future: F, permit: Permit, classifier: C) -> Self {
            Self {
                kind: Kind::Called {
                    future,
                    permit: Some(permit),
                    classifier,
                },
            }
        }

        pub(super) fn refused(error: BreakerOpen) -> Self {
            Self {
                kind: Kind::Refused { error: Some(error) },
            }
        }
    }

    impl<F, C, T, E> Future for ResponseFuture<F, C>
    where
        F: Future<Output = Result<T, E>>,
        E: Into<BoxError>,
        C: FailureClassifier,
    {
        type Output = Result<T, BoxError>;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            match self.project().kind.project() {
                KindProj::Called {
                    future,
                    permit,
                    classifier,
                } => {
                    let result = ready!(future.poll(cx)).map_err(Into::into);
                    if let Some(permit) = permit.take() {
                        match &result {
                            Err(error) if classifier.is_failure(error) => permit.failure(),
                            _ => permit.success(),
                        }
                    }
                    Poll::Ready(result)
                }
                KindProj::Refused { error } => {
                    Poll::Ready(Err(Box::new(error.take().unwrap_or(BreakerOpen {
                        retry_in: Duration::ZERO,
                    }))))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_test::{assert_pending, assert_ready_ok};
    use tower::ServiceExt;
    use tower_test::mock;

    fn failing_permits(breaker: &Breaker, n: u32) {
        for _ in 0..n {
            breaker.try_acquire().unwrap().failure();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_then_half_opens_after_cooldown_then_closes() {
        let breaker = Breaker::new(3, Duration::from_secs(30));
        let mut states = breaker.subscribe();
        failing_permits(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
        failing_permits(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(states.has_changed().unwrap());
        assert_eq!(*states.borrow_and_update(), BreakerState::Open);

        let open = breaker.try_acquire().unwrap_err();
        assert_eq!(open.retry_in(), Duration::from_secs(30));
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(breaker.try_acquire().is_err());
        tokio::time::advance(Duration::from_secs(1)).await;

        let probe = breaker.try_acquire().unwrap();
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let refused = breaker.try_acquire().unwrap_err();
        assert_eq!(
            refused.retry_in(),
            Duration::from_secs(1),
            "only one probe at a time"
        );
        probe.success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.try_acquire().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens_for_another_cooldown() {
        let breaker = Breaker::new(1, Duration::from_secs(10));
        failing_permits(&breaker, 1);
        tokio::time::advance(Duration::from_secs(10)).await;
        breaker.try_acquire().unwrap().failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(
            breaker.try_acquire().unwrap_err().retry_in(),
            Duration::from_secs(10)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_probe_frees_the_slot() {
        let breaker = Breaker::new(1, Duration::from_secs(1));
        failing_permits(&breaker, 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(breaker.try_acquire().unwrap());
        assert!(breaker.try_acquire().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_the_consecutive_count() {
        let breaker = Breaker::new(2, Duration::from_secs(1));
        failing_permits(&breaker, 1);
        breaker.try_acquire().unwrap().success();
        failing_permits(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn open_circuit_never_reaches_inner_service() {
        let breaker = Breaker::new(1, Duration::from_secs(5));
        let (service, mut handle) =
            mock::spawn_layer::<(), (), _>(CircuitBreakerLayer::new(breaker.clone()));
        let mut service = service;

        assert_ready_ok!(service.poll_ready());
        let response = service.call(());
        let (_, send) = handle.next_request().await.unwrap();
        send.send_error("down");
        assert!(response.await.is_err());
        assert_eq!(breaker.state(), BreakerState::Open);

        // Refused without being polled ready and without a request reaching the inner service.
        handle.allow(0);
        assert_ready_ok!(service.poll_ready());
        let error = service.call(()).await.unwrap_err();
        assert!(error.is::<BreakerOpen>());
        assert_pending!(handle.poll_request());
    }

    #[tokio::test]
    async fn classifier_decides_what_counts() {
        fn never(_: &BoxError) -> bool {
            false
        }
        let breaker = Breaker::new(1, Duration::from_secs(5));
        let svc =
            CircuitBreakerLayer::with_classifier(breaker.clone(), never as fn(&BoxError) -> bool)
                .layer(tower::service_fn(|_: ()| async {
                    Err::<(), BoxError>("bad request".into())
                }));
        assert!(svc.clone().oneshot(()).await.is_err());
        assert!(svc.oneshot(()).await.is_err());
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
