//! The identify stage's response future: the inner service's future, an answer given by the stage
//! itself (a handshake), a refusal, an SNS subscription being confirmed, or the events of a batch
//! going through the inner service one by one.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use genhook_core::{PipelineError, WebhookResponse};
use pin_project_lite::pin_project;

use crate::error::IdentifyError;

pin_project! {
    /// Response future of [`Identify`](crate::Identify).
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Called { #[pin] future: F },
        // Answered or refused by the stage itself.
        Ready { result: Option<Box<Result<WebhookResponse, PipelineError>>> },
        Confirming { future: BoxFuture<'static, WebhookResponse> },
        Batch { future: BoxFuture<'static, Result<WebhookResponse, PipelineError>> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn called(future: F) -> Self {
        Self {
            kind: Kind::Called { future },
        }
    }

    fn ready(result: Result<WebhookResponse, PipelineError>) -> Self {
        Self {
            kind: Kind::Ready {
                result: Some(Box::new(result)),
            },
        }
    }

    pub(crate) fn answered(response: WebhookResponse) -> Self {
        Self::ready(Ok(response))
    }

    pub(crate) fn rejected(error: IdentifyError) -> Self {
        Self::ready(Err(error.into()))
    }

    pub(crate) fn confirming(future: BoxFuture<'static, WebhookResponse>) -> Self {
        Self {
            kind: Kind::Confirming { future },
        }
    }

    pub(crate) fn batch(
        future: BoxFuture<'static, Result<WebhookResponse, PipelineError>>,
    ) -> Self {
        Self {
            kind: Kind::Batch { future },
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.kind {
            Kind::Called { .. } => "called",
            Kind::Ready { .. } => "ready",
            Kind::Confirming { .. } => "confirming",
            Kind::Batch { .. } => "batch",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<WebhookResponse, E>>,
    E: Into<PipelineError>,
{
    type Output = Result<WebhookResponse, PipelineError>;

    #[expect(
        clippy::expect_used,
        reason = "state-machine invariant, not input: never polled after Ready"
    )]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { future } => future.poll(cx).map_err(Into::into),
            KindProj::Ready { result } => Poll::Ready(
                *result
                    .take()
                    .expect("ResponseFuture polled after completion"),
            ),
            KindProj::Confirming { future } => future.as_mut().poll(cx).map(Ok),
            KindProj::Batch { future } => future.as_mut().poll(cx),
        }
    }
}
