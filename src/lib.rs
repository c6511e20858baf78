//! # GenHook
//!
//! (crate docs being written)

#[macro_use]
mod named;

pub mod admin;
pub mod app;
pub mod cli;
pub mod config;
pub mod loader;
pub mod queue;
pub mod reload;
pub mod render;
pub mod server;
pub mod stack;
pub mod telemetry;
pub mod worker;

pub use genhook_core as core;
pub use genhook_mapping as mapping;
