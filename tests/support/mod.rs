//! Helpers shared by the integration tests (`mod support;` in a `tests/*.rs` file).
//!
//! - [`sl1_mock`]: a real loopback HTTP(S) SL1 (`POST /api/alert`) with scripted answers that
//!   records every request.
//! - [`memory_queue`]: a tiny in-memory `Queue` + `DeadLetters` for tests that need a queue
//!   without a real backend.
//!
//! Not every test uses every helper, hence the `allow`s.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod memory_queue;
pub mod sl1_mock;
