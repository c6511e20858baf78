//! Event type and delivery id: a source's `event =` / `delivery_id =` selector when set, else the
//! provider's default (the README's *Connecting a provider*). Pure functions, so that
//! the offline `genhook render` command identifies exactly as the server does.

use http::HeaderMap;
use serde_json::Value;

use crate::provider::{detect, header, Provider};
use crate::selector::{lookup_dotted, scalar_text, Selector};
use crate::settings::IdentifySettings;

/// The provider a request is treated as: the source's `verify` scheme's provider, else detection
/// from the headers and payload, else the provider the source is named after.
pub fn provider_for(
    settings: &IdentifySettings,
    headers: &HeaderMap,
    payload: &Value,
) -> Option<Provider> {
    settings
        .provider
        .or_else(|| detect(headers, Some(payload)))
        .or(settings.named_provider)
}

/// The event type of a webhook: the source's `event =` selector, else the provider default.
/// `None` when nothing names one (the stage then inserts an empty [`EventType`]).
///
/// [`EventType`]: genhook_core::stage::EventType
pub fn event_type(
    settings: &IdentifySettings,
    headers: &HeaderMap,
    payload: &Value,
) -> Option<String> {
    let provider = provider_for(settings, headers, payload);
    identify_with(settings, provider, headers, payload).0
}

/// [`event_type`] and [`delivery_id`] with the provider already known (the stage decides it once).
pub(crate) fn identify_with(
    settings: &IdentifySettings,
    provider: Option<Provider>,
    headers: &HeaderMap,
    payload: &Value,
) -> (Option<String>, Option<String>) {
    // A configured selector that finds nothing falls back to the provider's own field: an `aws`
    // source keyed on `detail-type` (EventBridge) still names the SNS notifications it receives.
    let event = settings
        .event
        .as_ref()
        .and_then(|selector| selector.select(headers, payload))
        .or_else(|| provider.and_then(|p| default_event_type(p, headers, payload)));
    let id = settings
        .delivery_id
        .as_ref()
        .and_then(|selector| selector.select(headers, payload))
        .or_else(|| provider.and_then(|p| default_delivery_id(p, headers, payload)));
    (event, id)
}

/// Whether the event type and the delivery id come from the request's headers whatever its body
/// holds: the provider is set (by the source's `verify` scheme) and sends both in headers with no
/// handshake in the body ([`Provider::identifies_by_headers`]), and `event =` / `delivery_id =`,
/// when set, name headers. [`identify_with`] then gives the same answer for any payload.
pub(crate) fn identifies_by_headers(settings: &IdentifySettings) -> bool {
    let reads_a_header = |selector: &Option<Selector>| {
        selector
            .as_ref()
            .is_none_or(|s| matches!(s, Selector::Header(_)))
    };
    settings
        .provider
        .is_some_and(Provider::identifies_by_headers)
        && reads_a_header(&settings.event)
        && reads_a_header(&settings.delivery_id)
}

/// The provider's delivery id: the source's `delivery_id =` selector, else the provider default.
pub fn delivery_id(
    settings: &IdentifySettings,
    headers: &HeaderMap,
    payload: &Value,
) -> Option<String> {
    match &settings.delivery_id {
        Some(selector) => selector.select(headers, payload),
        None => provider_for(settings, headers, payload)
            .and_then(|p| default_delivery_id(p, headers, payload)),
    }
}

fn field(payload: &Value, path: &str) -> Option<String> {
    lookup_dotted(payload, path).and_then(scalar_text)
}

fn first_header(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|name| header(headers, name))
        .map(str::to_owned)
}

fn is_sns_envelope(payload: &Value) -> bool {
    payload.get("Type").is_some() && payload.get("MessageId").is_some()
}

/// The first event of an Event Grid / CloudEvents delivery (a batch array or one object).
fn first_event(payload: &Value) -> &Value {
    payload
        .as_array()
        .and_then(|items| items.first())
        .unwrap_or(payload)
}

