//! # GenHook
//!
//! (crate docs being written)

pub mod admin;
pub mod cli;
pub mod config;
pub mod queue;
pub mod server;
pub mod stack;
pub mod worker;

pub use genhook_core as core;
pub use genhook_mapping as mapping;
