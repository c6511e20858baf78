//! [`Timed`]: records how long a stage took to answer, in
//! `genhook_layer_duration_seconds{source, layer}`.
//!
//! The time is inclusive: from the moment the stage is called until its answer, so it contains
//! the stages after it. The cost of one stage on its own is the difference between its figure
//! and the next stage's (the `benches/layers.rs` bench measures each stage in isolation).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::Instant;
use tower::{Layer, Service};

/// Wraps a stage in a [`Timed`].
#[derive(Debug, Clone)]
pub struct TimedLayer {
    source: Arc<str>,
    layer: &'static str,
}

impl TimedLayer {
    /// Times the stage `layer` of `source`.
    pub fn new(source: Arc<str>, layer: &'static str) -> Self {
        Self { source, layer }
    }
}

impl<S> Layer<S> for TimedLayer {
    type Service = Timed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Timed {
            inner,
            source: self.source.clone(),
            layer: self.layer,
        }
    }
}

/// A stage whose answer time is recorded.
#[derive(Debug, Clone)]
pub struct Timed<S> {
    inner: S,
    source: Arc<str>,
    layer: &'static str,
}

impl<S, R> Service<R> for Timed<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TimedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        TimedFuture {
            inner: self.inner.call(request),
            start: Instant::now(),
            source: self.source.clone(),
            layer: self.layer,
        }
    }
}

pin_project! {
    /// Response future of [`Timed`].
    #[derive(Debug)]
    pub struct TimedFuture<F> {
        #[pin]
        inner: F,
        start: Instant,
        source: Arc<str>,
        layer: &'static str,
    }
}

impl<F: Future> Future for TimedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        metrics::histogram!(
            genhook_core::metrics::LAYER_DURATION,
            "source" => Arc::clone(this.source),
            "layer" => *this.layer
        )
        .record(this.start.elapsed().as_secs_f64());
        Poll::Ready(output)
    }
}
