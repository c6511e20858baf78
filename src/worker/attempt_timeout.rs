//! The per-attempt timeout of the worker stack: `sl1_timeout`, cut short by the delivery's
//! deadline (`processing_timeout`).
//!
//! tower's `Timeout` has one fixed duration; a delivery also has a deadline for all its attempts
//! together ([`Sl1Request::deadline`]), so the last attempt must end by then even when
//! `sl1_timeout` would allow more. A timed-out attempt fails with tower's
//! [`Elapsed`], as with `Timeout`, so the breaker counts it and the
//! retry policy sees the same error either way.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower::timeout::error::Elapsed;
use tower::{BoxError, Layer, Service};

use super::sl1::Sl1Request;

/// Applies [`AttemptTimeout`] to a service.
#[derive(Debug, Clone, Copy)]
pub struct AttemptTimeoutLayer {
    per_attempt: Duration,
}

impl AttemptTimeoutLayer {
    /// Attempts take at most `per_attempt`, and never run past the request's deadline.
    pub fn new(per_attempt: Duration) -> Self {
        Self { per_attempt }
    }
}

impl<S> Layer<S> for AttemptTimeoutLayer {
    type Service = AttemptTimeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AttemptTimeout {
            inner,
            per_attempt: self.per_attempt,
        }
    }
}

/// Fails an SL1 attempt with [`Elapsed`] after `sl1_timeout` or at the request's deadline,
/// whichever comes first.
#[derive(Debug, Clone)]
pub struct AttemptTimeout<S> {
    inner: S,
    per_attempt: Duration,
}

impl<S> Service<Sl1Request> for AttemptTimeout<S>
where
    S: Service<Sl1Request>,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Sl1Request) -> Self::Future {
        let limit = request.attempt_timeout(self.per_attempt);
        ResponseFuture {
            attempt: request.clone(),
            started: tokio::time::Instant::now(),
            response: self.inner.call(request),
            sleep: tokio::time::sleep(limit),
        }
    }
}

pin_project! {
    /// The response future of [`AttemptTimeout`].
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        response: F,
        #[pin]
        sleep: Sleep,
        // The request (its tries are noted on a timeout) and when the attempt started.
        attempt: Sl1Request,
        started: tokio::time::Instant,
    }
}

impl<F, T, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    type Output = Result<T, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.response.poll(cx) {
            return Poll::Ready(result.map_err(Into::into));
        }
        ready!(this.sleep.poll(cx));
        this.attempt.record_try(
            None,
            Some("no answer within sl1_timeout".to_owned()),
            *this.started,
        );
        Poll::Ready(Err(Box::new(Elapsed::new())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use genhook_core::AlertDefaults;
    use tower::{service_fn, ServiceExt};

    fn request() -> Sl1Request {
        Sl1Request::new(AlertDefaults::default().alert("m"), "event-1", "github")
    }

    async fn slow(_: Sl1Request) -> Result<&'static str, BoxError> {
        tokio::time::sleep(Duration::from_secs(10)).await;
        Ok("answered")
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_ends_at_sl1_timeout() {
        let service = AttemptTimeoutLayer::new(Duration::from_secs(3)).layer(service_fn(slow));
        let started = tokio::time::Instant::now();
        let error = service.oneshot(request()).await.unwrap_err();
        assert!(error.is::<Elapsed>(), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_ends_at_the_deadline_when_it_is_nearer() {
        let service = AttemptTimeoutLayer::new(Duration::from_secs(30)).layer(service_fn(slow));
        let started = tokio::time::Instant::now();
        let request = request().with_deadline(started + Duration::from_secs(2));
        let error = service.oneshot(request).await.unwrap_err();
        assert!(error.is::<Elapsed>(), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_quick_answer_passes_through() {
        let service = AttemptTimeoutLayer::new(Duration::from_secs(30)).layer(service_fn(slow));
        let request =
            request().with_deadline(tokio::time::Instant::now() + Duration::from_secs(60));
        assert_eq!(service.oneshot(request).await.unwrap(), "answered");
    }
}
