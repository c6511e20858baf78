//! The response future of [`Template`](crate::Template).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use genhook_core::{PipelineError, WebhookResponse};
use pin_project_lite::pin_project;

pin_project! {
    /// Response future of [`Template`](crate::Template): either the inner service's future or
    /// an immediate error.
    #[derive(Debug)]
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<F> {
        Called { #[pin] future: F },
        Rejected { error: Option<PipelineError> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn called(future: F) -> Self {
        Self {
            kind: Kind::Called { future },
        }
    }

    pub(crate) fn rejected(error: PipelineError) -> Self {
        Self {
            kind: Kind::Rejected { error: Some(error) },
        }
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
            KindProj::Rejected { error } => Poll::Ready(Err(error
                .take()
                .expect("ResponseFuture polled after completion"))),
        }
    }
}
