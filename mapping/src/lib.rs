//! # genhook-mapping: the mapping language
//!
//! Operators turn a provider's webhook into one line of text for SL1 by writing a mapping, never
//! code. Mappings live in `mappings/*.ini` files and are compiled once, at load or reload: field
//! lists into extraction trees, templates into handlebars templates. Nothing is parsed or
//! compiled per request.
//!
//! ## A mapping line
//!
//! ```ini
//! github: action,pull_request{title,user{login}},repository{name}::GitHub $action$ on $repository.name$: "$pull_request.title$" by $pull_request.user.login$
//! ```
//!
//! `KEY: fields::template` (or `KEY = fields::template`). A field may also be a JSONPath
//! expression named for the template (`bug=$.issue.labels[?(@.name=='bug')].name`, see
//! `jsonpath.rs`), compiled at load. Outside any section the key names a
//! source and the line maps every event of it. Inside a `[source]` section the key is an event
//! type, a glob such as `payment_intent.*`, or `*` (the fallback). See [`fields`] for the field
//! list grammar and [`template`] for templates.
//!
//! Loading, selecting, extracting and rendering:
//!
//! ```
//! use std::path::Path;
//! use genhook_mapping::{LoadOptions, MappingSet};
//!
//! let text = "slack: event{type,user,text}::Slack $event.type$ from user $event.user$: \"$event.text$\"\n";
//! let options = LoadOptions { env: &|_| None, extra_keys: &[] };
//! let loaded = MappingSet::parse_str(Path::new("slack.ini"), text, &options).unwrap();
//! let line = loaded.mappings.source("slack").unwrap().select("message").unwrap();
//! let payload = serde_json::json!({"event": {"type": "message", "user": "U1", "text": "hi", "ts": "1"}});
//! let fields = line.extract(&payload);
//! assert_eq!(fields, serde_json::json!({"event": {"type": "message", "user": "U1", "text": "hi"}}));
//! assert_eq!(line.render(&fields).unwrap(), "Slack message from user U1: \"hi\"");
//! ```
//!
//! ## Sections
//!
//! ```ini
//! [github]
//! verify = github
//! secret = ${GENHOOK_GITHUB_SECRET}   ; ${NAME} is read from the environment
//! align = org:42                      ; SL1 aligned_resource /api/organization/42
//! missing = (none)                    ; what a missing field renders as
//! unmapped = ignore                   ; reject (422, the default) | ignore (202 "ignored")
//! pull_request: action,pull_request{title},repository{name}::GitHub $action$ on $repository.name$: "$pull_request.title$"
//! *: action,repository{name}::GitHub $action$ event on $repository.name$
//! ```
//!
//! [`CompiledSource::select`] picks the exact event key, then the most specific glob, then `*`,
//! then the source's line written outside any section.
//!
//! The language owns the keys `layers`, `token`, `align`, `missing`, `message_prefix`, `unmapped`
//! and SL1's
//! `force_ytype`, `force_yid`, `force_yname`, `value`, `threshold`, `message_time`; the stages
//! register theirs through [`LoadOptions::extra_keys`]. Any other key is an error.
//!
//! ## The predecessor's files
//!
//! ```ini
//! [webhooks]
//! github_s3cr3t|org:7|action,repository{name}|GitHub $action$ on $repository.name$
//! ```
//!
//! `service_token|alignment|fields|template` (also `service/token` and `service:token`): the line
//! maps every event of source `service`, served at `/webhook/service/token`, aligned to
//! `org:ID` / `device:ID` when given (the default alignment when empty). A service may have
//! several tokens, each its own route with its own alignment, fields and template
//! ([`MappingSet::keyed`]). These lines keep the predecessor's message form unless the source's
//! section says otherwise: `message_prefix = service|token|` (its SL1 event policies match
//! `identifierPattern ".*\|.*\|(.*)"`) and `missing = -`.
//!
//! In a directory, the predecessor's `app-config*.ini` and `web-config*.ini` are skipped: they
//! are its settings, not mappings.
//!
//! ## Problems
//!
//! Every problem of every file is reported as `FILE:LINE: message` (warnings as
//! `FILE:LINE: warning: message`), sorted; a load with any error fails with all of them. The full
//! list of messages is in `docs/mapping-language.md`. [`MappingSet::check_dir`] also keeps what
//! compiled beside the errors ([`Checked`]), so that `genhook check` can check the stages'
//! settings of a source whose lines have errors.

pub mod fields;
pub mod template;

mod check;
mod compile;
mod jsonpath;
mod lazy;
mod line;
mod parse;
mod select;
mod stage;
mod unmapped;

