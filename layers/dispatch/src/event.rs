//! Turning an accepted request into a queue [`Event`]: its id, what earlier stages learned, the
//! SL1 alert, and the request's headers and body with every secret replaced by `<redacted>`
//! (the source's [`RedactionPolicy`](genhook_core::redact::RedactionPolicy)); and the key it is
//! de-duplicated on (`dedup_by`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use genhook_core::metrics::OTHER;
use genhook_core::queue::Event;
use genhook_core::stage::{
    DeliveryId, EventLabel, EventType, ReceivedAt, RenderFailed, Rendered, SourceName,
};
use genhook_core::{require, PipelineError, WebhookRequest};
use sha2::{Digest, Sha256};

use crate::{DedupBy, DispatchSettings};

/// An event built from a request, and the key it is de-duplicated on.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) event: Event,
    pub(crate) dedup_key: Option<String>,
    /// The event's bounded metrics label ([`EventLabel`], else `other`).
    pub(crate) label: Arc<str>,
    /// The source, event type and delivery id as the earlier stages shared them, for the answer,
    /// the logs and the metrics once the event is handed over: reference counts, not copies.
    pub(crate) names: Names,
}

/// What the answer, the logs and the metrics of a dispatched event name.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    pub(crate) source: Arc<str>,
    pub(crate) event_type: Arc<str>,
    pub(crate) delivery_id: Option<Arc<str>>,
}

impl Prepared {
    /// Reads what earlier stages left on the request.
    ///
    /// # Errors
    /// A 500 [`MissingStage`](genhook_core::MissingStage) when `identify` or `template` did not
    /// run (a layer-order bug the load-time check should have caught).
    pub(crate) fn from_request(
        request: WebhookRequest,
        settings: &DispatchSettings,
    ) -> Result<Self, PipelineError> {
        let event_type = Arc::clone(&require::<EventType>(&request)?.0);
        let (message, render_error) = match request.extensions().get::<RenderFailed>() {
            Some(failed) => (String::new(), Some(failed.as_str().to_owned())),
            None => (require::<Rendered>(&request)?.as_str().to_owned(), None),
        };
        let source = match request.extensions().get::<SourceName>() {
            Some(name) => Arc::clone(&name.0),
            None => Arc::clone(&settings.source),
        };
        let delivery_id = request
            .extensions()
            .get::<DeliveryId>()
            .map(|id| Arc::clone(&id.0));
        let received_at = request
            .extensions()
            .get::<ReceivedAt>()
            .map_or_else(SystemTime::now, |at| at.0);
        let dedup_key = dedup_key(settings, &source, delivery_id.as_deref(), request.body());
        let label = request
            .extensions()
            .get::<EventLabel>()
            .map_or_else(|| Arc::from(OTHER), |label| Arc::clone(&label.0));
        let headers = settings.redaction.headers(request.headers());
        // The body itself (a reference count) unless a secret had to be replaced.
        let body = settings.redaction.body(request.headers(), request.body());
        let event = Event {
            id: uuid::Uuid::now_v7().to_string(),
            source: source.to_string(),
            event: event_type.to_string(),
            delivery_id: delivery_id.as_deref().map(str::to_owned),
            priority: settings.priority,
            received_at_ms: unix_millis(received_at),
            alert: settings.alert.alert(message),
            render_error,
            headers,
            body,
            attempts: 0,
            last_error: None,
        };
        Ok(Self {
            event,
            dedup_key,
            label,
            names: Names {
                source,
                event_type,
                delivery_id,
            },
        })
    }
}

/// `"{source}:{delivery id}"` (`dedup_by = delivery_id`, when the provider sent one) or
/// `"{source}:body:{sha256 of the raw body}"` (`dedup_by = body`); none when `dedup_window` is 0.
fn dedup_key(
    settings: &DispatchSettings,
    source: &str,
    delivery_id: Option<&str>,
    body: &[u8],
) -> Option<String> {
    if settings.dedup_window.is_zero() {
        return None;
    }
    match settings.dedup_by {
        DedupBy::DeliveryId => delivery_id.map(|id| format!("{source}:{id}")),
        DedupBy::Body => Some(format!(
            "{source}:body:{}",
            hex::encode(Sha256::digest(body))
        )),
    }
}

fn unix_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dedup_keys_by_delivery_id_or_by_body() {
        let by_id = DispatchSettings::new("github");
        assert_eq!(
            dedup_key(&by_id, "github", Some("d1"), b"{}").as_deref(),
            Some("github:d1")
        );
        assert_eq!(dedup_key(&by_id, "github", None, b"{}"), None);

        let by_body = DispatchSettings::new("github").with_dedup_by(DedupBy::Body);
        let one = dedup_key(&by_body, "github", Some("d1"), b"{\"a\":1}");
        let fresh_id = dedup_key(&by_body, "github", Some("d2"), b"{\"a\":1}");
        let other_body = dedup_key(&by_body, "github", Some("d1"), b"{\"a\":2}");
        assert_eq!(
            one, fresh_id,
            "a fresh delivery id does not make a new event"
        );
        assert_ne!(one, other_body);
        assert!(one.is_some_and(|key| key.starts_with("github:body:") && key.len() == 12 + 64));

        let off = by_body.with_dedup_window(Duration::ZERO);
        assert_eq!(dedup_key(&off, "github", Some("d1"), b"{}"), None);
    }
}
