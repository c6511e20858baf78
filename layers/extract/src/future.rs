//! The response future of [`Extract`](crate::Extract).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use genhook_core::{PipelineError, WebhookResponse};
use pin_project_lite::pin_project;

pin_project! {
    /// Response future of [`Extract`](crate::Extract): the inner service's future, or an answer
    /// the stage gave itself (`422 no mapping`, `202 ignored`).
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
        Answered { result: Option<Result<WebhookResponse, PipelineError>> },
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn called(future: F) -> Self {
        Self {
            kind: Kind::Called { future },
        }
    }

    pub(crate) fn answered(result: Result<WebhookResponse, PipelineError>) -> Self {
        Self {
            kind: Kind::Answered {
                result: Some(result),
            },
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
            KindProj::Answered { result } => Poll::Ready(
                result
                    .take()
                    .expect("ResponseFuture polled after completion"),
            ),
        }
    }
}
