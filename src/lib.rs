//! # GenHook
//!
//! A webhook receiver: providers (GitHub, Stripe, Slack, AWS SNS, Azure Event Grid, …) post to
//! `/webhook/<source>`; each source's stack of tower layers verifies, identifies, extracts and
//! renders the webhook into an SL1 alert and queues it (answering `202`); dispatch workers then
//! deliver the queued alerts to ScienceLogic SL1, retrying, dead-lettering what cannot be sent.
//!
//! ## Architecture
//!
//! ```text
//!            ┌──────────────────────────── server ────────────────────────────┐
//!  provider ─►│ edge (limits, request id, trace) ─► router ─► /webhook/<source> │
//!            └────────────────────────────────────────────────────┬───────────┘
//!                                                                 ▼
//!     per-source stack (stack: LayerRegistry + the `layers =` line of the mapping file)
//!     verify ─► rate_limit ─► identify ─► extract ─► template ─► dispatch ──► queue ──► 202
//!                                                                               │
//!        ┌──────────────────────────────────────────────────────────────────────┘
//!        ▼
//!     worker: slot ► queue.next() ► Retry ► CircuitBreaker ► ConcurrencyLimit ► Adaptive
//!             ► AttemptTimeout ► Sl1Client ──► SL1   (ack │ requeue │ dead_letter ─► admin API)
//!
//!     config ─► app (builder, start) ─► loader (mappings ─► stacks) ◄── reload (SIGHUP, file change)
//!     telemetry: tracing logs and Prometheus metrics for all of the above
//! ```
//!
//! The stages are crates of their own under `layers/` (`genhook-verify`, `genhook-identify`, …),
//! each a tower `Layer` built by a named [`LayerFactory`](core::LayerFactory); they depend only
//! on [`core`] (and the mapping language, [`mapping`]), never on this crate nor on each other.
//! This crate wires them: it reads the configuration, builds the stacks through the registry,
//! serves them and delivers what they queue.
//!
//! ## Module map
//!
//! | module | what it is for |
//! |---|---|
//! | [`app`] | the front door: [`GenHook::builder`], start, the running server and its shutdown |
//! | [`config`] | `genhook.ini`, its `GENHOOK_*` overrides and the typed [`Config`](config::Config) |
//! | [`loader`] | mapping files to built stacks: the one path of start, reload and `check` |
//! | [`bundled`] | the default mappings built into the binary, served when `mappings_dir` does not exist |
//! | [`stack`] | the [`LayerRegistry`](stack::LayerRegistry) of named stages and the order check |
//! | [`server`] | hyper connections, the edge stack, the routes and the one place that answers errors |
//! | [`queue`] | the queue between `202` and delivery: memory, disk and Redis backends, the DLQ |
//! | [`worker`] | SL1 delivery: the worker pool and its retry / breaker / adaptive-limit stack |
//! | [`admin`] | the admin API over the dead-letter queue (list, show, replay, purge) and the SL1 event policy |
//! | [`console`] | the browser console: its page at `/console` (assets compiled in) and the admin routes it works through (render, mapping files, URL tokens) |
//! | [`deliveries`] | the record of recent deliveries (`GET /admin/deliveries`), with every SL1 attempt |
//! | [`health`] | the counts and the last hour's series of `GET /admin/health` |
//! | [`refused`] | the record of refused requests (`GET /admin/requests`) |
//! | [`journal`] | what both records share: ring, `.jsonl` file and its writer thread, payload caps, the live feed |
//! | [`policy`] | the SL1 event policy of a source, created through SL1's GraphQL API |
//! | [`reload`] | hot reload of the configuration and the mappings |
//! | [`render`] | offline rendering of one payload (`genhook render`, DLQ replay) |
//! | [`cli`] | the `genhook` command line: `serve`, `check`, `render`, `dlq`, `requests`, `migrate`, `sl1`, `mappings`, `health` |
//! | [`telemetry`] | logging and Prometheus metrics |
//! | [`notify`] | systemd readiness (`READY=1`, `STOPPING=1` over `NOTIFY_SOCKET`) |
//!
//! [`core`] and [`mapping`] re-export the `genhook-core` and `genhook-mapping` crates.
//!
//! ## A stage of your own
//!
//! A consumer registers its own [`LayerFactory`](core::LayerFactory) by name through the builder;
//! a mapping's `layers =` line then puts it where it should run. Here a `count` stage, placed
//! after `identify`, counts the webhooks it lets through:
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//!
//! use genhook::config::{env, Config};
//! use genhook::core::{
//!     BuildContext, BuildError, Capability, LayerFactory, PipelineLayer, WebhookRequest,
//! };
//! use genhook::GenHook;
//! use tower::util::{BoxCloneSyncServiceLayer, MapRequestLayer};
//!
//! /// The `count` stage: needs the event type, so it must come after `identify`.
//! struct Count(Arc<AtomicUsize>);
//!
//! impl LayerFactory for Count {
//!     fn name(&self) -> &'static str {
//!         "count"
//!     }
//!
//!     fn requires(&self) -> &'static [Capability] {
//!         &[Capability::IDENTIFIED]
//!     }
//!
//!     fn build(&self, _cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
//!         let seen = Arc::clone(&self.0);
//!         Ok(BoxCloneSyncServiceLayer::new(MapRequestLayer::new(
//!             move |request: WebhookRequest| {
//!                 seen.fetch_add(1, Ordering::Relaxed);
//!                 request
//!             },
//!         )))
//!     }
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(
//!     dir.path().join("shop.ini"),
//!     "[shop]\nlayers = verify, identify, count, extract, template, dispatch\n\
//!      event = type\n*: type,id::Shop $type$ $id$\n",
//! )?;
//! let keys = [
//!     ("GENHOOK_SERVER_HOST", "127.0.0.1".to_owned()),
//!     ("GENHOOK_SERVER_PORT", "0".to_owned()),
//!     ("GENHOOK_QUEUE_BACKEND", "memory".to_owned()),
//!     ("GENHOOK_RELOAD", "false".to_owned()),
//!     ("GENHOOK_MAPPINGS_DIR", dir.path().display().to_string()),
//!     ("GENHOOK_DATA_DIR", dir.path().join("data").display().to_string()),
//! ];
//! let config = Config::load(None, &env::from_pairs(keys))
//!     .map_err(|problems| format!("{problems:?}"))?;
//!
//! let seen = Arc::new(AtomicUsize::new(0));
//! let running = GenHook::builder(config)
//!     .env(Arc::new(env::empty))
//!     .register_layer(Count(Arc::clone(&seen)))?
//!     .start()
//!     .await?;
//!
//! let answer = reqwest::Client::new()
//!     .post(format!("http://{}/webhook/shop", running.local_addr()))
//!     .header("content-type", "application/json")
//!     .body(r#"{"type":"order.paid","id":"o-1"}"#)
//!     .send()
//!     .await?;
//! assert_eq!(answer.status(), 202);
//! assert_eq!(seen.load(Ordering::Relaxed), 1);
//! running.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! `examples/custom_layer.rs` is the same as a program; `tests/custom_layer.rs` checks the
//! position a stage runs at and the refusal of a `layers =` line that breaks its needs.

#[macro_use]
mod named;

pub mod admin;
pub mod app;
pub mod bundled;
pub mod cli;
pub mod config;
pub mod console;
pub mod deliveries;
pub mod health;
pub mod journal;
pub mod loader;
pub mod notify;
pub mod policy;
pub mod queue;
pub mod refused;
pub mod reload;
pub mod render;
pub mod server;
pub mod stack;
pub mod telemetry;
pub mod worker;

pub use genhook_core as core;
pub use genhook_mapping as mapping;

pub use app::GenHook;
