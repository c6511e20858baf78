//! Turning an accepted request into a queue [`Event`]: its id, what earlier stages learned, the
//! SL1 alert, and the request's headers with every secret replaced by `<redacted>`.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use genhook_core::queue::Event;
use genhook_core::stage::{DeliveryId, EventType, ReceivedAt, RenderFailed, Rendered, SourceName};
use genhook_core::{require, PipelineError, WebhookRequest};
use http::HeaderMap;

use crate::DispatchSettings;

/// What replaces a sensitive header's value.
pub const REDACTED: &str = "<redacted>";

/// Whether a header may carry a secret or a signature: `Authorization`, `Proxy-Authorization`,
/// `Cookie`, `Set-Cookie`, and any header whose name contains `signature`, `hmac`, `token`,
/// `secret`, `api-key`, `apikey` or `password`.
pub fn is_sensitive_header(name: &str) -> bool {
    // `http::HeaderName`s are already lower-case: only allocate for a caller's mixed-case name.
    let name: Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    };
    matches!(
        name.as_ref(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || [
        "signature",
        "hmac",
        "token",
        "secret",
        "api-key",
        "apikey",
        "password",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// The headers as the queue keeps them: in order, sensitive values replaced by `<redacted>`,
/// other values as text (bytes that are not UTF-8 replaced).
pub fn redacted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if is_sensitive_header(name.as_str()) {
                REDACTED.to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}

/// An event built from a request, and the key it is de-duplicated on.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) event: Event,
    pub(crate) dedup_key: Option<String>,
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
        let event_type = require::<EventType>(&request)?.as_str().to_owned();
        let (message, render_error) = match request.extensions().get::<RenderFailed>() {
            Some(failed) => (String::new(), Some(failed.as_str().to_owned())),
            None => (require::<Rendered>(&request)?.as_str().to_owned(), None),
        };
        let source = match request.extensions().get::<SourceName>() {
            Some(name) => name.as_str().to_owned(),
            None => settings.source.to_string(),
        };
        let delivery_id = request
            .extensions()
            .get::<DeliveryId>()
            .map(|id| id.as_str().to_owned());
        let received_at = request
            .extensions()
            .get::<ReceivedAt>()
            .map_or_else(SystemTime::now, |at| at.0);
        let dedup_key = match &delivery_id {
            Some(id) if !settings.dedup_window.is_zero() => Some(format!("{source}:{id}")),
            _ => None,
        };
        let headers = redacted_headers(request.headers());
        let event = Event {
            id: uuid::Uuid::now_v7().to_string(),
            source,
            event: event_type,
            delivery_id,
            priority: settings.priority,
            received_at_ms: unix_millis(received_at),
            alert: settings.alert.alert(message),
            render_error,
            headers,
            body: request.into_body(),
            attempts: 0,
            last_error: None,
        };
        Ok(Self { event, dedup_key })
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

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer abc"),
            ("cookie", "s=1"),
            ("x-hub-signature-256", "sha256=ff"),
            ("stripe-signature", "t=1,v1=ff"),
            ("x-shopify-hmac-sha256", "ff=="),
            ("x-gitlab-token", "tok"),
            ("x-webhook-secret", "sec"),
            ("x-api-key", "key"),
            ("x-github-event", "pull_request"),
            ("content-type", "application/json"),
        ] {
            headers.append(
                http::HeaderName::from_static(name),
                http::HeaderValue::from_static(value),
            );
        }
        let kept = redacted_headers(&headers);
        assert_eq!(kept.len(), 10);
        for (name, value) in &kept {
            let public = name == "x-github-event" || name == "content-type";
            assert_eq!(value == REDACTED, !public, "{name}: {value}");
        }
        assert!(kept.contains(&("x-github-event".into(), "pull_request".into())));
    }

    #[test]
    fn sensitivity_ignores_case() {
        assert!(is_sensitive_header("X-Hub-Signature-256"));
        assert!(is_sensitive_header("Authorization"));
        assert!(!is_sensitive_header("X-GitHub-Event"));
    }
}
