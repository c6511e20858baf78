//! Per-source stacks: the [`LayerRegistry`] of named stages, the load-time order check, and the
//! builder that folds a source's `layers =` line into one [`PipelineService`].
//!
//! A request goes through the stages in the order of the `layers =` line, the first name being
//! the outermost layer (axum's "onion"):
//!
//! ```text
//!  request ─► verify ─► rate_limit ─► identify ─► extract ─► template ─► dispatch ─┐
//!                                                                                   │ enqueue
//!  answer  ◄─ verify ◄─ rate_limit ◄─ identify ◄─ extract ◄─ template ◄─ dispatch ◄─┘ (202)
//! ```
//!
//! Every stage declares what it requires and provides ([`genhook_core::Capability`]); a line
//! whose order breaks a stage's needs, names an unknown stage, or does not end with a terminal
//! stage (`dispatch`) is refused at load with `FILE:LINE: message`, all problems at once.
//!
//! The same built stages also fold into a source's [`OfflineStack`] (`genhook render` and the
//! dead-letter replay): up to the stage that renders, ending in a leaf that captures the message.
//!
//! [`PipelineService`]: genhook_core::PipelineService

mod builtin;
mod offline;
mod registry;
mod stacks;
mod timed;

pub use builtin::builtin_registry;
pub use offline::{OfflineStack, RenderProblem, RenderedPayload, Verify, VERIFY};
pub use registry::{BuiltStage, DuplicateLayer, LayerRegistry, DEFAULT_LAYERS};
pub use stacks::{SourceRoute, Stacks};
pub use timed::{Timed, TimedLayer};
