//! The adaptive limit on SL1 deliveries in flight: AIMD on SL1's answers, in the manner of
//! Vector's adaptive request concurrency.
//!
//! One [`AdaptiveLimit`] is shared by the whole pool. It caps two things with the same number:
//! - the **deliveries** in flight: the dispatcher takes an event from the queue only with a
//!   [`DeliverySlot`] (so no event leaves the queue that could not be sent now, and the queue's
//!   priority order holds);
//! - the **attempts** in flight at SL1: the [`Adaptive`] middleware of the worker stack takes an
//!   attempt slot for each HTTP attempt, so that when the limit falls, deliveries already in flight
//!   (retrying) send less too. A backoff sleep holds no attempt slot.
//!
//! The [`Adaptive`] middleware also measures each attempt (its round-trip time, and whether the
//! error, if any, says SL1 is overloaded) and feeds the [`Controller`]:
//!
//! | signal | change |
//! |---|---|
//! | an overload answer (5xx, 408, 429, timeout, connection error: what the breaker counts) | limit × 0.5 at once, at most once per window |
//! | a window whose mean RTT is above 1.5 × the baseline and 5 ms more (latency climbs) | limit × 0.9 |
//! | a window without either, in which the attempts in flight reached the limit | limit + 1 |
//!
//! A window is `max(limit, 5)` finished attempts (about one round trip when the limit is in
//! use); the baseline is an exponentially weighted mean of the windows' mean RTTs (weight 0.2
//! for the newest), so it follows a lasting change of SL1's latency within a few windows. The
//! limit never goes above `sl1_max_inflight` nor below 1; it starts at `max_worker_threads`.
//! Time is only ever passed in (the middleware reads `tokio::time`), so the controller is driven
//! by synthetic latencies in tests.
//!
//! The gauges `genhook_sl1_inflight_limit` (the limit) and `genhook_sl1_inflight` (attempts in
//! flight at SL1) follow it.
//!
//! ```
//! use std::time::Duration;
//! use genhook::worker::adaptive::{Controller, Signal};
//!
//! let mut controller = Controller::new(4, 16);
//! for _ in 0..5 {
//!     controller.started();
//!     controller.ended();
//!     controller.record(Duration::from_millis(20), Signal::Answered);
//! }
//! assert_eq!(controller.limit(), 4, "the limit was not reached: no growth");
//! controller.record(Duration::from_millis(20), Signal::Overloaded);
//! assert_eq!(controller.limit(), 2, "halved");
//! ```
//!
//! `controller.rs` holds the arithmetic ([`Controller`]), `limit.rs` the shared limit and its
//! slots ([`AdaptiveLimit`]), `layer.rs` the middleware ([`Adaptive`]).

mod controller;
mod layer;
mod limit;

pub use controller::{
    Controller, Signal, BASELINE_WEIGHT, LATENCY_DECREASE, LATENCY_TOLERANCE, MIN_LATENCY_CLIMB,
    MIN_WINDOW, OVERLOAD_DECREASE,
};
pub use layer::{Adaptive, AdaptiveLayer};
pub use limit::{AdaptiveLimit, AttemptSlot, DeliverySlot};
