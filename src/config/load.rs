//! Loading: the INI file (through the shared lexer), then the `GENHOOK_*` overrides, then the
//! checks between keys. Every problem is collected; none stops the others from being found.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use genhook_core::ini::{self, IniLine};
use genhook_core::{hint, Diagnostic};

use super::checks::cross_check;
use super::defaults::CONFIG_FILE;
use super::env::{var_name, Env};
use super::keys::{self, KEYS};
use super::model::Config;
use super::origin::{locate, problem, span, Origin};
use super::predecessor;
use super::value;

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
    /// Warnings found while reading (an alias pair naming one value, an unknown variable).
    notices: Vec<Diagnostic>,
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
            let assignment = Assignment { value, origin };
            set_once(&mut collected.keys, key.name, assignment, |a, b| {
                keys::same_value(key, a, b)
            })
            .unwrap_or_else(|found| found.report(collected));
        } else if let Some(source) = keys::max_concurrent_source(&written) {
            let source = source.to_owned();
            let assignment = Assignment { value, origin };
            set_once(&mut collected.max_concurrent, source, assignment, |_, _| {
                false
            })
            .unwrap_or_else(|found| found.report(collected));
        } else {
            collected
                .problems
                .push(problem(&origin, &unknown_key_message(&written)));
        }
    }
}

/// What [`set_once`] found when the key was set already.
enum Twice {
    /// The same name again: always an error.
    Repeated(Diagnostic),
    /// Both names of an alias pair with one value: a warning.
    SameValue(Diagnostic),
    /// Both names of an alias pair with different values: an error.
    Conflict(Diagnostic),
}

impl Twice {
    /// Files the finding with the problems or the notices.
    fn report(self, collected: &mut Collected) {
        match self {
            Self::Repeated(d) | Self::Conflict(d) => collected.problems.push(d),
            Self::SameValue(d) => collected.notices.push(d),
        }
    }
}

/// Records a value unless the key (or its alias) was set already. A second name of an alias
/// pair naming the same value (`same`) is accepted with a warning; any other repeat is an error.
/// Either way the first value stays.
fn set_once<K: Ord>(
    map: &mut BTreeMap<K, Assignment>,
    key: K,
    assignment: Assignment,
    same: impl Fn(&str, &str) -> bool,
) -> Result<(), Twice> {
    let Some(first) = map.get(&key) else {
        map.insert(key, assignment);
        return Ok(());
    };
    Err(twice(
        first,
        &assignment,
        same(&first.value, &assignment.value),
    ))
}

/// The finding about `second` setting what `first` set.
fn twice(first: &Assignment, second: &Assignment, same_value: bool) -> Twice {
    let (first_span, first_name) = locate(&first.origin);
    let (_, name) = locate(&second.origin);
    if first_name == name {
        let message = format!("set twice (first at {first_span})");
        return Twice::Repeated(problem(&second.origin, &message));
    }
    if same_value {
        let message = format!(
            "same setting as {first_name} (set at {first_span}), with the same value; \
             accepted, but keep only one of the two"
        );
        let (span, name) = locate(&second.origin);
        return Twice::SameValue(Diagnostic::warning(span, format!("{name}: {message}")));
    }
    let message = format!(
        "same setting as {first_name} (set at {first_span}) with a different value ({:?} there, \
         {:?} here); set only one of the two",
        first.value, second.value
    );
    Twice::Conflict(problem(&second.origin, &message))
}

/// `unknown key "x"`, with a suggestion when a known key is one or two edits away.
fn unknown_key_message(key: &str) -> String {
    format!("unknown key{}", hint::did_you_mean(key, keys::key_names()))
}

/// Applies `GENHOOK_<KEY>` overrides: for every key and alias, and for every
/// `<source>_max_concurrent` the file names (the environment cannot be listed).
fn read_env(env: Env<'_>, collected: &mut Collected) {
    for key in KEYS {
        let mut found: Option<Assignment> = None;
        for name in std::iter::once(key.name).chain(key.alias) {
            let var = var_name(name);
            let Some(value) = env(&var) else { continue };
            let assignment = Assignment {
                value: value.trim().to_owned(),
                origin: Origin::Env { var },
            };
            match &found {
                Some(first) => {
                    let same = keys::same_value(key, &first.value, &assignment.value);
                    twice(first, &assignment, same).report(collected);
                }
                None => found = Some(assignment),
            }
        }
        if let Some(assignment) = found {
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
        notices,
    } = collected;
    config.notices.0 = notices;
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
    fn unknown_keys_get_a_hint() {
        assert_eq!(
            unknown_key_message("sever_port"),
            "unknown key (did you mean `server_port`?)"
        );
        assert_eq!(unknown_key_message("colour"), "unknown key");
    }
}
