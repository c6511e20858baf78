//! The providers GenHook knows, and how to recognise one from its headers and payload
//! ([`detect`], used for `POST /webhook` without a source in the path and for sources whose
//! `verify` scheme does not name a provider). The rules follow the headers each provider documents as its own.

use http::HeaderMap;
use serde_json::Value;

/// A webhook provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// GitHub.
    Github,
    /// Stripe.
    Stripe,
    /// Slack (Events API, interactivity, slash commands).
    Slack,
    /// AWS: SNS (and CloudWatch alarms through it) and EventBridge API destinations.
    Aws,
    /// Cisco Meraki.
    Meraki,
    /// Jira Cloud and Data Center.
    Jira,
    /// Azure Event Grid (Event Grid and CloudEvents schemas).
    Azure,
    /// Shopify.
    Shopify,
    /// Standard Webhooks / Svix.
    StandardWebhooks,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Self; 9] = [
        Self::Github,
        Self::Stripe,
        Self::Slack,
        Self::Aws,
        Self::Meraki,
        Self::Jira,
        Self::Azure,
        Self::Shopify,
        Self::StandardWebhooks,
    ];

    /// Whether the provider names both the event type and the delivery id in headers, and has no
    /// handshake in its body (GitHub, Shopify): identify then needs nothing from the body but
    /// that it is JSON, and checks it in the pass that extracts the mapped fields.
    pub(crate) fn identifies_by_headers(self) -> bool {
        matches!(self, Self::Github | Self::Shopify)
    }

    /// Its name, as used for sources and default mappings.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Stripe => "stripe",
            Self::Slack => "slack",
            Self::Aws => "aws",
            Self::Meraki => "meraki",
            Self::Jira => "jira",
            Self::Azure => "azure",
            Self::Shopify => "shopify",
            Self::StandardWebhooks => "standard-webhooks",
        }
    }

    /// The provider a source's `verify` scheme implies (`aws-sns` → [`Provider::Aws`]); `None`
    /// for generic schemes (`hmac-sha256`, `basic`, `api-key`, `token`, `none`).
    pub fn from_verify_scheme(scheme: &str) -> Option<Self> {
        let scheme = scheme.trim();
        if scheme.eq_ignore_ascii_case("aws-sns") || scheme.eq_ignore_ascii_case("aws") {
            return Some(Self::Aws);
        }
        Self::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(scheme))
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn has(headers: &HeaderMap, name: &str) -> bool {
    headers.contains_key(name)
}

fn user_agent_starts(headers: &HeaderMap, prefix: &str) -> bool {
    header(headers, "user-agent").is_some_and(|ua| ua.starts_with(prefix))
}

/// Recognises the provider of a webhook from its headers, then (when headers say nothing) from
/// the shape of its payload. `None` when nothing matches: the edge answers 404.
pub fn detect(headers: &HeaderMap, payload: Option<&Value>) -> Option<Provider> {
    detect_by_headers(headers)
        .or_else(|| payload.and_then(detect_by_payload))
        // GitHub's legacy SHA-1 header alone: Jira uses the same name, but its payload (with
        // `webhookEvent`) was recognised above.
        .or_else(|| has(headers, "x-hub-signature").then_some(Provider::Github))
}

/// Recognises the provider from its headers alone; `None` when they do not tell (Meraki, or a
/// sender without its usual headers). The edge asks this first so that a body is parsed, before
/// any signature check, only when the headers cannot name the provider.
pub fn detect_by_headers(headers: &HeaderMap) -> Option<Provider> {
    if has(headers, "x-github-event")
        || has(headers, "x-github-delivery")
        || has(headers, "x-hub-signature-256")
        || user_agent_starts(headers, "GitHub-Hookshot/")
    {
        return Some(Provider::Github);
    }
    if has(headers, "stripe-signature") {
        return Some(Provider::Stripe);
    }
    if has(headers, "x-slack-signature") || has(headers, "x-slack-request-timestamp") {
        return Some(Provider::Slack);
    }
    if [
        "x-shopify-topic",
        "x-shopify-hmac-sha256",
        "shopify-topic",
        "shopify-hmac-sha256",
    ]
    .iter()
    .any(|h| has(headers, h))
    {
        return Some(Provider::Shopify);
    }
    if has(headers, "x-atlassian-webhook-identifier") || has(headers, "x-atlassian-webhook-flow") {
        return Some(Provider::Jira);
    }
    if [
        "aeg-event-type",
        "aeg-subscription-name",
        "aeg-delivery-count",
    ]
    .iter()
    .any(|h| has(headers, h))
        || header(headers, "origin").is_some_and(|o| o.eq_ignore_ascii_case("eventgrid.azure.net"))
    {
        return Some(Provider::Azure);
    }
    if has(headers, "x-amz-sns-message-type")
        || user_agent_starts(headers, "Amazon Simple Notification Service Agent")
        || user_agent_starts(headers, "Amazon/EventBridge/ApiDestinations")
    {
        return Some(Provider::Aws);
    }
    if (has(headers, "webhook-id") && has(headers, "webhook-signature"))
        || (has(headers, "svix-id") && has(headers, "svix-signature"))
    {
        return Some(Provider::StandardWebhooks);
    }
    None
}

fn detect_by_payload(payload: &Value) -> Option<Provider> {
    // Event Grid deliveries are arrays of events; look at the first.
    if let Some(first) = payload.as_array().and_then(|a| a.first()) {
        let is_event_grid = first.get("eventType").is_some()
            && first.get("id").is_some()
            && (first.get("dataVersion").is_some() || first.get("eventTime").is_some());
        let is_cloud_event = first.get("specversion").is_some() && first.get("type").is_some();
        return (is_event_grid || is_cloud_event).then_some(Provider::Azure);
    }
    let object = payload.as_object()?;
    let has = |key: &str| object.contains_key(key);
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    if text("object") == Some("event") && text("id").is_some_and(|id| id.starts_with("evt_")) {
        return Some(Provider::Stripe);
    }
    if (has("alertTypeId") || has("alertType"))
        && has("organizationId")
        && (has("alertId") || has("sharedSecret"))
    {
        return Some(Provider::Meraki);
    }
    if has("Type") && has("MessageId") && has("TopicArn") {
        return Some(Provider::Aws);
    }
    if has("detail-type") && has("source") && has("detail") {
        return Some(Provider::Aws);
    }
    if has("webhookEvent") && (has("timestamp") || has("issue") || has("user")) {
        return Some(Provider::Jira);
    }
    if text("type") == Some("url_verification") && has("challenge") {
        return Some(Provider::Slack);
    }
    if text("type") == Some("event_callback") && has("event_id") && has("api_app_id") {
        return Some(Provider::Slack);
    }
    if has("specversion") && has("type") && has("source") && has("id") {
        // A CloudEvent posted without Event Grid's headers: Event Grid is the only CloudEvents
        // sender GenHook knows.
        return Some(Provider::Azure);
    }
    None
}
