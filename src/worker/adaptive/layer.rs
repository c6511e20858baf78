//! The [`Adaptive`] middleware of the worker stack: takes an attempt slot of the
//! [`AdaptiveLimit`] per call, measures the attempt and feeds the controller its round trip and
//! whether the error says SL1 is overloaded (by the breaker's [`FailureClassifier`]).

use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tokio::time::Instant;
use tower::{BoxError, Layer, Service};

use super::controller::Signal;
use super::limit::AdaptiveLimit;
use crate::worker::breaker::FailureClassifier;

/// Wraps a service in [`Adaptive`].
#[derive(Debug, Clone)]
pub struct AdaptiveLayer<C> {
    limit: AdaptiveLimit,
    classifier: C,
}

impl<C: FailureClassifier> AdaptiveLayer<C> {
    /// Attempts take a slot of `limit`; the errors `classifier` calls failures are overload
    /// signals.
    pub fn new(limit: AdaptiveLimit, classifier: C) -> Self {
        Self { limit, classifier }
    }
}

impl<S, C: FailureClassifier> Layer<S> for AdaptiveLayer<C> {
    type Service = Adaptive<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Adaptive {
            inner,
            limit: self.limit.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// The middleware: each call waits for an attempt slot, then calls the inner service and feeds
/// its round-trip time and outcome to the limit. The slot is taken in the response future, after
/// the inner service was polled ready (the worker stack's inner services, the attempt timeout and
/// the SL1 client, are always ready).
#[derive(Debug, Clone)]
pub struct Adaptive<S, C> {
    inner: S,
    limit: AdaptiveLimit,
    classifier: C,
}

impl<S, C> Adaptive<S, C> {
    /// The shared limit.
    pub fn limit(&self) -> &AdaptiveLimit {
        &self.limit
    }
}

// === impl Adaptive ===

impl<S, C, R> Service<R> for Adaptive<S, C>
where
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    S::Response: Send,
    C: FailureClassifier + Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: R) -> Self::Future {
        // The instance polled ready goes into the future; a clone stays for the next poll_ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.limit.clone();
        let classifier = self.classifier.clone();
        Box::pin(async move {
            let _slot = limit.attempt_slot().await;
            let started = Instant::now();
            let result = inner.call(request).await.map_err(Into::into);
            let signal = match &result {
                Err(error) if classifier.is_failure(error) => Signal::Overloaded,
                _ => Signal::Answered,
            };
            limit.record(started.elapsed(), signal);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::controller::MIN_WINDOW;
    use super::*;

    const RTT: Duration = Duration::from_millis(20);

    #[tokio::test(start_paused = true)]
    async fn the_middleware_measures_each_attempt() {
        use tower::{service_fn, ServiceExt};
        let limit = AdaptiveLimit::new(2, 8);
        let fail_all = |_: &BoxError| true;
        let classifier: fn(&BoxError) -> bool = fail_all;
        let svc = AdaptiveLayer::new(limit.clone(), classifier).layer(service_fn(
            |ok: bool| async move {
                tokio::time::sleep(RTT).await;
                if ok {
                    Ok::<_, BoxError>(())
                } else {
                    Err::<(), BoxError>("503".into())
                }
            },
        ));
        for _ in 0..MIN_WINDOW {
            // Two at once: the limit is reached.
            let (a, b) = tokio::join!(svc.clone().oneshot(true), svc.clone().oneshot(true));
            a.unwrap();
            b.unwrap();
        }
        assert_eq!(limit.limit(), 3);
        assert_eq!(limit.in_flight(), 0);
        let baseline = limit.control().baseline();
        assert_eq!(baseline, Some(RTT), "the RTT of the paused clock");
        assert!(svc.clone().oneshot(false).await.is_err());
        assert_eq!(limit.limit(), 1, "3 × 0.5, rounded down");
    }
}
