//! [`Dispatch`]: the end of a source's stack. It hands the event and its de-duplication claim to
//! the queue in one step ([`Queue::accept`]) and answers; its inner service is never called (it
//! exists so that `dispatch` composes like every other stage).

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use genhook_core::queue::{Accepted, Claim, Queue};
use genhook_core::{json_response, metrics, PipelineError, WebhookRequest, WebhookResponse};
use http::StatusCode;
use tower::Service;

use crate::error::DispatchError;
use crate::event::{Names, Prepared};
use crate::future::ResponseFuture;
use crate::{DispatchLayer, DispatchSettings};

/// The dispatch service: answers `202 queued`, `202 dead_lettered`, `200 duplicate`, or an error
/// ([`DispatchError`]) when the queue refuses.
#[derive(Clone)]
pub struct Dispatch<S> {
    inner: S,
    queue: Arc<dyn Queue>,
    settings: Arc<DispatchSettings>,
}

// === impl Dispatch ===

impl<S> Dispatch<S> {
    /// Wraps `inner` (never called) with the configuration of `layer`.
    pub fn new(inner: S, layer: &DispatchLayer) -> Self {
        Self {
            inner,
            queue: Arc::clone(&layer.queue),
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
        let window = self.settings.dedup_window;
        ResponseFuture::new(async move {
            let prepared = prepared?;
            accept(&*queue, window, prepared).await
        })
    }
}

/// Queues or dead-letters one event, claiming its de-duplication key in the same step: a
/// redelivery is answered `duplicate` only once the first delivery's event is stored, and a
/// refused event leaves no claim behind (the provider's retry is accepted).
async fn accept(
    queue: &dyn Queue,
    window: Duration,
    prepared: Prepared,
) -> Result<WebhookResponse, PipelineError> {
    let Prepared {
        event,
        dedup_key,
        label,
        names:
            Names {
                source,
                event_type,
                delivery_id,
            },
    } = prepared;
    let claim = dedup_key.map(|key| Claim { key, window });
    let id = event.id.clone();

    let status = match queue.accept(event, claim).await {
        Ok(Accepted::Queued) => "queued",
        Ok(Accepted::DeadLettered) => "dead_lettered",
        Ok(Accepted::Duplicate) => {
            tracing::debug!(
                %source,
                event = %event_type,
                delivery_id = delivery_id.as_deref().unwrap_or_default(),
                "Redelivery answered as a duplicate."
            );
            count(&source, &label, "duplicate");
            let answer = Answer {
                event: &event_type,
                id: None,
                source: &source,
                status: "duplicate",
            };
            return Ok(json_response(StatusCode::OK, &answer));
        }
        Err(error) => {
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
            return Err(error.into());
        }
    };
    tracing::debug!(%id, %source, event = %event_type, status, "Webhook accepted.");
    count(&source, &label, status);
    let answer = Answer {
        event: &event_type,
        id: Some(&id),
        source: &source,
        status,
    };
    Ok(json_response(StatusCode::ACCEPTED, &answer))
}

/// The webhook's answer body, serialised straight from its strings (the keys in the order a
/// JSON object of the other answers has them).
#[derive(serde::Serialize)]
struct Answer<'a> {
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    source: &'a str,
    status: &'a str,
}

/// Counts an answer; `label` is the event's bounded label, never the payload's event type. The
/// labels are the shared names (reference counts, no copy per webhook).
fn count(source: &Arc<str>, label: &Arc<str>, status: &'static str) {
    ::metrics::counter!(
        metrics::WEBHOOKS_ACCEPTED,
        "source" => Arc::clone(source),
        "event" => Arc::clone(label),
        "status" => status
    )
    .increment(1);
}
