//! The middleware around a [`Breaker`]: [`CircuitBreakerLayer`] and [`CircuitBreaker`], which
//! fail fast with [`BreakerOpen`] while the circuit is open, and the [`FailureClassifier`] that
//! says which errors count against the inner service.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tower::{BoxError, Layer, Service};

use super::machine::{Breaker, BreakerOpen, Permit};

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
