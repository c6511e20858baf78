//! A source's section as the stages see it: [`Setting`]s (`key = value`, each with its
//! `FILE:LINE`) gathered in a [`Section`] with the source's name.

use std::collections::BTreeMap;
use std::fmt;

use crate::diagnostic::Span;

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

/// One source's section: its name, where it was declared, and its settings by key.
///
/// The mapping language builds one per source; a stage is built from it (through
/// [`BuildContext`](crate::BuildContext)) and never sees the compiled mapping itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    name: String,
    span: Span,
    settings: BTreeMap<String, Setting>,
}

impl Section {
    /// A section named `name`, declared at `span`.
    pub fn new(name: impl Into<String>, span: Span, settings: BTreeMap<String, Setting>) -> Self {
        Self {
            name: name.into(),
            span,
            settings,
        }
    }

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
