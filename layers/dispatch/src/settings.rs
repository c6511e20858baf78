//! [`DispatchSettings`]: what the dispatch stage reads from a source's section, validated at load.

use std::sync::Arc;
use std::time::Duration;

use genhook_core::queue::Priority;
use genhook_core::redact::RedactionPolicy;
use genhook_core::AlertDefaults;

/// The default de-duplication window: 72 hours, which covers Stripe's 3-day retry horizon (and
/// Event Grid's and EventBridge's 24 hours).
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(72 * 3600);

/// A source's dispatch settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatchSettings {
    /// The source's name, used when the request carries no
    /// [`SourceName`](genhook_core::stage::SourceName).
    pub source: Arc<str>,
    /// `priority = high | normal | low` (default `normal`).
    pub priority: Priority,
    /// `dedup_window = 72h` (default [`DEFAULT_DEDUP_WINDOW`]); zero turns de-duplication off.
    pub dedup_window: Duration,
    /// `dedup_by = delivery_id | body` (default [`DedupBy::DeliveryId`]): what makes two
    /// webhooks the same one.
    pub dedup_by: DedupBy,
    /// The SL1 alert fields other than the message (`force_ytype`, …, `align`).
    pub alert: AlertDefaults,
    /// What is replaced by `<redacted>` in the stored headers and body: the built-in rules plus
    /// the source's own secret headers (`token_header`, …), learnt from its section at load.
    pub redaction: RedactionPolicy,
}

/// What a webhook is de-duplicated on (`dedup_by =`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DedupBy {
    /// The provider's delivery id (`X-GitHub-Delivery`, Stripe's `id`, …): a redelivery is a
    /// duplicate, a webhook without an id is never one. The default.
    #[default]
    DeliveryId,
    /// A SHA-256 of the raw body: the same body is a duplicate whatever delivery id it carries.
    /// For schemes whose signature covers no timestamp (GitHub, Shopify, Jira), where a captured
    /// body replayed under a fresh delivery id would otherwise be accepted again.
    Body,
}

impl DedupBy {
    /// Every accepted spelling, for error messages.
    pub const VALUES: &'static str = "delivery_id or body";

    /// Parses `delivery_id` (also `id`) or `body`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "delivery_id" | "id" => Some(Self::DeliveryId),
            "body" => Some(Self::Body),
            _ => None,
        }
    }
}

impl DispatchSettings {
    /// The settings of a source that sets nothing.
    pub fn new(source: impl Into<Arc<str>>) -> Self {
        Self {
            source: source.into(),
            priority: Priority::Normal,
            dedup_window: DEFAULT_DEDUP_WINDOW,
            dedup_by: DedupBy::DeliveryId,
            alert: AlertDefaults::default(),
            redaction: RedactionPolicy::new(),
        }
    }

    /// With another priority.
    #[must_use]
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// With another de-duplication window (zero: off).
    #[must_use]
    pub fn with_dedup_window(mut self, window: Duration) -> Self {
        self.dedup_window = window;
        self
    }

    /// De-duplicating on something else than the delivery id.
    #[must_use]
    pub fn with_dedup_by(mut self, dedup_by: DedupBy) -> Self {
        self.dedup_by = dedup_by;
        self
    }

    /// With another redaction policy (e.g. a source's own secret headers).
    #[must_use]
    pub fn with_redaction(mut self, redaction: RedactionPolicy) -> Self {
        self.redaction = redaction;
        self
    }

    /// With other SL1 alert fields.
    #[must_use]
    pub fn with_alert(mut self, alert: AlertDefaults) -> Self {
        self.alert = alert;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_by_values() {
        assert_eq!(DedupBy::parse(" body "), Some(DedupBy::Body));
        assert_eq!(DedupBy::parse("delivery_id"), Some(DedupBy::DeliveryId));
        assert_eq!(DedupBy::parse("id"), Some(DedupBy::DeliveryId));
        assert_eq!(DedupBy::parse("Body"), None);
        assert_eq!(DedupBy::parse("hash"), None);
        assert_eq!(DispatchSettings::new("x").dedup_by, DedupBy::DeliveryId);
    }

    #[test]
    fn default_window_covers_stripes_three_days() {
        assert!(DispatchSettings::new("stripe").dedup_window >= Duration::from_secs(3 * 86_400));
    }
}
