//! Batches: Azure Event Grid (and CloudEvents batch mode) deliver a JSON **array** of events in
//! one request. Each element becomes a webhook of its own — its own event type, delivery id and
//! alert — sent through the rest of the stack one after the other.
//!
//! The answer is `202` with the answer of each element when every element was accepted; the
//! first refusal otherwise. A sender that retries a partly accepted batch is safe: the elements
//! already accepted are recognised by their delivery ids and answered `duplicate`.

use std::sync::Arc;

use bytes::Bytes;
use genhook_core::stage::{DeliveryId, EventType, Payload};
use genhook_core::{json_response, PipelineError, WebhookRequest, WebhookResponse};
use http::StatusCode;
use serde_json::{json, Value};
use tower::{Service, ServiceExt as _};

use crate::provider::Provider;

/// The events of a batch delivery, when the payload is one: a non-empty array of objects from
/// Event Grid, or of CloudEvents (`specversion`) or Event Grid events (`eventType`).
pub(crate) fn events(provider: Option<Provider>, payload: &Value) -> Option<&[Value]> {
    let items = payload.as_array()?;
    if items.is_empty() || !items.iter().all(Value::is_object) {
        return None;
    }
    let looks_like_events = items
        .iter()
        .all(|item| item.get("eventType").is_some() || item.get("specversion").is_some());
    (provider == Some(Provider::Azure) || looks_like_events).then_some(items)
}

/// One request per element, with the element as its body and payload and its own event type and
/// delivery id (from `identify`).
pub(crate) fn split(
    request: &WebhookRequest,
    events: &[Value],
    identify: impl Fn(&Value) -> (Option<String>, Option<String>),
) -> Vec<WebhookRequest> {
    events
        .iter()
        .map(|element| {
            let mut single = http::Request::new(Bytes::from(element.to_string()));
            *single.method_mut() = request.method().clone();
            *single.uri_mut() = request.uri().clone();
            *single.version_mut() = request.version();
            *single.headers_mut() = request.headers().clone();
            *single.extensions_mut() = request.extensions().clone();
            let (event, id) = identify(element);
            let event = event.unwrap_or_default();
            crate::service::record_received(&single, &event);
            let extensions = single.extensions_mut();
            extensions.insert(Payload(Arc::new(element.clone())));
            extensions.insert(EventType::new(event));
            if let Some(id) = id {
                extensions.insert(DeliveryId::new(id));
            }
            single
        })
        .collect()
}

/// Sends each request through `inner`, in order; `202` with every answer, or the first error.
pub(crate) async fn run<S>(
    inner: S,
    requests: Vec<WebhookRequest>,
) -> Result<WebhookResponse, PipelineError>
where
    S: Service<WebhookRequest, Response = WebhookResponse> + Clone,
    S::Error: Into<PipelineError>,
{
    let mut answers = Vec::with_capacity(requests.len());
    for request in requests {
        let response = inner.clone().oneshot(request).await.map_err(Into::into)?;
        let status = response.status();
        let body = serde_json::from_slice::<Value>(response.body()).unwrap_or(Value::Null);
        if !status.is_success() {
            return Ok(response);
        }
        answers.push(body);
    }
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({ "status": "batch", "count": answers.len(), "events": answers }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_of_event_grid_or_cloud_events_are_batches() {
        let eg = json!([{"eventType": "A", "id": "1"}, {"eventType": "B", "id": "2"}]);
        assert_eq!(events(None, &eg).map(<[Value]>::len), Some(2));
        let ce = json!([{"specversion": "1.0", "type": "A", "id": "1", "source": "s"}]);
        assert_eq!(events(None, &ce).map(<[Value]>::len), Some(1));
        assert!(events(None, &json!([{"action": "x"}])).is_none());
        assert!(events(Some(Provider::Azure), &json!([])).is_none());
        assert!(events(None, &json!({"eventType": "A"})).is_none());
        assert!(events(Some(Provider::Azure), &json!([{"x": 1}])).is_some());
    }
}
