//! SL1 delivery: the dispatch worker pool and the tower stack it delivers through.
//!
//! ```text
//! slot ► queue.next() ─► delivery ─► Retry ► CircuitBreaker ► ConcurrencyLimit ► Adaptive ► AttemptTimeout ► Sl1Client ─► SL1
//!                            │ ack on success, requeue while the circuit is open,
//!                            └ dead_letter on a permanent failure, exhausted retries or `processing_timeout`
//! ```
//!
//! | module | holds |
//! |---|---|
//! | [`settings`] | [`WorkerSettings`], [`ThreadingModel`]: plain data the config maps into |
//! | [`sl1`] | [`Sl1Client`] (the leaf service), [`Sl1Request`] |
//! | [`sl1_error`] | [`Sl1Error`]: why an attempt failed, whether to retry it |
//! | `tls.rs` | the rustls settings of `sl1_ca_file`: its certificates as roots and pinned (self-signed SL1) |
//! | [`policy`] | [`Sl1RetryPolicy`] and [`Backoff`]: retry classification by error type |
//! | [`attempt_timeout`] | the per-attempt timeout: `sl1_timeout`, cut short by the delivery's deadline |
//! | [`breaker`] | a generic circuit-breaker middleware and its shared [`Breaker`] |
//! | [`adaptive`] | [`AdaptiveLimit`]: the AIMD limit on deliveries and attempts in flight, and its middleware |
//! | [`stack`] | the fixed-order stack ([`sl1_stack`], [`Deliverer`]) |
//! | [`outbox`] | alerts to the log and `outbox.jsonl` when `sl1_api_url` is unset |
//! | [`pool`] | [`spawn`] and [`WorkerPool`]: the dispatcher, the threading models, reload and shutdown |
//!
//! GenHook also alerts about itself (circuit open, DLQ over its threshold): see `alerts.rs`.

pub mod adaptive;
mod alerts;
pub mod attempt_timeout;
pub(crate) mod basic_auth;
pub mod breaker;
pub mod outbox;
pub mod policy;
pub mod pool;
pub mod settings;
pub mod sl1;
pub mod sl1_error;
pub mod stack;
pub(crate) mod tls;

pub use adaptive::{Adaptive, AdaptiveLayer, AdaptiveLimit};
pub use alerts::SELF_SOURCE;
pub use attempt_timeout::{AttemptTimeout, AttemptTimeoutLayer};
pub use breaker::{Breaker, BreakerOpen, BreakerState, CircuitBreaker, CircuitBreakerLayer};
pub use outbox::Outbox;
pub use policy::{Backoff, Sl1RetryPolicy};
pub use pool::{spawn, spawn_recording, WorkerControl, WorkerError, WorkerPool};
pub use settings::{ThreadingModel, WorkerSettings};
pub use sl1::{Sl1Client, Sl1Request, Sl1Response, Sl1Try};
pub use sl1_error::Sl1Error;
pub use stack::{sl1_stack, Deliverer, Sl1Stack};