pub use check::Check;
pub use compile::OWN_KEYS;
pub use fields::FieldTree;
/// The span-keeping INI lexer this language shares with the configuration file.
pub use genhook_core::ini;
pub use genhook_core::{Diagnostic, Section, Setting, Severity, Span};
pub use line::{CompiledLine, RenderError};
pub use stage::Fields;
pub use unmapped::Unmapped;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Mapping files checked to the end, errors or not: what `genhook check` reports from.
///
/// `mappings` holds every source that was declared in a valid section, with the settings and
/// lines that compiled; a line or setting with an error is left out (and reported in
/// `diagnostics`), so it must never be served: [`Checked::into_loaded`] refuses a set with
/// any error.
#[derive(Debug, Clone)]
pub struct Checked {
    /// What compiled.
    pub mappings: MappingSet,
    /// Every error and warning, sorted by file and line.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The mappings when nothing is an error, with the warnings.
    ///
    /// # Errors
    /// Every diagnostic, warnings included, when any is an error.
    pub fn into_loaded(self) -> Result<Loaded, Vec<Diagnostic>> {
        if self.has_errors() {
            return Err(self.diagnostics);
        }
        Ok(Loaded {
            mappings: self.mappings,
            warnings: self.diagnostics,
        })
    }
}

/// Whether a file is one of the Python predecessor's own settings files, which sit beside its
/// `webhook-config.ini` and hold no mapping: `app-config*.ini` (read as the configuration) and
/// `web-config*.ini` (its web editor's, with no equivalent).
pub fn is_predecessor_settings(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.starts_with("app-config") || name.starts_with("web-config"))
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
    /// Every error found in every file (warnings included), sorted by file and line; a directory
    /// that cannot be read is reported at `DIR:0`.
    pub fn load_dir(dir: &Path, options: &LoadOptions<'_>) -> Result<Loaded, Vec<Diagnostic>> {
        Self::check_dir(dir, options)
            .map_err(|unreadable| vec![unreadable])?
            .into_loaded()
    }

    /// Checks every `*.ini` file of a directory, in name order, and keeps what compiled even
    /// when some of it did not (see [`Checked`]): `genhook check` builds the stages of those
    /// sources too, so that one file's errors never hide another's.
    ///
    /// # Errors
    /// The directory cannot be read (reported at `DIR:0`).
    pub fn check_dir(dir: &Path, options: &LoadOptions<'_>) -> Result<Checked, Diagnostic> {
        let files = Self::dir_files(dir)?;
        Ok(Self::check_files(&files, options))
    }

    /// Checks a directory as [`check_dir`](Self::check_dir) does, as if the file `replaced`
    /// (a path in `dir`) held `text` instead of what it holds on disk: added when it is not
    /// there, left out when `text` is `None`. What the admin API validates before it writes or
    /// deletes a mapping file, so that nothing invalid ever reaches the directory.
    ///
    /// # Errors
    /// The directory cannot be read (reported at `DIR:0`).
    pub fn check_dir_with(
        dir: &Path,
        replaced: &Path,
        text: Option<&str>,
        options: &LoadOptions<'_>,
    ) -> Result<Checked, Diagnostic> {
        let mut files = Self::dir_files(dir)?;
        files.retain(|file| file != replaced);
        if text.is_some() {
            files.push(replaced.to_owned());
            files.sort();
        }
        let read = |file: &Path| match text {
            Some(text) if file == replaced => Ok(text.to_owned()),
            _ => std::fs::read_to_string(file),
        };
        Ok(Self::check_read(&files, read, options))
    }

    /// The mapping files of a directory, in name order.
    fn dir_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
        let entries = Self::read_dir(dir)?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "ini") && path.is_file())
            .filter(|path| !is_predecessor_settings(path))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Opens a mappings directory, or says at `DIR:0` why it cannot be read: also what
    /// `genhook serve` asks first, before it creates anything on disk.
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn read_dir(dir: &Path) -> Result<std::fs::ReadDir, Diagnostic> {
        std::fs::read_dir(dir).map_err(|e| {
            Diagnostic::error(
                Span {
                    file: Arc::from(dir),
                    line: 0,
                },
                format!("cannot read directory: {e}"),
            )
        })
    }

    /// Loads the given files; a source may be spread over several of them.
    ///
    /// # Errors
    /// Every error found, sorted by file and line; a file that cannot be read is reported at
    /// `FILE:0`.
    pub fn load_files(
        files: &[PathBuf],
        options: &LoadOptions<'_>,
    ) -> Result<Loaded, Vec<Diagnostic>> {
        Self::check_files(files, options).into_loaded()
    }

    /// Checks the given files and keeps what compiled (see [`Checked`]); a file that cannot be
    /// read is reported at `FILE:0`.
    pub fn check_files(files: &[PathBuf], options: &LoadOptions<'_>) -> Checked {
        Self::check_read(files, |file| std::fs::read_to_string(file), options)
    }

    fn check_read(
        files: &[PathBuf],
        read: impl Fn(&Path) -> std::io::Result<String>,
        options: &LoadOptions<'_>,
    ) -> Checked {
        let mut diagnostics = Vec::new();
        let mut raw = parse::RawSources::new();
        let is_key = |key: &str| compile::is_setting_key(key, options);
        for file in files {
            match read(file) {
                Ok(text) => parse::parse_file(file, &text, &is_key, &mut raw, &mut diagnostics),
                Err(e) => diagnostics.push(Diagnostic::error(
                    Span {
                        file: Arc::from(file.as_path()),
                        line: 0,
                    },
                    format!("cannot read file: {e}"),
                )),
            }
        }
        Self::finish(raw, options, diagnostics)
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
        Self::check_str(file, text, options).into_loaded()
    }

    /// Checks one file's text to the end and keeps what compiled (see [`Checked`]; `file` is
    /// only used in diagnostics).
    pub fn check_str(file: &Path, text: &str, options: &LoadOptions<'_>) -> Checked {
        let mut diagnostics = Vec::new();
        let mut raw = parse::RawSources::new();
        let is_key = |key: &str| compile::is_setting_key(key, options);
        parse::parse_file(file, text, &is_key, &mut raw, &mut diagnostics);
        Self::finish(raw, options, diagnostics)
    }

    fn finish(
        raw: parse::RawSources,
        options: &LoadOptions<'_>,
        mut diagnostics: Vec<Diagnostic>,
    ) -> Checked {
        let sources = compile::compile(raw, options, &mut diagnostics);
        diagnostics.sort();
        diagnostics.dedup();
        Checked {
            mappings: Self { sources },
            diagnostics,
        }
    }

    /// A source by name.
    pub fn source(&self, name: &str) -> Option<&Arc<CompiledSource>> {
        self.sources.get(name)
    }

    /// Every source, by name.
    pub fn sources(&self) -> impl Iterator<Item = &Arc<CompiledSource>> {
        self.sources.values()
    }

    /// Every source with the key it is kept under: its name, or `service#N` for a predecessor
    /// service's N-th token (several routes served under one name).
    pub fn keyed(&self) -> impl Iterator<Item = (&str, &Arc<CompiledSource>)> {
        self.sources
            .iter()
            .map(|(key, source)| (key.as_str(), source))
    }

    /// Whether no source is mapped.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

