//! # genhook-identify: the identify stage
//!
//! Learns what a webhook is, once, for the stages after it:
//!
//! 1. **Body → JSON** ([`parse_body`]): JSON bodies (whatever their media type: SNS sends
//!    `text/plain`); form-encoded bodies with a `payload` field unwrapped to that JSON (GitHub form
//!    deliveries, Slack interactivity); other form bodies as an object of their fields (Slack slash
//!    commands). An earlier stage's [`Payload`](genhook_core::stage::Payload) is reused.
//! 2. **Handshakes**, answered here and never forwarded: Slack `url_verification`
//!    (`{"challenge":…}`) and `ssl_check=1`; Event Grid `SubscriptionValidationEvent`
//!    (`{"validationResponse":…}`); SNS `SubscriptionConfirmation` (SubscribeURL fetched only on an
//!    SNS host, for a source verifying with `aws-sns`, after the signature verified, unless
//!    `sns_auto_confirm = false`; otherwise logged for the operator) and `UnsubscribeConfirmation`;
//!    GitHub `ping` (`{"status":"pong"}`). The CloudEvents `OPTIONS` handshake has no body and is
//!    answered by the edge with [`options_response`]; Slack's `ssl_check` may come unsigned (Bolt
//!    answers it before verifying), so the edge or `verify` can answer it first with
//!    [`slack_ssl_check_response`].
//! 3. **Event type** ([`event_type`]) and **delivery id** ([`delivery_id`]): the source's setting,
//!    else the provider's default; the provider is the one the source's `verify` scheme names,
//!    else [`detect`]ed from headers and payload.
//!
//! For `POST /webhook` (no source in the path) the edge parses the body with [`parse_body`], picks
//! the source with [`detect`], and inserts the [`Payload`](genhook_core::stage::Payload) so that
//! this stage does not parse it again. The offline `genhook render` uses the same pure functions
//! ([`parse_body`], [`IdentifySettings::from_lookup`], [`event_type`], [`delivery_id`]).
//!
//! **Requires** nothing. **Provides** [`Capability::IDENTIFIED`](genhook_core::Capability):
//! [`Payload`](genhook_core::stage::Payload), [`EventType`](genhook_core::stage::EventType)
//! (empty when nothing names one: `extract` decides) and
//! [`DeliveryId`](genhook_core::stage::DeliveryId) when the provider sends one.
//!
//! **Parsed once, only as far as needed.** In the stacks built from mappings
//! ([`IdentifyFactory`], [`IdentifyLayer::json_body`]) a JSON object body is not parsed into a
//! `Payload`: one pass checks it exactly as a full parse would (same refusals, same reasons) and
//! keeps only its top-level names and scalars for the rules above, and the body's own bytes go on
//! as a [`JsonBody`](genhook_core::stage::JsonBody), from which `extract` reads just the mapped
//! fields. When the event type and delivery id come from headers (GitHub, Shopify: the provider
//! set by `verify`, no `event =` / `delivery_id =` field path), the body has nothing to tell
//! identification: that one pass is then the mapping line's extraction itself, checking what it
//! skips as strictly (`CompiledLine::extract_checked`), and the fields go on as
//! [`Fields`](genhook_mapping::Fields), which `extract` keeps — the text is read once.
//! Batches, form fields and an earlier stage's `Payload` still travel as a `Payload`; so does
//! everything when a stack has a stage of one's own, which may read it.
//!
//! **Settings**
//! ```ini
//! event = header:X-GitHub-Event   ; or a field path: type, event.type, detail-type, webhookEvent
//! delivery_id = header:X-Request-Id ; or a field path: id, data.id
//! sns_auto_confirm = false        ; default true
//! ```
//!
//! **Statuses**: `400` for a charset other than UTF-8, invalid UTF-8, an empty body or invalid
//! JSON ([`IdentifyError`]); `200` for handshakes.
//!
//! ```
//! use bytes::Bytes;
//! use genhook_core::stage::EventType;
//! use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
//! use genhook_identify::{IdentifyLayer, IdentifySettings, Provider};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), PipelineError> {
//! let mut service = ServiceBuilder::new()
//!     .layer(IdentifyLayer::new(IdentifySettings::for_provider(Provider::Stripe)))
//!     .service_fn(|request: WebhookRequest| async move {
//!         let event = genhook_core::require::<EventType>(&request)?.to_string();
//!         Ok::<_, PipelineError>(WebhookResponse::new(Bytes::from(event)))
//!     });
//! let request = http::Request::post("/webhook/stripe")
//!     .body(Bytes::from_static(br#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#))
//!     .map_err(PipelineError::internal)?;
//! let response = service.ready().await?.call(request).await?;
//! assert_eq!(response.body(), "invoice.paid");
//! # Ok(())
//! # }
//! ```

mod batch;
mod body;
mod detector;
mod error;
mod factory;
pub mod future;
mod handshake;
mod ident;
mod layer;
mod metrics;
mod options;
mod provider;
mod selector;
mod service;
mod settings;
mod shallow;
mod sns;

pub use body::parse_body;
pub use detector::Providers;
pub use error::IdentifyError;
pub use factory::IdentifyFactory;
pub use handshake::slack_ssl_check_response;
pub use ident::{default_delivery_id, default_event_type, delivery_id, event_type, provider_for};
pub use layer::IdentifyLayer;
pub use options::options_response;
pub use provider::{detect, detect_by_headers, Provider};
pub use selector::{FieldPath, Selector};
pub use service::Identify;
pub use settings::{IdentifySettings, SETTINGS};
pub use sns::SnsConfirmer;
