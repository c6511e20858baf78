//! # genhook-template: the `template` stage
//!
//! Renders the SL1 message of the mapping line `extract` chose, from the fields it extracted,
//! with the handlebars template compiled at load time.
//!
//! A template can fail on one webhook (a helper given a wrong argument). Such a webhook is still
//! accepted: the stage records [`RenderFailed`](genhook_core::stage::RenderFailed) with the
//! reason and goes on, and `dispatch` keeps the event in the dead-letter queue, so fixing the
//! mapping and replaying delivers it. Nothing answered 202 is lost.
//!
//! - **Requires:** `extracted` ([`Fields`](genhook_mapping::Fields)), which it takes off the
//!   request: no stage after it reads them, and the template engine renders them without a copy.
//! - **Provides:** `rendered` ([`Rendered`](genhook_core::stage::Rendered), or
//!   [`RenderFailed`](genhook_core::stage::RenderFailed)).
//! - **Settings:** none (the templates are part of the mapping lines).
//! - **Statuses:** none of its own; a `500` if `extract` did not run (a layer-order bug). A layer
//!   built with [`TemplateLayer::rejecting`] answers a failed template with `422`
//!   ([`TemplateError::RenderFailed`]).
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use genhook_core::stage::Rendered;
//! use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
//! use genhook_mapping::{Fields, LoadOptions, MappingSet};
//! use genhook_template::TemplateLayer;
//! use http::StatusCode;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), PipelineError> {
//! let options = LoadOptions { env: &|_| None, extra_keys: &[] };
//! let text = "github: action::GitHub $action$\n";
//! let loaded = MappingSet::parse_str(Path::new("github.ini"), text, &options).unwrap();
//! let line = Arc::clone(&loaded.mappings.source("github").unwrap().lines()[0]);
//!
//! let mut svc = ServiceBuilder::new()
//!     .layer(TemplateLayer::new())
//!     .service_fn(|req: WebhookRequest| async move {
//!         let message = genhook_core::require::<Rendered>(&req)?;
//!         Ok::<_, PipelineError>(WebhookResponse::new(Bytes::from(message.to_string())))
//!     });
//!
//! let mut req = WebhookRequest::new(Bytes::new());
//! let value = Arc::new(serde_json::json!({"action": "opened"}));
//! req.extensions_mut().insert(Fields { line, value });
//! let res = svc.ready().await?.call(req).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.body(), "GitHub opened");
//! # Ok(())
//! # }
//! ```

mod error;
mod factory;
pub mod future;
mod layer;
mod service;

pub use error::TemplateError;
pub use factory::TemplateFactory;
pub use layer::TemplateLayer;
pub use service::Template;
