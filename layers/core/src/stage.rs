//! Stage outputs: what a stage learns about a webhook travels with the request as a typed
//! extension, for the stages after it.
//!
//! | inserted by | type |
//! |---|---|
//! | the edge (router) | [`SourceName`], [`ReceivedAt`] |
//! | `verify` | [`Verified`] |
//! | `identify` | [`EventType`], [`EventLabel`], [`DeliveryId`] (when the provider sends one), [`JsonBody`] or [`Payload`] |
//! | `extract` | `Fields` (the mapping language's `genhook_mapping::Fields`, which names its compiled line; `identify` leaves them already when the event type comes from a header: one pass over the body) |
//! | `template` | [`Rendered`] or [`RenderFailed`] |
//! | the offline pipeline (`genhook render`, replay) | [`Offline`] |
//!
//! Every output is a cheap-to-clone newtype over `Arc`, so cloning a request for a retry or a
//! replay costs a few reference counts.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::error::{MissingStage, PipelineError};

/// Reads a stage output from a request, or fails with a 500 [`MissingStage`] (never a panic).
///
/// # Errors
/// When no earlier stage inserted a `T`.
pub fn require<T: StageOutput>(request: &http::Request<impl Sized>) -> Result<&T, PipelineError> {
    request
        .extensions()
        .get::<T>()
        .ok_or_else(|| MissingStage(T::NAME).into())
}

/// Takes a stage output off a request, for the last stage that reads it (it is moved, not
/// copied), or fails as [`require`] does.
///
/// # Errors
/// When no earlier stage inserted a `T`.
pub fn take<T: StageOutput>(request: &mut http::Request<impl Sized>) -> Result<T, PipelineError> {
    request
        .extensions_mut()
        .remove::<T>()
        .ok_or_else(|| MissingStage(T::NAME).into())
}

/// A type a stage leaves on the request for later stages.
pub trait StageOutput: Clone + Send + Sync + 'static {
    /// A name for error messages.
    const NAME: &'static str;
}

macro_rules! arc_str_output {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(pub Arc<str>);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<Arc<str>>) -> Self {
                Self(value.into())
            }
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl StageOutput for $name {
            const NAME: &'static str = $label;
        }
    };
}

arc_str_output!(
    /// The source (mapping section) the webhook belongs to.
    SourceName,
    "source"
);
arc_str_output!(
    /// The event type (`pull_request`, `payment_intent.succeeded`, `jira:issue_created`, …).
    EventType,
    "event"
);
arc_str_output!(
    /// The event type as metrics label it: the key of the mapping line that names it (the type
    /// itself, or a glob such as `payment_intent.*`), else [`OTHER`](crate::metrics::OTHER).
    /// Bounded by the mapping whatever the payloads say; see
    /// [`metrics::event_label`](crate::metrics::event_label).
    EventLabel,
    "event label"
);
arc_str_output!(
    /// The provider's delivery id (`X-GitHub-Delivery`, Stripe `id`, …), used for de-duplication
    /// and carried to SL1 so one delivery can be traced end to end.
    DeliveryId,
    "delivery id"
);
arc_str_output!(
    /// The message rendered from the mapping's template.
    Rendered,
    "rendered message"
);
arc_str_output!(
    /// Rendering failed; the reason. The event is accepted and kept in the dead-letter queue, so
    /// fixing the mapping and replaying delivers it.
    RenderFailed,
    "render failure"
);

/// The signature (or token) of the request checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The scheme that checked it (`github`, `hmac-sha256`, `none`, …).
    pub scheme: &'static str,
}

impl StageOutput for Verified {
    const NAME: &'static str = "verified";
}

/// The request is rendered offline (`genhook render`, a dead-letter replay), not served: a stage
/// that answers a provider's handshake itself (GitHub `ping`, Slack `url_verification`, SNS
/// `SubscriptionConfirmation`, …) passes it on instead, so that its mapping line renders and
/// nothing is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offline;

impl StageOutput for Offline {
    const NAME: &'static str = "offline";
}

/// On an answer (a response extension): the stage took the webhook without forwarding it, for
/// this reason (a rejection metric's `reason`, or `ignored`); the edge records it with the
/// refused requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ignored(pub &'static str);

/// When the edge received the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedAt(pub SystemTime);

impl StageOutput for ReceivedAt {
    const NAME: &'static str = "received at";
}

/// The body parsed once as JSON (form-encoded `payload=` bodies already unwrapped). Left by
/// `identify` for batches, form fields, and stacks with a stage of one's own; a JSON object in a
/// stack of built-in stages travels as a [`JsonBody`] instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload(pub Arc<serde_json::Value>);

impl StageOutput for Payload {
    const NAME: &'static str = "payload";
}

/// The webhook's JSON text, checked once by `identify` as a full parse checks it, and left
/// unparsed: the request body itself (shared, not copied), or a form's `payload` field decoded.
/// The stages after it read only the fields they need from it (`extract`:
/// the mapping line's `extract_str`), where a [`Payload`] would have parsed the whole document.
///
/// `identify` leaves this instead of a [`Payload`] in the stacks built from a mapping (whose
/// stages read no `Payload`); a [`Payload`] an earlier stage left (`verify` for Meraki and SNS)
/// is kept, and then no `JsonBody` is added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonBody(pub bytes::Bytes);

impl StageOutput for JsonBody {
    const NAME: &'static str = "JSON body";
}
