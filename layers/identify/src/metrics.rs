//! The identify stage's metric: `genhook_webhooks_received_total{source, event}`, counted once
//! per event (once per item of a batch) by the service and the batch splitter alike.

use std::sync::Arc;

use genhook_core::stage::{EventLabel, SourceName};
use genhook_core::WebhookRequest;
use genhook_mapping::CompiledSource;

/// Counts a webhook whose source and event type are known, under its bounded [`EventLabel`],
/// which it leaves on the request for the later stages' metrics.
pub(crate) fn record_received(
    request: &mut WebhookRequest,
    event: &str,
    mapping: Option<&CompiledSource>,
) {
    // The labels share the route's name and the line key (Arcs): no copy per counter.
    let source = request
        .extensions()
        .get::<SourceName>()
        .map_or_else(|| Arc::from(""), |s| Arc::clone(&s.0));
    let label =
        genhook_core::metrics::event_label(mapping.and_then(|m| m.naming_key_shared(event)));
    ::metrics::counter!(
        genhook_core::metrics::WEBHOOKS_RECEIVED,
        "source" => source,
        "event" => Arc::clone(&label)
    )
    .increment(1);
    request.extensions_mut().insert(EventLabel(label));
}
