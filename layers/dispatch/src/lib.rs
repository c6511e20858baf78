//! # genhook-dispatch: the `dispatch` stage
//!
//! The end of every source's stack. It turns the webhook into a queue
//! [`Event`](genhook_core::queue::Event) — a UUIDv7 id, source, event type, delivery id,
//! priority, receipt time, the SL1 alert (the rendered message plus the section's SL1 fields and
//! `align`), and the request's headers and raw body with every secret value replaced by
//! `<redacted>` (the source's [`RedactionPolicy`](genhook_core::redact::RedactionPolicy): the
//! built-in secret headers, the source's `token_header` / `api_key_header` / `signature_header` /
//! `azure_header`, and secret body fields such as Meraki's `sharedSecret`) — and hands it to the
//! queue, answering only once the queue has it as durably as its backend promises. Its inner
//! service is never called. Its metrics label the event with its bounded
//! [`EventLabel`](genhook_core::stage::EventLabel) (a mapping key or `other`).
//!
//! **De-duplication.** When `identify` found a provider delivery id
//! ([`DeliveryId`](genhook_core::stage::DeliveryId)), the event goes to the queue with a
//! [`Claim`](genhook_core::queue::Claim) of `"{source}:{id}"` for `dedup_window`, and the queue
//! stores the claim and the event in one atomic step
//! ([`Queue::accept`](genhook_core::queue::Queue::accept)). A redelivery inside the window is
//! answered `200 duplicate` and not queued again, and only once the first delivery's event is
//! durably queued, delivered or dead-lettered; of any number of concurrent redeliveries exactly
//! one is queued. With `dedup_by = body` the key is
//! `"{source}:body:{sha256 of the raw body}"` instead, delivery id or not: for schemes that sign
//! no timestamp (GitHub, Shopify), a captured body replayed under a fresh delivery id is answered
//! `200 duplicate` within the window. An event the queue refuses (full, store away or failing, a crash) leaves no
//! claim, so the provider's next retry is accepted.
//!
//! **Render failures.** A webhook whose template failed
//! ([`RenderFailed`](genhook_core::stage::RenderFailed)) is accepted straight into the dead-letter
//! queue with its `render_error`; fixing the mapping and replaying delivers it.
//!
//! - **Requires:** `rendered` ([`Rendered`](genhook_core::stage::Rendered) or `RenderFailed`,
//!   with [`EventType`](genhook_core::stage::EventType)). **Provides:** nothing; it is terminal
//!   (valid only last on `layers =`).
//! - **Resources:** `Arc<dyn Queue>` in the build context.
//! - **Settings:** `priority = high | normal | low` (default `normal`); `dedup_window = 72h`
//!   (the default, covering Stripe's 3-day retry horizon; `ms`, `s`, `m`, `h`, `d`; `0` turns
//!   de-duplication off); `dedup_by = delivery_id | body` (default `delivery_id`); the SL1 fields `force_ytype`, `force_yid`, `force_yname`, `value`,
//!   `threshold`, `message_time`, and `align = org:ID | device:ID`.
//! - **Statuses:** `202 {"id","source","event","status":"queued"}`;
//!   `202 {"id","source","event","status":"dead_lettered"}`;
//!   `200 {"source","event","status":"duplicate"}`; `503` with `Retry-After: 1` when the queue is
//!   full, shutting down or its store unreachable; `500 {"error":"internal error"}` when its
//!   store fails (the cause is logged, never sent). See [`DispatchError`].
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use bytes::Bytes;
//! use genhook_core::queue::Queue;
//! use genhook_core::stage::{DeliveryId, EventType, Rendered};
//! use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
//! use genhook_dispatch::{DispatchLayer, DispatchSettings};
//! use http::StatusCode;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//! # use std::collections::HashSet;
//! # use std::time::Duration;
//! # use futures_util::future::{BoxFuture, FutureExt};
//! # use genhook_core::queue::{Accepted, Claim, Event, QueueError};
//! # #[derive(Debug, Default)]
//! # struct MemQueue(Mutex<(Vec<Event>, HashSet<String>)>);
//! # impl Queue for MemQueue {
//! #     fn accept(&self, e: Event, c: Option<Claim>) -> BoxFuture<'_, Result<Accepted, QueueError>> {
//! #         let mut q = self.0.lock().unwrap();
//! #         let fresh = c.is_none_or(|c| q.1.insert(c.key));
//! #         if fresh { q.0.push(e) }
//! #         let accepted = if fresh { Accepted::Queued } else { Accepted::Duplicate };
//! #         async move { Ok(accepted) }.boxed()
//! #     }
//! #     fn next(&self) -> BoxFuture<'_, Result<Option<Event>, QueueError>> { async { Ok(None) }.boxed() }
//! #     fn ack(&self, _: &Event) -> BoxFuture<'_, Result<(), QueueError>> { async { Ok(()) }.boxed() }
//! #     fn requeue(&self, _: Event, _: Duration) -> BoxFuture<'_, Result<(), QueueError>> { async { Ok(()) }.boxed() }
//! #     fn dead_letter(&self, _: Event) -> BoxFuture<'_, Result<(), QueueError>> { async { Ok(()) }.boxed() }
//! #     fn depth(&self) -> usize { self.0.lock().unwrap().0.len() }
//! #     fn capacity(&self) -> usize { 100 }
//! #     fn close(&self) {}
//! #     fn backend(&self) -> &'static str { "test" }
//! # }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), PipelineError> {
//! let queue = Arc::new(MemQueue::default());
//! let layer = DispatchLayer::new(queue.clone(), DispatchSettings::new("github"));
//! let mut svc = ServiceBuilder::new()
//!     .layer(layer)
//!     .service_fn(|_req: WebhookRequest| async {
//!         unreachable!("dispatch never calls its inner service");
//!         #[allow(unreachable_code)]
//!         Ok::<WebhookResponse, PipelineError>(WebhookResponse::new(Bytes::new()))
//!     });
//!
//! let request = || {
//!     let mut req = WebhookRequest::new(Bytes::from_static(b"{}"));
//!     req.extensions_mut().insert(EventType::new("push"));
//!     req.extensions_mut().insert(DeliveryId::new("72d3162e"));
//!     req.extensions_mut().insert(Rendered::new("GitHub push"));
//!     req
//! };
//! let res = svc.ready().await?.call(request()).await?;
//! assert_eq!(res.status(), StatusCode::ACCEPTED);
//! // The provider redelivers: answered, not queued twice.
//! let res = svc.ready().await?.call(request()).await?;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(queue.depth(), 1);
//! # Ok(())
//! # }
//! ```

mod error;
mod event;
mod factory;
pub mod future;
mod layer;
mod service;
mod settings;

pub use error::{DispatchError, RETRY_AFTER};
pub use factory::{alert_defaults, DispatchFactory};
/// What replaces a secret in a stored event (the one policy is [`genhook_core::redact`]).
pub use genhook_core::redact::REDACTED;
/// `dedup_window`'s duration form: the one grammar of durations, a unit required (`72h`,
/// `3d`, `0`); see [`genhook_core::value`].
pub use genhook_core::value::duration_with_unit as parse_duration;
pub use layer::DispatchLayer;
pub use service::Dispatch;
pub use settings::{DedupBy, DispatchSettings, DEFAULT_DEDUP_WINDOW};