/// A provider's default event type.
pub fn default_event_type(
    provider: Provider,
    headers: &HeaderMap,
    payload: &Value,
) -> Option<String> {
    match provider {
        Provider::Github => first_header(headers, &["x-github-event"]),
        Provider::Stripe | Provider::StandardWebhooks => field(payload, "type"),
        Provider::Slack => {
            if payload.get("type").and_then(Value::as_str) == Some("event_callback") {
                field(payload, "event.type")
            } else {
                // Interactivity (`block_actions`, …), url_verification; slash commands have no
                // type: their command (`/weather`) names them.
                field(payload, "type").or_else(|| field(payload, "command"))
            }
        }
        Provider::Aws => {
            if is_sns_envelope(payload) {
                field(payload, "Type")
                    .or_else(|| first_header(headers, &["x-amz-sns-message-type"]))
            } else {
                field(payload, "detail-type")
            }
        }
        Provider::Meraki => field(payload, "alertTypeId").or_else(|| field(payload, "alertType")),
        Provider::Jira => field(payload, "webhookEvent"),
        Provider::Azure => {
            let event = first_event(payload);
            field(event, "eventType").or_else(|| field(event, "type"))
        }
        Provider::Shopify => first_header(headers, &["x-shopify-topic", "shopify-topic"]),
    }
}

/// A provider's default delivery id (the header or field it sends one in).
pub fn default_delivery_id(
    provider: Provider,
    headers: &HeaderMap,
    payload: &Value,
) -> Option<String> {
    match provider {
        Provider::Github => first_header(headers, &["x-github-delivery"]),
        Provider::Stripe => field(payload, "id"),
        Provider::Slack => field(payload, "event_id"),
        Provider::Aws => {
            if is_sns_envelope(payload) {
                field(payload, "MessageId")
                    .or_else(|| first_header(headers, &["x-amz-sns-message-id"]))
            } else {
                field(payload, "id")
            }
        }
        Provider::Meraki => field(payload, "alertId"),
        Provider::Jira => first_header(headers, &["x-atlassian-webhook-identifier"]),
        Provider::Azure => {
            let event = first_event(payload);
            let id = field(event, "id")?;
            if event.get("specversion").is_some() {
                // CloudEvents: `id` is unique only within its `source`.
                match field(event, "source") {
                    Some(source) => Some(format!("{source}#{id}")),
                    None => Some(id),
                }
            } else {
                Some(id)
            }
        }
        Provider::Shopify => first_header(
            headers,
            &[
                "x-shopify-event-id",
                "shopify-event-id",
                "x-shopify-webhook-id",
                "shopify-webhook-id",
            ],
        ),
        Provider::StandardWebhooks => first_header(headers, &["webhook-id", "svix-id"]),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use serde_json::json;

    use super::*;
    use crate::handshake;

    /// A body with every field some provider or selector reads.
    fn rich_payload() -> Value {
        json!({
            "type": "t", "id": "i", "event_id": "e", "event": {"type": "et"},
            "command": "/c", "Type": "Notification", "MessageId": "m", "detail-type": "d",
            "alertTypeId": "a", "alertId": "ai", "webhookEvent": "w", "eventType": "ev",
            "challenge": "c", "ssl_check": "1", "x": {"y": "z"}
        })
    }

    #[test]
    fn settings_that_identify_by_headers_give_the_same_answer_whatever_the_body() {
        let mut headers = HeaderMap::new();
        for name in [
            "x-github-event",
            "x-github-delivery",
            "x-shopify-topic",
            "x-shopify-event-id",
            "x-event",
        ] {
            headers.insert(name, HeaderValue::from_static("h"));
        }
        let mut by_headers = 0;
        for provider in Provider::ALL {
            for (event, id) in [
                (None, None),
                (Some("header:x-event"), None),
                (None, Some("header:x-event")),
                (Some("x.y"), None),
                (None, Some("x.y")),
            ] {
                let settings = IdentifySettings {
                    event: event.map(|e| Selector::parse(e).unwrap()),
                    delivery_id: id.map(|i| Selector::parse(i).unwrap()),
                    ..IdentifySettings::for_provider(provider)
                };
                let from_body = identify_with(&settings, Some(provider), &headers, &rich_payload());
                let without = identify_with(&settings, Some(provider), &headers, &Value::Null);
                let handshakes = (
                    handshake::find(Some(provider), &headers, &rich_payload()),
                    handshake::find(Some(provider), &headers, &Value::Null),
                );
                if identifies_by_headers(&settings) {
                    by_headers += 1;
                    assert_eq!(from_body, without, "{settings:?}");
                    assert_eq!(handshakes.0, handshakes.1, "{settings:?}");
                    assert!(from_body.0.is_some() && from_body.1.is_some());
                } else if matches!(provider, Provider::Github | Provider::Shopify) {
                    // A field selector reads the body (x.y is there).
                    assert_ne!(from_body, without, "{settings:?}");
                }
            }
        }
        // GitHub and Shopify, each with the default, header event and header id selectors.
        assert_eq!(by_headers, 6);
        // Without a provider set, detection reads the body.
        assert!(!identifies_by_headers(&IdentifySettings::default()));
    }
}
