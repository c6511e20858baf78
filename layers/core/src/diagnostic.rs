//! Where something was written ([`Span`]: `FILE:LINE`) and what is wrong with it
//! ([`Diagnostic`]): the one error form of every configuration and mapping file, and of every
//! stage's load-time settings check.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

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
