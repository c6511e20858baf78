//! # genhook-mapping: the mapping language
//!
//! SKELETON: the public API other crates build against. The implementation is being written.

pub mod ini;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

/// Where something was written: a file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// The file.
    pub file: Arc<Path>,
    /// The 1-based line.
    pub line: u32,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A `key = value` setting of a source section, `${ENV}` already expanded.
#[derive(Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value, trimmed.
    pub value: String,
    /// Where it was written.
    pub span: Span,
}

impl fmt::Debug for Setting {
    /// Values may hold secrets: `Debug` shows only where the setting is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setting")
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// `genhook check` still exits 0.
    Warning,
    /// The file is refused.
    Error,
}

/// A problem found in a configuration or mapping file, printed `FILE:LINE: message`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    /// Where.
    pub span: Span,
    /// How bad.
    pub severity: Severity,
    /// What, in one lower-case sentence without a trailing period.
    pub message: String,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Self {
            span,
            severity: Severity::Error,
            message: message.into(),
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Self {
            span,
            severity: Severity::Warning,
            message: message.into(),
        }
    }

    /// Whether it is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "{}: {}", self.span, self.message),
            Severity::Warning => write!(f, "{}: warning: {}", self.span, self.message),
        }
    }
}

impl std::error::Error for Diagnostic {}

/// How mapping files are loaded.
#[derive(Clone, Copy)]
pub struct LoadOptions<'a> {
    /// Looks up `${NAME}` in values (the process environment in production).
    pub env: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// Section keys known besides the language's own (those the registered stages read).
    pub extra_keys: &'a [&'a str],
}

impl fmt::Debug for LoadOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadOptions")
            .field("extra_keys", &self.extra_keys)
            .finish_non_exhaustive()
    }
}

/// Mapping files loaded without errors, and the warnings found.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The compiled mappings.
    pub mappings: MappingSet,
    /// Warnings (e.g. a declared field no template uses).
    pub warnings: Vec<Diagnostic>,
}

/// Every source's compiled mapping.
#[derive(Debug, Clone, Default)]
pub struct MappingSet {
    sources: BTreeMap<String, Arc<CompiledSource>>,
}

impl MappingSet {
    /// Loads every `*.ini` file of a directory, in name order.
    ///
    /// # Errors
    /// Every error found in every file (warnings included), sorted by file and line.
    pub fn load_dir(dir: &Path, options: &LoadOptions<'_>) -> Result<Loaded, Vec<Diagnostic>> {
        let _ = (dir, options);
        Ok(Loaded {
            mappings: Self::default(),
            warnings: Vec::new(),
        })
    }

    /// Loads the given files.
    ///
    /// # Errors
    /// Every error found, sorted by file and line.
    pub fn load_files(
        files: &[PathBuf],
        options: &LoadOptions<'_>,
    ) -> Result<Loaded, Vec<Diagnostic>> {
        let _ = (files, options);
        Ok(Loaded {
            mappings: Self::default(),
            warnings: Vec::new(),
        })
    }

    /// Loads one file's text (`file` is only used in diagnostics).
    ///
    /// # Errors
    /// Every error found, sorted by line.
    pub fn parse_str(
        file: &Path,
        text: &str,
        options: &LoadOptions<'_>,
    ) -> Result<Loaded, Vec<Diagnostic>> {
        let _ = (file, text, options);
        Ok(Loaded {
            mappings: Self::default(),
            warnings: Vec::new(),
        })
    }

    /// A source by name.
    pub fn source(&self, name: &str) -> Option<&Arc<CompiledSource>> {
        self.sources.get(name)
    }

    /// Every source, by name.
    pub fn sources(&self) -> impl Iterator<Item = &Arc<CompiledSource>> {
        self.sources.values()
    }
}

/// One source's compiled mapping: its settings and its event lines.
#[derive(Debug)]
pub struct CompiledSource {
    name: String,
    span: Span,
    settings: BTreeMap<String, Setting>,
    lines: Vec<Arc<CompiledLine>>,
}

impl CompiledSource {
    /// The source's name (the section name, or the key of a line outside any section).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the source was declared (its section header, or its first line).
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// A setting, if set.
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    /// Every setting, by key.
    pub fn settings(&self) -> impl Iterator<Item = (&str, &Setting)> {
        self.settings.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The mapping line for an event type: an exact key first, then the most specific glob
    /// (`payment_intent.*`), then `*`, then a line that maps every event of the source.
    pub fn select(&self, event: &str) -> Option<&Arc<CompiledLine>> {
        let _ = event;
        self.lines.first()
    }

    /// Every mapping line, in file order.
    pub fn lines(&self) -> &[Arc<CompiledLine>] {
        &self.lines
    }

    /// The URL token (`token =`, or a legacy `[webhooks]` line's token): the source is then
    /// served at `/webhook/{source}/{token}` only.
    pub fn token(&self) -> Option<&str> {
        self.setting("token").map(|s| s.value.as_str())
    }

    /// The SL1 `aligned_resource` from `align = org:ID | device:ID`, e.g. `/api/organization/42`.
    pub fn aligned_resource(&self) -> Option<String> {
        None
    }

    /// The stage names of `layers =`, with where it was written; `None` when not set.
    pub fn layers(&self) -> Option<(Vec<String>, &Span)> {
        self.setting("layers").map(|s| {
            (
                s.value
                    .split(',')
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty())
                    .collect(),
                &s.span,
            )
        })
    }
}

/// One compiled mapping line: the field extraction and the message template.
#[derive(Debug)]
pub struct CompiledLine {
    key: String,
    span: Span,
}

impl CompiledLine {
    /// The line's key: an event type, a glob, `*`, or the source name for a line outside any
    /// section.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where the line was written.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// A JSON object holding only the declared fields, the payload's shape kept.
    pub fn extract(&self, payload: &Value) -> Value {
        let _ = payload;
        Value::Object(serde_json::Map::new())
    }

    /// Renders the message from extracted fields.
    ///
    /// # Errors
    /// When a helper fails (e.g. a raw `{{…}}` expression given a wrong argument).
    pub fn render(&self, fields: &Value) -> Result<String, RenderError> {
        let _ = fields;
        Ok(String::new())
    }
}

/// Rendering a template failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template of {span} failed: {reason}")]
pub struct RenderError {
    /// The line whose template failed.
    pub span: Span,
    /// Why.
    pub reason: String,
}
