//! [`ResponseFuture`]: the response future of [`Verify`](crate::Verify).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use genhook_core::stage::Verified;
use genhook_core::{PipelineError, Reject, WebhookRequest, WebhookResponse};
use pin_project_lite::pin_project;
use tower::Service;

use crate::{PendingCheck, VerifyError};

pin_project! {
    /// Response future of [`Verify`](crate::Verify).
    pub struct ResponseFuture<F, S> {
        #[pin]
        kind: Kind<F, S>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, S> {
        // Verified at once; the inner service is answering.
        Called { #[pin] future: F },
        // Waiting for a verification that had to fetch something; then the inner service is
        // called with the request.
        Checking {
            check: PendingCheck,
            inner: Option<S>,
            request: Option<WebhookRequest>,
            scheme: &'static str,
        },
        // Refused; the inner service is never called.
        Rejected { error: Option<VerifyError> },
    }
}

impl<F, S> ResponseFuture<F, S> {
    pub(crate) fn called(future: F) -> Self {
        Self {
            kind: Kind::Called { future },
        }
    }

    pub(crate) fn checking(
        check: PendingCheck,
        inner: S,
        request: WebhookRequest,
        scheme: &'static str,
    ) -> Self {
        Self {
            kind: Kind::Checking {
                check,
                inner: Some(inner),
                request: Some(request),
                scheme,
            },
        }
    }

    pub(crate) fn rejected(error: VerifyError) -> Self {
        Self {
            kind: Kind::Rejected { error: Some(error) },
        }
    }
}

impl<F, S> std::fmt::Debug for ResponseFuture<F, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.kind {
            Kind::Called { .. } => "Called",
            Kind::Checking { .. } => "Checking",
            Kind::Rejected { .. } => "Rejected",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<F, S, E> Future for ResponseFuture<F, S>
where
    F: Future<Output = Result<WebhookResponse, E>>,
    S: Service<WebhookRequest, Response = WebhookResponse, Future = F, Error = E>,
    E: Into<PipelineError>,
{
    type Output = Result<WebhookResponse, PipelineError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let next = match self.as_mut().project().kind.project() {
                KindProj::Called { future } => return future.poll(cx).map_err(Into::into),
                KindProj::Rejected { error } => {
                    return Poll::Ready(Err(match error.take() {
                        Some(error) => error.into(),
                        None => PipelineError::internal("verify future polled after completion"),
                    }))
                }
                KindProj::Checking {
                    check,
                    inner,
                    request,
                    scheme,
                } => {
                    let outcome = ready!(check.as_mut().poll(cx));
                    let (Some(mut inner), Some(mut request)) = (inner.take(), request.take())
                    else {
                        return Poll::Ready(Err(PipelineError::internal(
                            "verify future polled after completion",
                        )));
                    };
                    match outcome {
                        Ok(()) => {
                            request.extensions_mut().insert(Verified { scheme });
                            Kind::Called {
                                future: inner.call(request),
                            }
                        }
                        Err(error) => {
                            tracing::debug!(
                                scheme,
                                reason = error.metric_reason(),
                                "Webhook refused by the verify stage."
                            );
                            Kind::Rejected { error: Some(error) }
                        }
                    }
                }
            };
            self.as_mut().project().kind.set(next);
        }
    }
}
