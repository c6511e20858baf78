//! Where each setting came from (a line of the file, with the key as written, or an environment
//! variable), and the one way a problem or warning about a value names that place:
//! `FILE:LINE: key: message`, or `environment:0: VARIABLE: message`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use genhook_core::{Diagnostic, Span};

/// The pseudo-file of diagnostics about environment variables (line 0).
pub const ENVIRONMENT: &str = "environment";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A line of the configuration file, with the key as written there (maybe an alias).
    File {
        /// The line.
        span: Span,
        /// The key as written.
        written: String,
    },
    /// An environment variable.
    Env {
        /// The variable's name.
        var: String,
    },
}

/// Where each setting came from, by canonical key. Two configurations with the same settings
/// are equal wherever their settings were written, so this compares equal to any other.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origins(pub(crate) BTreeMap<String, Origin>);

impl PartialEq for Origins {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

/// A span in `file` at `line`.
pub(super) fn span(file: &Path, line: u32) -> Span {
    Span {
        file: Arc::from(file),
        line,
    }
}

/// Where a problem with a value from `origin` is reported, and the name it is reported under.
pub(super) fn locate(origin: &Origin) -> (Span, &str) {
    match origin {
        Origin::File { span, written } => (span.clone(), written),
        Origin::Env { var } => (span(Path::new(ENVIRONMENT), 0), var),
    }
}

/// A problem with the value from `origin`: `FILE:LINE: key: message`.
pub(super) fn problem(origin: &Origin, message: &str) -> Diagnostic {
    let (span, name) = locate(origin);
    Diagnostic::error(span, format!("{name}: {message}"))
}

/// A warning about the value from `origin`.
pub(super) fn warning(origin: &Origin, message: &str) -> Diagnostic {
    let mut diagnostic = problem(origin, message);
    diagnostic.severity = genhook_core::Severity::Warning;
    diagnostic
}
