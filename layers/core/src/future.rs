//! [`StageFuture`]: the response future of a stage that either calls its inner service or
//! answers by itself (a refusal, or an answer such as `202 ignored`). The built-in stages whose
//! futures have no other state (`rate_limit`, `extract`, `template`) name it
//! `<stage>::future::ResponseFuture`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::{PipelineError, WebhookResponse};

pin_project! {
    /// The inner service's future, or the stage's own answer.
    #[derive(Debug)]
    pub struct StageFuture<F> {
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

impl<F> StageFuture<F> {
    /// The inner service was called: its answer is the stage's.
    pub fn called(future: F) -> Self {
        Self {
            kind: Kind::Called { future },
        }
    }

    /// The stage answers by itself; the inner service is not called.
    pub fn answered(result: Result<WebhookResponse, PipelineError>) -> Self {
        Self {
            kind: Kind::Answered {
                result: Some(result),
            },
        }
    }

    /// The stage refuses the request; the inner service is not called.
    pub fn rejected(error: impl Into<PipelineError>) -> Self {
        Self::answered(Err(error.into()))
    }
}

impl<F, E> Future for StageFuture<F>
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
            KindProj::Answered { result } => {
                Poll::Ready(result.take().expect("StageFuture polled after completion"))
            }
        }
    }
}
