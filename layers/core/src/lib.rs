//! # genhook-core
//!
//! The small, stable crate that every GenHook stage and every library consumer depends on, in the
//! role `tower-service` plays for tower. It holds:
//!
//! - the request and response types of a per-source stack ([`WebhookRequest`], [`WebhookResponse`])
//!   and the boxed service and layer types a stack is made of ([`PipelineService`], [`PipelineLayer`]);
//! - the one error type of a stack, [`PipelineError`], and the [`Reject`] trait through which each
//!   stage's own error says how it is answered over HTTP;
//! - the typed stage outputs that travel with a request as extensions ([`stage`]);
//! - the contract of a named stage, [`LayerFactory`], with what it [`Capability`]-wise requires and
//!   provides and the [`BuildContext`] it is built from;
//! - the queue between accepting and delivering ([`queue::Queue`]) and the event it carries
//!   ([`queue::Event`]);
//! - the [`Detector`] the edge asks which provider sent a webhook posted without a source;
//! - the AWS SNS host rule ([`sns::is_sns_host`]) that the verify and identify stages share;
//! - [`Secret`], a string whose `Debug` and `Display` never show it, and the one [`redact`]ion
//!   policy: which headers and body fields are secrets that are never kept, logged or shown;
//! - the syntax every file shares: `FILE:LINE` [`Span`]s and [`Diagnostic`]s, a source's
//!   [`Section`] of [`Setting`]s, the span-keeping [`ini`] line lexer, and the one grammar of
//!   each value form ([`value`]: durations, sizes, rates), used by the configuration file, the
//!   mapping files and every stage's settings alike.
//!
//! It is the bottom crate: it depends on no other GenHook crate. Nothing here reads a file,
//! opens a socket or touches a disk.

pub mod alert;
pub mod detect;
pub mod diagnostic;
pub mod error;
pub mod factory;
pub mod future;
pub mod hint;
pub mod ini;
pub mod metrics;
pub mod queue;
pub mod redact;
pub mod secret;
pub mod setting;
pub mod sns;
pub mod stage;
pub mod value;

pub use alert::{Alert, AlertDefaults};
pub use detect::{Detector, NoDetector};
pub use diagnostic::{Diagnostic, Severity, Span};
pub use error::{error_chain, BoxError, MissingStage, PipelineError, Reject};
pub use factory::{BuildContext, BuildError, Capability, LayerFactory, BUILT_IN_STAGES};
pub use secret::Secret;
pub use setting::{Section, Setting};
pub use stage::{require, take};

use bytes::Bytes;
use tower::util::{BoxCloneSyncService, BoxCloneSyncServiceLayer};

/// A webhook as a per-source stack sees it: the body is already buffered (after the edge's size
/// limit), so every stage can read the raw bytes a signature covers.
pub type WebhookRequest = http::Request<Bytes>;

/// What a per-source stack answers.
pub type WebhookResponse = http::Response<Bytes>;

/// A whole per-source stack, boxed once at each stage boundary.
pub type PipelineService = BoxCloneSyncService<WebhookRequest, WebhookResponse, PipelineError>;

/// One stage of a per-source stack, as a [`LayerFactory`] builds it.
pub type PipelineLayer =
    BoxCloneSyncServiceLayer<PipelineService, WebhookRequest, WebhookResponse, PipelineError>;

/// Builds a JSON response with the given status and body (a `serde_json::Value` or any
/// serialisable answer).
///
/// The one helper every stage uses for the answers it gives itself (handshakes, `202 queued`,
/// `200 duplicate`), so that they all carry `content-type: application/json`.
pub fn json_response(status: http::StatusCode, body: &impl serde::Serialize) -> WebhookResponse {
    // Only a map with non-string keys fails to serialise; no answer body is one.
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = http::Response::new(Bytes::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
