//! # genhook-rate-limit: the `rate_limit` stage
//!
//! Caps how many webhooks one source may send, with governor's GCRA (one atomic per source, no
//! lock). A webhook over the quota is answered at once with `429 {"error":"rate limit exceeded"}`
//! and a `Retry-After` saying when the next one will be let through; it never reaches the inner
//! service. The stage decides in `call` and stays ready (tower's `LoadShed` way), because a
//! provider should be told to come back later, not be kept waiting.
//!
//! - **Requires:** nothing. **Provides:** nothing. Usually placed right after `verify`, so that
//!   forged requests do not use up a source's quota.
//! - **Settings:** `rate_limit = 50/s` (also `/m`, `/min`, `/h`), optionally with a burst:
//!   `rate_limit = 50/s burst 100`. Without the setting the stage lets everything through. A bad
//!   value is a load error at its `FILE:LINE`.
//! - **Statuses:** `429` with `Retry-After` ([`RateLimitError::Limited`]).
//!
//! ```
//! use std::num::NonZeroU32;
//! use bytes::Bytes;
//! use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
//! use genhook_rate_limit::{RateLimitLayer, RateLimitError};
//! use governor::Quota;
//! use http::StatusCode;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), PipelineError> {
//! let quota = Quota::per_hour(NonZeroU32::MIN); // one webhook per hour
//! let mut svc = ServiceBuilder::new()
//!     .layer(RateLimitLayer::new(quota))
//!     .service_fn(|_req: WebhookRequest| async {
//!         Ok::<_, PipelineError>(WebhookResponse::new(Bytes::new()))
//!     });
//!
//! let first = svc.ready().await?.call(WebhookRequest::new(Bytes::new())).await?;
//! assert_eq!(first.status(), StatusCode::OK);
//!
//! let second = svc.ready().await?.call(WebhookRequest::new(Bytes::new())).await;
//! let error = second.unwrap_err();
//! assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
//! assert!(error.is::<RateLimitError>());
//! assert!(error.retry_after().is_some());
//! # Ok(())
//! # }
//! ```

mod error;
mod factory;
pub mod future;
mod layer;
mod quota;
mod service;

pub use error::RateLimitError;
pub use factory::RateLimitFactory;
pub use layer::RateLimitLayer;
pub use quota::parse_rate;
pub use service::RateLimit;