/// One source's compiled mapping: its settings and its event lines.
#[derive(Debug)]
pub struct CompiledSource {
    section: Section,
    lines: Vec<Arc<CompiledLine>>,
    selector: select::Selector,
    aligned_resource: Option<String>,
    unmapped: Unmapped,
    missing: String,
    unresolved: bool,
    max_concurrent: Option<usize>,
}

impl CompiledSource {
    /// The source's name (the section name, or the key of a line outside any section).
    pub fn name(&self) -> &str {
        self.section.name()
    }

    /// Where the source was declared (its section header, or its first line).
    pub fn span(&self) -> &Span {
        self.section.span()
    }

    /// The source's section (name and settings): what its stages are built from.
    pub fn section(&self) -> &Section {
        &self.section
    }

    /// `max_concurrent = N`: the source's limit on SL1 deliveries in flight, if set (validated
    /// as a positive whole number). It wins over the configuration's `<source>_max_concurrent`.
    pub fn max_concurrent(&self) -> Option<usize> {
        self.max_concurrent
    }

    /// A setting, if set.
    pub fn setting(&self, key: &str) -> Option<&Setting> {
        self.section.setting(key)
    }

    /// Every setting, by key.
    pub fn settings(&self) -> impl Iterator<Item = (&str, &Setting)> {
        self.section.settings()
    }

    /// The mapping line for an event type: an exact key first, then the most specific glob
    /// (`payment_intent.*`), then `*`, then a line that maps every event of the source.
    pub fn select(&self, event: &str) -> Option<&Arc<CompiledLine>> {
        self.selector
            .select(event)
            .and_then(|index| self.lines.get(index))
    }

    /// The key of the line that names `event`: the event type itself, or the glob that matched it
    /// (`payment_intent.*`). `None` when only the `*` line, a line outside any section, or no line
    /// takes it. A value from this mapping, never from the payload: metrics label events with it.
    pub fn naming_key(&self, event: &str) -> Option<&str> {
        self.naming_key_shared(event).map(|key| &**key)
    }

    /// [`CompiledSource::naming_key`] as the line holds it: a label is a reference count, not a
    /// copy per webhook.
    pub fn naming_key_shared(&self, event: &str) -> Option<&Arc<str>> {
        self.select(event)
            .filter(|line| !line.maps_every_event() && line.key() != "*")
            .map(|line| &line.key)
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
        self.aligned_resource.clone()
    }

    /// Whether an event no line maps is answered `202 "ignored"` (`unmapped = ignore`) rather
    /// than `422` (`unmapped = reject`, the default).
    pub fn ignores_unmapped(&self) -> bool {
        self.unmapped == Unmapped::Ignore
    }

    /// What is done with an event no line maps (`unmapped =`; [`Unmapped::Reject`] by default,
    /// and when the value was refused).
    pub fn unmapped(&self) -> Unmapped {
        self.unmapped
    }

    /// What a missing field renders as (`missing =`; empty by default).
    pub fn missing(&self) -> &str {
        &self.missing
    }

    /// Whether a setting was left out because its value could not be resolved (an unset
    /// `${NAME}`): only in a [`Checked`] set with errors. A stage then sees the setting as
    /// missing, so `genhook check` does not report what that causes.
    pub fn has_unresolved_settings(&self) -> bool {
        self.unresolved
    }

    /// The stage names of `layers =`, with where it was written; `None` when not set.
    pub fn layers(&self) -> Option<(Vec<String>, &Span)> {
        self.section.layers()
    }
}
