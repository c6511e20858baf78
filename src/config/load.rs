//! Loading: the INI file (through the shared lexer), then the `GENHOOK_*` overrides, then the
//! checks between keys. Every problem is collected; none stops the others from being found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use genhook_core::ini::{self, IniLine};
use genhook_core::{Diagnostic, Span};

use super::checks::cross_check;
use super::defaults::CONFIG_FILE;
use super::env::var_name;
use super::keys::{self, KEYS};
use super::model::{Config, Origin};
use super::predecessor;
use super::value;

/// The environment as the loader sees it: a variable's value by name.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The pseudo-file of diagnostics about environment variables (line 0).
pub const ENVIRONMENT: &str = "environment";

/// One value to apply, with where it came from.
struct Assignment {
    value: String,
    origin: Origin,
}

/// Everything read so far, by canonical key.
#[derive(Default)]
struct Collected {
    keys: BTreeMap<&'static str, Assignment>,
    max_concurrent: BTreeMap<String, Assignment>,
    problems: Vec<Diagnostic>,
}

impl Config {
    /// Loads the configuration: `path` if given, else `./genhook.ini` if it exists, else the
    /// built-in defaults; then applies the `GENHOOK_<KEY>` overrides found through `env`
    /// (pass [`env::lookup`](super::env::lookup) in production).
    ///
    /// This reads a file with blocking I/O: call it at start-up or from `spawn_blocking`.
    ///
    /// # Errors
    /// Every problem found, sorted by file and line, each printed `FILE:LINE: message`
    /// (environment problems are `environment:0: GENHOOK_KEY: message`).
    pub fn load(path: Option<&Path>, env: Env<'_>) -> Result<Self, Vec<Diagnostic>> {
        let chosen = choose_file(path, Path::new(CONFIG_FILE));
        let Some(file) = chosen.or_else(|| predecessor::beside_mappings(env)) else {
            return Self::from_parts(None, "", env);
        };
        match std::fs::read_to_string(&file) {
            Ok(text) => Self::from_parts(Some(&file), &text, env),
            Err(e) => Err(vec![Diagnostic::error(
                span(&file, 0),
                format!("cannot read the configuration file: {e}"),
            )]),
        }
    }

    /// Loads the configuration as [`Config::load`] does, but returns it even when some values
    /// are wrong, with every problem (`genhook check`): a key whose value was refused keeps its
    /// default. Such a configuration is for checking the rest, never for serving.
    ///
    /// # Errors
    /// The configuration file cannot be read (reported at `FILE:0`).
    pub fn check(path: Option<&Path>, env: Env<'_>) -> Result<(Self, Vec<Diagnostic>), Diagnostic> {
        let chosen = choose_file(path, Path::new(CONFIG_FILE));
        let Some(file) = chosen.or_else(|| predecessor::beside_mappings(env)) else {
            return Ok(Self::checked_parts(None, "", env));
        };
        match std::fs::read_to_string(&file) {
            Ok(text) => Ok(Self::checked_parts(Some(&file), &text, env)),
            Err(e) => Err(Diagnostic::error(
                span(&file, 0),
                format!("cannot read the configuration file: {e}"),
            )),
        }
    }

