//! The library's front door, one file per job:
//!
//! - [`builder`]: [`GenHook::builder`] takes a [`Config`](crate::config::Config), lets a consumer
//!   register its own stages and resources, and [`Builder::start`] starts everything;
//! - [`running`]: the started service ([`Running`]), its reload and its graceful shutdown;
//! - [`settings`]: the one place that turns the configuration into queue, server, worker and
//!   admin settings, read by start-up and by hot reload alike;
//! - [`validation`]: what `genhook check` runs ([`Validation`]): the same loading path as
//!   `serve`, without a socket.

pub mod builder;
pub mod running;
pub mod settings;
pub mod validation;

pub use builder::{Builder, GenHook, StartError};
pub use running::{shutdown_signal, Running, ShutdownReport};
pub use validation::Validation;
