//! The stage output that names a compiled mapping line: [`Fields`], left by `extract` (or by
//! `identify`, when it extracted them in the pass that checked the body) for `template`.
//!
//! It lives with the language rather than in `genhook-core`, which knows no compiled mapping.

use std::sync::Arc;

use genhook_core::stage::StageOutput;

use crate::CompiledLine;

/// The mapping line chosen for the event and the fields it extracted.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The compiled mapping line that matched the event.
    pub line: Arc<CompiledLine>,
    /// A JSON object holding only the declared fields, the payload's shape kept.
    pub value: Arc<serde_json::Value>,
}

impl StageOutput for Fields {
    const NAME: &'static str = "fields";
}
