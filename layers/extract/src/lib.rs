//! # genhook-extract: the `extract` stage
//!
//! Picks the source's mapping line for the webhook's event type (`CompiledSource::select`: the
//! exact key, then the most specific glob, then `*`, then the source's sectionless line) and
//! extracts the fields that line declares, with the field tree compiled at load time: from the
//! JSON text `identify` checked ([`JsonBody`](genhook_core::stage::JsonBody)) in one pass that
//! parses only those fields, or from a parsed [`Payload`](genhook_core::stage::Payload) when an
//! earlier stage left one. When `identify` already extracted the chosen line's
//! [`Fields`](genhook_mapping::Fields) in its checking pass (a header-named event type), they
//! are kept as they are.
//!
//! - **Requires:** `identified` ([`EventType`](genhook_core::stage::EventType) and
//!   [`JsonBody`](genhook_core::stage::JsonBody) or [`Payload`](genhook_core::stage::Payload),
//!   from `identify`).
//! - **Provides:** `extracted` ([`Fields`](genhook_mapping::Fields): the line and a JSON
//!   object holding only its declared fields).
//! - **Settings:** `unmapped = reject` (default) or `unmapped = ignore`.
//! - **Statuses:** `422 {"error":"no mapping for event `X` of source `Y`"}`
//!   ([`ExtractError::NoMapping`]); with `unmapped = ignore` instead
//!   `202 {"source","event","status":"ignored"}`, answered by the stage itself. Either way the
//!   inner service is not called.
//! - **Nothing mapped:** a payload holding none of its line's fields (each missing or `null`,
//!   e.g. `{}` to a GitHub `pull_request` line) is not forwarded: `200 {"status":"ignored",
//!   "reason":"no mapped field present"}` (a 2xx, so the provider does not retry it), counted in
//!   `genhook_webhooks_rejected_total{reason="no_mapped_field"}` and logged (info). A line that
//!   declares no field (`ping: ::pong`) is always forwarded.
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use genhook_core::stage::{EventType, Payload};
//! use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
//! use genhook_extract::ExtractLayer;
//! use genhook_mapping::{Fields, LoadOptions, MappingSet};
//! use http::StatusCode;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), PipelineError> {
//! let options = LoadOptions { env: &|_| None, extra_keys: &[] };
//! let text = "[github]\npull_request: action::GitHub $action$\n";
//! let loaded = MappingSet::parse_str(Path::new("github.ini"), text, &options).unwrap();
//! let source = Arc::clone(loaded.mappings.source("github").unwrap());
//!
//! let mut svc = ServiceBuilder::new()
//!     .layer(ExtractLayer::new(source))
//!     .service_fn(|req: WebhookRequest| async move {
//!         let fields = genhook_core::require::<Fields>(&req)?;
//!         assert_eq!(fields.value["action"], "opened");
//!         Ok::<_, PipelineError>(WebhookResponse::new(Bytes::new()))
//!     });
//!
//! let mut req = WebhookRequest::new(Bytes::new());
//! req.extensions_mut().insert(EventType::new("pull_request"));
//! req.extensions_mut().insert(Payload(Arc::new(serde_json::json!({"action": "opened"}))));
//! let res = svc.ready().await?.call(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//!
//! let mut req = WebhookRequest::new(Bytes::new());
//! req.extensions_mut().insert(EventType::new("push"));
//! req.extensions_mut().insert(Payload(Arc::new(serde_json::json!({}))));
//! let error = svc.ready().await?.call(req).await.unwrap_err();
//! assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
//! # Ok(())
//! # }
//! ```

mod error;
mod factory;
pub mod future;
mod layer;
mod service;

pub use error::ExtractError;
pub use factory::ExtractFactory;
pub use genhook_mapping::Unmapped;
pub use layer::ExtractLayer;
pub use service::{Extract, NO_MAPPED_FIELD};
