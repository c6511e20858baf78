//! [`Dispatch`]: the end of a source's stack. It de-duplicates, enqueues and answers; its inner
//! service is never called (it exists so that `dispatch` composes like every other stage).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use genhook_core::queue::{DedupStore, Queue, QueueError};
use genhook_core::{json_response, metrics, PipelineError, WebhookRequest, WebhookResponse};
use http::StatusCode;
use serde_json::json;
use tower::Service;

use crate::error::DispatchError;
use crate::event::Prepared;
use crate::future::ResponseFuture;
use crate::{DispatchLayer, DispatchSettings};

/// The dispatch service: answers `202 queued`, `202 dead_lettered`, `200 duplicate`, or an error
/// ([`DispatchError`]) when the queue refuses.
#[derive(Clone)]
pub struct Dispatch<S> {
    inner: S,
    queue: Arc<dyn Queue>,
    dedup: Arc<dyn DedupStore>,
    settings: Arc<DispatchSettings>,
}

// === impl Dispatch ===

impl<S> Dispatch<S> {
    /// Wraps `inner` (never called) with the configuration of `layer`.
    pub fn new(inner: S, layer: &DispatchLayer) -> Self {
        Self {
            inner,
            queue: Arc::clone(&layer.queue),
            dedup: Arc::clone(&layer.dedup),
            settings: Arc::clone(&layer.settings),
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the service, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for Dispatch<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dispatch")
            .field("inner", &self.inner)
            .field("queue", &self.queue.backend())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl<S> Service<WebhookRequest> for Dispatch<S> {
    type Response = WebhookResponse;
    type Error = PipelineError;
    type Future = ResponseFuture;

    /// Always ready: the queue says in `call` whether it can take the webhook (503 if not).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: WebhookRequest) -> Self::Future {
        let prepared = Prepared::from_request(request, &self.settings);
        let queue = Arc::clone(&self.queue);
        let dedup = Arc::clone(&self.dedup);
        let window = self.settings.dedup_window;
        ResponseFuture::new(async move {
            let prepared = prepared?;
            accept(&*queue, &*dedup, window, prepared).await
        })
    }
}

/// De-duplicates, then enqueues or dead-letters one event.
async fn accept(
    queue: &dyn Queue,
    dedup: &dyn DedupStore,
    window: Duration,
    prepared: Prepared,
) -> Result<WebhookResponse, PipelineError> {
    let Prepared {
        event,
        dedup_key,
        label,
    } = prepared;
    let claimed = match &dedup_key {
        None => None,
        Some(key) => match dedup.claim(key, window).await {
            Ok(true) => Some(key.as_str()),
            Ok(false) => {
                tracing::debug!(
                    source = %event.source,
                    event = %event.event,
                    delivery_id = event.delivery_id.as_deref().unwrap_or_default(),
                    "Redelivery answered as a duplicate."
                );
                count(&event.source, &label, "duplicate");
                return Ok(json_response(
                    StatusCode::OK,
                    &json!({ "source": event.source, "event": event.event, "status": "duplicate" }),
                ));
            }
            Err(QueueError::Closed) => return Err(DispatchError::ShuttingDown.into()),
            Err(error) => {
                // Fail open: accepting a possible duplicate is better than losing a webhook.
                tracing::warn!(
                    source = %event.source,
                    error = %error,
                    "De-duplication store failed; the webhook is accepted without de-duplication."
                );
                None
            }
        },
    };

    let id = event.id.clone();
    let source = event.source.clone();
    let event_type = event.event.clone();
    let dead = event.render_error.is_some();
    let result = if dead {
        queue.dead_letter(event).await
    } else {
        queue.enqueue(event).await
    };

    match result {
        Ok(()) => {
            let status = if dead { "dead_lettered" } else { "queued" };
            tracing::debug!(%id, %source, event = %event_type, status, "Webhook accepted.");
            count(&source, &label, status);
            Ok(json_response(
                StatusCode::ACCEPTED,
                &json!({ "id": id, "source": source, "event": event_type, "status": status }),
            ))
        }
        Err(error) => {
            if let Some(key) = claimed {
                if let Err(release) = dedup.release(key).await {
                    tracing::warn!(%source, error = %release, "Could not release a de-duplication claim.");
                }
            }
            let error = DispatchError::from(error);
            match &error {
                DispatchError::Storage(cause) => {
                    tracing::error!(%source, event = %event_type, error = %cause, cause = ?std::error::Error::source(cause), "Queue storage failed; the webhook was refused.");
                }
                DispatchError::Unavailable(cause) => {
                    tracing::debug!(%source, event = %event_type, cause = ?std::error::Error::source(cause), "Queue store unreachable; the webhook was refused with 503.");
                }
                _ => {}
            }
            Err(error.into())
        }
    }
}

/// Counts an answer; `label` is the event's bounded label, never the payload's event type.
fn count(source: &str, label: &Arc<str>, status: &'static str) {
    ::metrics::counter!(
        metrics::WEBHOOKS_ACCEPTED,
        "source" => source.to_owned(),
        "event" => Arc::clone(label),
        "status" => status
    )
    .increment(1);
}
