//! [`Template`]: the template middleware.

use std::sync::Arc;
use std::task::{Context, Poll};

use genhook_core::stage::{RenderFailed, Rendered};
use genhook_core::{take, PipelineError, WebhookRequest, WebhookResponse};
use genhook_mapping::Fields;
use tower::Service;

use crate::error::TemplateError;
use crate::future::ResponseFuture;
use crate::TemplateLayer;

/// Middleware that inserts [`Rendered`] (or, when the template fails, [`RenderFailed`]) for the
/// stages after it.
#[derive(Debug, Clone)]
pub struct Template<S> {
    inner: S,
    reject_on_failure: bool,
}

// === impl Template ===

impl<S> Template<S> {
    pub(crate) fn from_parts(inner: S, reject_on_failure: bool) -> Self {
        Self {
            inner,
            reject_on_failure,
        }
    }

    /// Wraps `inner` with the configuration of `layer`.
    pub fn new(inner: S, layer: &TemplateLayer) -> Self {
        tower::Layer::layer(layer, inner)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the middleware, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<WebhookRequest> for Template<S>
where
    S: Service<WebhookRequest, Response = WebhookResponse>,
    S::Error: Into<PipelineError>,
{
    type Response = WebhookResponse;
    type Error = PipelineError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: WebhookRequest) -> Self::Future {
        // The last stage to read the fields: taken off the request, rendered without a copy.
        let rendered = match take::<Fields>(&mut request) {
            Ok(Fields { line, value }) => line.render_owned(Arc::unwrap_or_clone(value)),
            Err(error) => return ResponseFuture::rejected(error),
        };
        match rendered {
            Ok(message) => {
                request.extensions_mut().insert(Rendered::new(message));
            }
            Err(error) => {
                tracing::warn!(
                    line = %error.span,
                    reason = %error.reason,
                    "Message template failed."
                );
                if self.reject_on_failure {
                    let error = TemplateError::RenderFailed {
                        reason: error.to_string(),
                    };
                    return ResponseFuture::rejected(error);
                }
                request
                    .extensions_mut()
                    .insert(RenderFailed::new(error.to_string()));
            }
        }
        ResponseFuture::called(self.inner.call(request))
    }
}
