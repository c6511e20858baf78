//! The contract of a named stage: a [`LayerFactory`] builds one stage of a per-source stack from
//! that source's settings, once, at load time. Built-in stages and a library consumer's own
//! stages use the same contract and are named the same way on a mapping's `layers =` line.

use crate::diagnostic::Diagnostic;
use crate::setting::{Section, Setting};
use crate::PipelineLayer;

/// A load-time error with the `FILE:LINE` it is about.
pub type BuildError = Diagnostic;

/// Something a stage leaves on the request for the stages after it; the load-time order check
/// compares what each stage requires with what earlier stages provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Capability(&'static str);

impl Capability {
    /// The signature checked out (`verify`).
    pub const VERIFIED: Self = Self("verified");
    /// Source, event type, delivery id and parsed payload are known (`identify`).
    pub const IDENTIFIED: Self = Self("identified");
    /// The mapping's fields were extracted (`extract`).
    pub const EXTRACTED: Self = Self("extracted");
    /// The message was rendered (`template`).
    pub const RENDERED: Self = Self("rendered");

    /// A capability of a consumer's own stage.
    pub const fn custom(name: &'static str) -> Self {
        Self(name)
    }

    /// Its name, as used in error messages.
    pub const fn name(self) -> &'static str {
        self.0
    }
}

/// GenHook's built-in stages, in the order of a source's stack when it has no `layers =` line.
/// None of them reads a [`Payload`](crate::stage::Payload) after `identify` (`extract` reads the
/// [`JsonBody`](crate::stage::JsonBody)), so `identify` leaves one only when a stack names a
/// stage of one's own.
pub const BUILT_IN_STAGES: [&str; 6] = [
    "verify",
    "rate_limit",
    "identify",
    "extract",
    "template",
    "dispatch",
];

/// Builds one named stage of a per-source stack.
pub trait LayerFactory: Send + Sync + 'static {
    /// The name used on a mapping's `layers =` line (`verify`, `rate_limit`, …).
    fn name(&self) -> &'static str;

    /// What earlier stages must have provided.
    fn requires(&self) -> &'static [Capability] {
        &[]
    }

    /// What this stage provides to later stages.
    fn provides(&self) -> &'static [Capability] {
        &[]
    }

    /// The section keys this stage reads (so that `genhook check` knows them).
    fn settings(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the stage ends the stack (its inner service is never called): only valid last.
    fn is_terminal(&self) -> bool {
        false
    }

    /// Builds the stage from the source's settings.
    ///
    /// # Errors
    /// Every problem with the settings, each with its `FILE:LINE`.
    fn build(&self, cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>>;
}

/// What a stage is built from: the source's section (its name and settings, each with its
/// `FILE:LINE`) and typed resources, a type map.
///
/// The resources hold what the running service shares (the queue, the dead letters, …) and
/// what the code that compiled the source's mapping left for the stages that read it (the
/// mapping language's compiled source, for `identify`, `extract` and `dispatch`): a stage asks
/// for the type it needs, and this crate names none of them.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    section: &'a Section,
    resources: &'a http::Extensions,
}

impl<'a> BuildContext<'a> {
    /// A context for one source.
    pub fn new(section: &'a Section, resources: &'a http::Extensions) -> Self {
        Self { section, resources }
    }

    /// The source's section.
    pub fn section(&self) -> &'a Section {
        self.section
    }

    /// The source's name.
    pub fn source_name(&self) -> &'a str {
        self.section.name()
    }

    /// A setting of the source's section, if set.
    pub fn setting(&self, key: &str) -> Option<&'a Setting> {
        self.section.setting(key)
    }

    /// A resource of type `T` (e.g. `Arc<dyn Queue>`), if the service provides one.
    pub fn resource<T: Send + Sync + Clone + 'static>(&self) -> Option<&'a T> {
        self.resources.get::<T>()
    }

    /// An error about a setting, at its `FILE:LINE`.
    pub fn error_at(&self, setting: &Setting, message: impl Into<String>) -> BuildError {
        Diagnostic::error(setting.span.clone(), message)
    }

    /// An error about the source as a whole, at its section header.
    pub fn error(&self, message: impl Into<String>) -> BuildError {
        Diagnostic::error(self.section.span().clone(), message)
    }
}
