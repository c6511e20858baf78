//! Batches: Azure Event Grid (and CloudEvents batch mode) deliver a JSON **array** of events in
//! one request. Each element becomes a webhook of its own — its own event type, delivery id and
//! alert — sent through the rest of the stack one after the other.
//!
//! The answer is `202` when every element was accepted: a one-event batch gets exactly the answer
//! of a single webhook; a larger one that answer for its first event plus `count` and every
//! element's answer in `events` (see [`summary`]). Otherwise the first refusal. A sender that retries a partly accepted batch is safe: the elements
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
    mapping: Option<&genhook_mapping::CompiledSource>,
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
            crate::metrics::record_received(&mut single, &event, mapping);
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
    Ok(json_response(StatusCode::ACCEPTED, &summary(answers)))
}

/// The answer to a batch whose elements were all accepted: the single-webhook answer
/// (`id`, `source`, `event`, `status`) for the first element, so a one-event batch (what Event
/// Grid usually sends) is answered exactly like any webhook; with several, `status` is theirs
/// when they all agree (`queued`, `duplicate`, ...) and `mixed` otherwise, and `count` and
/// `events` give every element's answer.
fn summary(answers: Vec<Value>) -> Value {
    let mut answers = answers.into_iter();
    let Some(first) = answers.next() else {
        return json!({ "status": "queued", "count": 0, "events": [] });
    };
    let rest: Vec<Value> = answers.collect();
    if rest.is_empty() {
        return first;
    }
    let status = if rest
        .iter()
        .all(|answer| answer["status"] == first["status"])
    {
        first["status"].clone()
    } else {
        Value::from("mixed")
    };
    let mut summary = json!({
        "id": first["id"],
        "source": first["source"],
        "event": first["event"],
        "status": status,
        "count": rest.len() + 1,
    });
    let mut events = vec![first];
    events.extend(rest);
    summary["events"] = Value::Array(events);
    summary
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

    fn answer(id: &str, event: &str, status: &str) -> Value {
        json!({ "id": id, "source": "azure", "event": event, "status": status })
    }

    #[test]
    fn a_one_event_batch_is_answered_like_a_single_webhook() {
        let one = answer("e1", "Microsoft.Storage.BlobCreated", "queued");
        assert_eq!(summary(vec![one.clone()]), one);
    }

    #[test]
    fn a_larger_batch_leads_with_its_first_event_and_lists_them_all() {
        let answers = vec![answer("e1", "A", "queued"), answer("e2", "B", "queued")];
        let summary = summary(answers.clone());
        assert_eq!(summary["id"], "e1");
        assert_eq!(summary["source"], "azure");
        assert_eq!(summary["event"], "A");
        assert_eq!(summary["status"], "queued");
        assert_eq!(summary["count"], 2);
        assert_eq!(summary["events"], Value::Array(answers));

        let mixed = super::summary(vec![
            answer("e1", "A", "duplicate"),
            answer("e2", "B", "queued"),
        ]);
        assert_eq!(mixed["status"], "mixed");
    }
}