    /// Parses configuration text as if read from `file` (used in diagnostics only), then
    /// applies the environment overrides.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn parse_str(file: &Path, text: &str, env: Env<'_>) -> Result<Self, Vec<Diagnostic>> {
        Self::from_parts(Some(file), text, env)
    }

    /// Checks between keys that [`Config::load`] also runs: TLS files present and existing,
    /// the SL1 CA file existing, SL1 credentials complete.
    ///
    /// # Errors
    /// Every problem found.
    pub fn validate(&self) -> Result<(), Vec<Diagnostic>> {
        let problems = cross_check(self);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn from_parts(file: Option<&Path>, text: &str, env: Env<'_>) -> Result<Self, Vec<Diagnostic>> {
        let (config, problems) = Self::checked_parts(file, text, env);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// The configuration with every value that parsed, and every problem, sorted.
    fn checked_parts(file: Option<&Path>, text: &str, env: Env<'_>) -> (Self, Vec<Diagnostic>) {
        let mut collected = Collected::default();
        let mut translated = predecessor::Translated::default();
        if let Some(file) = file {
            // Editors on Windows may start the file with a byte-order mark.
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            translated = predecessor::translate(file, text);
            read_file(file, &translated.text, &mut collected);
        }
        read_env(env, &mut collected);
        let mut config = Self::defaults();
        config.file = file.map(Path::to_path_buf);
        let mut problems = apply(&mut config, collected);
        if translated.is_predecessor() {
            predecessor::mappings_beside(&mut config);
            config.predecessor_notices = translated.notices;
        }
        problems.extend(cross_check(&config));
        problems.sort();
        (config, problems)
    }
}

/// The file to read: the explicit one (even if missing: that is an error), else the default
/// file if it exists, else none (built-in defaults).
fn choose_file(explicit: Option<&Path>, default: &Path) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(default.to_path_buf()).filter(|p| p.is_file()),
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
fn locate(origin: &Origin) -> (Span, &str) {
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

/// Reads the file's lines into `collected`.
fn read_file(file: &Path, text: &str, collected: &mut Collected) {
    for line in ini::lines(text) {
        let (line, entry) = match line {
            // Sections group keys for the reader (Python's configparser needs one); key names
            // are unique across them, so they carry no meaning here.
            IniLine::Section { .. } => continue,
            IniLine::BadSection { line, text } => {
                collected.problems.push(Diagnostic::error(
                    span(file, line),
                    format!("malformed section header (missing `]`): {text:?}"),
                ));
                continue;
            }
            IniLine::Entry { line, text } => (line, text),
        };
        let Some((key, raw)) = ini::split_key_value(entry) else {
            collected.problems.push(Diagnostic::error(
                span(file, line),
                "expected `key = value`".to_owned(),
            ));
            continue;
        };
        let written = key.to_ascii_lowercase();
        let origin = Origin::File {
            span: span(file, line),
            written: written.clone(),
        };
        let value = match ini::setting_value(raw) {
            Ok(value) => value.to_owned(),
            Err(message) => {
                collected.problems.push(problem(&origin, message));
                continue;
            }
        };
        if let Some(key) = keys::find(&written) {
            set_once(
                &mut collected.keys,
                key.name,
                value,
                origin,
                &mut collected.problems,
            );
        } else if let Some(source) = keys::max_concurrent_source(&written) {
            let source = source.to_owned();
            set_once(
                &mut collected.max_concurrent,
                source,
                value,
                origin,
                &mut collected.problems,
            );
        } else {
            collected
                .problems
                .push(problem(&origin, &unknown_key_message(&written)));
        }
    }
}

/// Records a value unless the key (or its alias) was set already, which is a problem.
fn set_once<K: Ord>(
    map: &mut BTreeMap<K, Assignment>,
    key: K,
    value: String,
    origin: Origin,
    problems: &mut Vec<Diagnostic>,
) {
    if let Some(first) = map.get(&key) {
        let (first_span, first_name) = locate(&first.origin);
        let (_, name) = locate(&origin);
        let message = if first_name == name {
            format!("set twice (first at {first_span})")
        } else {
            format!("same setting as {first_name} (set at {first_span}); set only one of the two")
        };
        problems.push(problem(&origin, &message));
        return;
    }
    map.insert(key, Assignment { value, origin });
}

/// `unknown key "x"`, with a suggestion when a known key is one or two edits away.
fn unknown_key_message(key: &str) -> String {
    let closest = keys::key_names()
        .into_iter()
        .map(|known| (edit_distance(key, known), known))
        .min();
    match closest {
        Some((distance, known)) if distance <= 2 => {
            format!("unknown key (did you mean `{known}`?)")
        }
        _ => "unknown key".to_owned(),
    }
}

/// Levenshtein distance of two short ASCII strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let delete = previous.get(j + 1).copied().unwrap_or(0) + 1;
            let insert = current.get(j).copied().unwrap_or(0) + 1;
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

/// Applies `GENHOOK_<KEY>` overrides: for every key and alias, and for every
/// `<source>_max_concurrent` the file names (the environment cannot be listed).
fn read_env(env: Env<'_>, collected: &mut Collected) {
    for key in KEYS {
        let mut found: Option<(String, String)> = None;
        for name in std::iter::once(key.name).chain(key.alias) {
            let var = var_name(name);
            let Some(value) = env(&var) else { continue };
            if let Some((first, _)) = &found {
                collected.problems.push(problem(
                    &Origin::Env { var: var.clone() },
                    &format!("same setting as {first}; set only one of the two"),
                ));
                continue;
            }
            found = Some((var, value));
        }
        if let Some((var, value)) = found {
            let assignment = Assignment {
                value: value.trim().to_owned(),
                origin: Origin::Env { var },
            };
            collected.keys.insert(key.name, assignment);
        }
    }
    for (source, assignment) in &mut collected.max_concurrent {
        let var = var_name(&format!("{source}{}", keys::MAX_CONCURRENT_SUFFIX));
        if let Some(value) = env(&var) {
            *assignment = Assignment {
                value: value.trim().to_owned(),
                origin: Origin::Env { var },
            };
        }
    }
}

/// Parses every collected value into `config`; returns the problems.
fn apply(config: &mut Config, collected: Collected) -> Vec<Diagnostic> {
    let Collected {
        keys: collected_keys,
        max_concurrent,
        mut problems,
    } = collected;
    for (name, assignment) in collected_keys {
        let Some(key) = keys::find(name) else {
            continue;
        };
        match (key.set)(config, &assignment.value) {
            Ok(()) => {
                config.origins.0.insert(name.to_owned(), assignment.origin);
            }
            Err(message) => problems.push(problem(&assignment.origin, &message)),
        }
    }
    for (source, assignment) in max_concurrent {
        match value::count::<usize>(&assignment.value, 1) {
            Ok(limit) => {
                config.max_concurrent.insert(source.clone(), limit);
                let key = format!("{source}{}", keys::MAX_CONCURRENT_SUFFIX);
                config.origins.0.insert(key, assignment.origin);
            }
            Err(message) => problems.push(problem(&assignment.origin, &message)),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_default_file_is_read_only_when_present_and_not_asked_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let default = dir.path().join("genhook.ini");
        let explicit = dir.path().join("other.ini");
        assert_eq!(choose_file(None, &default), None);
        assert_eq!(
            choose_file(Some(&explicit), &default),
            Some(explicit.clone())
        );
        std::fs::write(&default, "").unwrap();
        assert_eq!(choose_file(None, &default), Some(default.clone()));
        assert_eq!(choose_file(Some(&explicit), &default), Some(explicit));
        // A directory of that name is not a configuration file.
        let as_dir = dir.path().join("dir.ini");
        std::fs::create_dir(&as_dir).unwrap();
        assert_eq!(choose_file(None, &as_dir), None);
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("sever_port", "server_port"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(
            unknown_key_message("sever_port"),
            "unknown key (did you mean `server_port`?)"
        );
        assert_eq!(unknown_key_message("colour"), "unknown key");
    }
}
