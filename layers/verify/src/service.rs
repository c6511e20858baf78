//! [`Verify`]: the middleware that lets through only requests whose signature checks out.

use std::task::{Context, Poll};

use genhook_core::stage::Verified;
use genhook_core::{PipelineError, Reject, WebhookRequest, WebhookResponse};
use tower::Service;

use crate::future::ResponseFuture;
use crate::{Check, Verifier, VerifyLayer};

/// Middleware that lets through only requests whose signature (or credential) checks out.
///
/// It decides in `call`: a refused request never reaches the inner service, and an accepted one
/// carries [`Verified`] for later stages. The inner service must be `Clone`: when a scheme has to
/// wait (an SNS certificate fetch), the ready inner service travels in the response future and a
/// clone stays behind, as tower recommends.
#[derive(Debug, Clone)]
pub struct Verify<S, V> {
    inner: S,
    verifier: V,
}

// === impl Verify ===

impl<S, V> Verify<S, V> {
    /// Wraps `inner`, checking requests with `verifier`.
    pub const fn new(inner: S, verifier: V) -> Self {
        Self { inner, verifier }
    }

    /// A [`VerifyLayer`] with this scheme.
    pub const fn layer(verifier: V) -> VerifyLayer<V> {
        VerifyLayer::new(verifier)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The scheme.
    pub fn verifier(&self) -> &V {
        &self.verifier
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, V> Service<WebhookRequest> for Verify<S, V>
where
    S: Service<WebhookRequest, Response = WebhookResponse> + Clone,
    S::Error: Into<PipelineError>,
    V: Verifier,
{
    type Response = WebhookResponse;
    type Error = PipelineError;
    type Future = ResponseFuture<S::Future, S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: WebhookRequest) -> Self::Future {
        let scheme = self.verifier.scheme();
        match self.verifier.start(&mut request) {
            Ok(Check::Ready) => {
                request.extensions_mut().insert(Verified { scheme });
                ResponseFuture::called(self.inner.call(request))
            }
            Ok(Check::Pending(check)) => {
                // The inner service was made ready by `poll_ready`: take it, leave a clone.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::checking(check, inner, request, scheme)
            }
            Err(error) => {
                tracing::debug!(
                    scheme,
                    reason = error.metric_reason(),
                    "Webhook refused by the verify stage."
                );
                ResponseFuture::rejected(error)
            }
        }
    }
}
