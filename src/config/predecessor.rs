//! The Python predecessor's `app-config.ini` read as GenHook's configuration: each of its keys
//! (`[sl1] api_url`, `[threading] max_workers`, …) is renamed to GenHook's with a notice naming
//! the mapping, and what has no equivalent (`[server] reload`, `[logging] format`, the
//! `[webhook_logging]` and `[sl1_graphql]` sections) is commented out with one notice each.
//!
//! `[threading] processing_timeout` is GenHook's own key already, and passes as it is.
//!
//! The translation keeps every line where it was, so a problem with a value is still reported
//! at the predecessor file's own `FILE:LINE`; `genhook migrate` writes the same text as a
//! `genhook.ini`. A file of GenHook's own keys passes through unchanged.

use std::path::{Path, PathBuf};

use genhook_core::ini::{self, IniLine};
use genhook_core::Diagnostic;

use super::defaults::MAPPINGS_DIR;
use super::env::Env;
use super::model::Config;
use super::origin::span;

/// `(section, predecessor key, GenHook key)`.
const MAPPED: &[(&str, &str, &str)] = &[
    ("server", "host", "server_host"),
    ("server", "port", "server_port"),
    ("sl1", "api_url", "sl1_api_url"),
    ("sl1", "username", "sl1_username"),
    ("sl1", "password", "sl1_password"),
    ("sl1", "timeout", "sl1_timeout"),
    ("sl1", "retry_attempts", "sl1_retry_attempts"),
    ("logging", "level", "log_level"),
    ("logging", "file", "log_file"),
    ("threading", "max_workers", "max_worker_threads"),
    ("threading", "queue_size", "queue_max_size"),
];

/// `(section, key or "" for the whole section, why GenHook has no equivalent)`.
const DROPPED: &[(&str, &str, &str)] = &[
    (
        "server",
        "reload",
        "GenHook reloads mappings itself (`reload`), never its code",
    ),
    (
        "logging",
        "format",
        "GenHook's log lines have a fixed format",
    ),
    (
        "webhook_logging",
        "",
        "GenHook writes no payload log; refusals are counted in `genhook_webhooks_rejected_total` and undeliverable alerts kept as dead letters",
    ),
    (
        "sl1_graphql",
        "",
        "set `sl1_graphql_url` if SL1's GraphQL endpoint is not `sl1_api_url`'s host at `/gql`; `genhook sl1 policy create` uses the SL1 credentials; the predecessor's policies keep matching `service|token|message`",
    ),
];

/// A configuration text with the predecessor's keys renamed, and what was done about them.
#[derive(Debug, Default)]
pub(crate) struct Translated {
    /// The text GenHook reads, line for line.
    pub(crate) text: String,
    /// One notice per key renamed, per key and per section dropped.
    pub(crate) notices: Vec<Diagnostic>,
}

impl Translated {
    /// Whether any predecessor key was found.
    pub(crate) fn is_predecessor(&self) -> bool {
        !self.notices.is_empty()
    }
}

/// What `genhook migrate` wrote.
#[derive(Debug)]
pub struct Migrated {
    /// The `genhook.ini` written.
    pub config: PathBuf,
    /// The mapping files copied, in name order.
    pub mappings: Vec<PathBuf>,
    /// What was done with each of the predecessor's settings (at its `FILE:LINE`).
    pub notices: Vec<Diagnostic>,
}

/// `genhook migrate FROM TO`: writes `TO/genhook.ini` from the predecessor's
/// `FROM/app-config.prod.ini` (which it preferred) or `FROM/app-config.ini`, and copies its
/// mapping files (`webhook-config.ini`, every `*.ini` but its settings files) to `TO/mappings/`.
///
/// # Errors
/// `TO/genhook.ini` exists already, a mapping file of the same name exists in `TO/mappings/` with
/// other contents, no mapping file is found, or a file cannot be read or written (the reason, with
/// the path). Nothing is written when one of the first two is found.
pub fn migrate(from: &Path, to: &Path) -> Result<Migrated, String> {
    let config = to.join("genhook.ini");
    if config.exists() {
        return Err(format!(
            "{}: exists already; not overwritten",
            config.display()
        ));
    }
    let mut sources: Vec<PathBuf> = std::fs::read_dir(from)
        .map_err(|e| format!("{}: cannot read directory: {e}", from.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "ini") && path.is_file())
        .filter(|path| !genhook_mapping::is_predecessor_settings(path))
        .collect();
    sources.sort();
    if sources.is_empty() {
        return Err(format!("{}: no mapping file (*.ini) found", from.display()));
    }
    let mappings_dir = to.join("mappings");
    // Checked before anything is written: a mapping file of the same name with other contents
    // (one already edited, or another source's) is never overwritten.
    for source in &sources {
        let target = mappings_dir.join(source.file_name().unwrap_or_default());
        if target.exists() && std::fs::read(&target).ok() != std::fs::read(source).ok() {
            return Err(format!(
                "{}: exists already with other contents; not overwritten (nothing was written)",
                target.display()
            ));
        }
    }
    std::fs::create_dir_all(&mappings_dir)
        .map_err(|e| format!("{}: cannot create: {e}", mappings_dir.display()))?;
    let mut mappings = Vec::new();
    for source in &sources {
        let target = mappings_dir.join(source.file_name().unwrap_or_default());
        std::fs::copy(source, &target).map_err(|e| {
            format!(
                "{}: cannot copy to {}: {e}",
                source.display(),
                target.display()
            )
        })?;
        mappings.push(target);
    }
    let app = app_config_in(from);
    let mut text = String::from("; GenHook configuration written by `genhook migrate`");
    let mut notices = Vec::new();
    if let Some(app) = &app {
        let original = std::fs::read_to_string(app)
            .map_err(|e| format!("{}: cannot read: {e}", app.display()))?;
        let translated = translate(app, original.strip_prefix('\u{feff}').unwrap_or(&original));
        text.push_str(&format!(
            " from {}.\n; Its keys are renamed to GenHook's; `; ` marks what has no equivalent.\n",
            app.display()
        ));
        text.push_str(&translated.text);
        notices = translated.notices;
    } else {
        text.push_str(": no app-config.ini was found, every other key keeps its default.\n");
    }
    let absolute = std::fs::canonicalize(&mappings_dir).unwrap_or(mappings_dir);
    text.push_str(&format!(
        "\n[mappings]\nmappings_dir = \"{}\"\n",
        absolute.display()
    ));
    std::fs::write(&config, text)
        .map_err(|e| format!("{}: cannot write: {e}", config.display()))?;
    Ok(Migrated {
        config,
        mappings,
        notices,
    })
}

impl Config {
    /// What reading the predecessor's `app-config.ini` did, one notice per key renamed and per
    /// key or section with no equivalent (empty for GenHook's own file): `serve` logs them once
    /// at start, `check` prints them with the [`Config::warnings`].
    pub fn predecessor_notices(&self) -> &[Diagnostic] {
        &self.predecessor_notices
    }
}

/// With no `--config` and no `./genhook.ini`: the predecessor's `app-config.prod.ini` (which it
/// preferred) or `app-config.ini` found in the mappings directory (`GENHOOK_MAPPINGS_DIR`, else
/// `./mappings`), where its `webhook-config.ini` is.
pub(crate) fn beside_mappings(env: Env<'_>) -> Option<PathBuf> {
    let dir = env(&super::env::var_name("mappings_dir"))
        .map_or_else(|| PathBuf::from(MAPPINGS_DIR), PathBuf::from);
    app_config_in(&dir)
}

/// The predecessor's settings file in `dir`: `app-config.prod.ini`, which it preferred, else
/// `app-config.ini`.
fn app_config_in(dir: &Path) -> Option<PathBuf> {
    ["app-config.prod.ini", "app-config.ini"]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// The predecessor kept its `webhook-config.ini` beside its `app-config.ini`: unless
/// `mappings_dir` is set (in the file or the environment), the mappings are read from the
/// configuration file's directory.
pub(crate) fn mappings_beside(config: &mut Config) {
    if config.origins.0.contains_key("mappings_dir") {
        return;
    }
    if let Some(dir) = config.file.as_deref().and_then(Path::parent) {
        config.mappings_dir = if dir.as_os_str().is_empty() {
            Path::new(".").to_path_buf()
        } else {
            dir.to_path_buf()
        };
    }
}

/// Translates `text`, read from `file` (used in notices only).
pub(crate) fn translate(file: &Path, text: &str) -> Translated {
    let mut out = Translated::default();
    let mut section = String::new();
    let mut dropped_sections: Vec<String> = Vec::new();
    let mut by_line: Vec<Option<String>> = vec![None; text.lines().count()];
    for entry in ini::lines(text) {
        let (line, entry) = match entry {
            IniLine::Section { name, .. } => {
                section = name.to_ascii_lowercase();
                continue;
            }
            IniLine::BadSection { .. } => continue,
            IniLine::Entry { line, text } => (line, text),
        };
        let Some((key, value)) = ini::split_key_value(entry) else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let index = usize::try_from(line)
            .unwrap_or(usize::MAX)
            .saturating_sub(1);
        let Some(slot) = by_line.get_mut(index) else {
            continue;
        };
        if let Some((_, _, to)) = MAPPED.iter().find(|(s, k, _)| *s == section && *k == key) {
            out.notices.push(Diagnostic::warning(
                span(file, line),
                format!("the predecessor's [{section}] {key} is GenHook's `{to}`"),
            ));
            *slot = Some(format!("{to} = {value}"));
        } else if let Some((_, whole, why)) = DROPPED
            .iter()
            .find(|(s, k, _)| *s == section && (k.is_empty() || *k == key))
        {
            let first_of_section = whole.is_empty() && !dropped_sections.contains(&section);
            if first_of_section {
                dropped_sections.push(section.clone());
            }
            if !whole.is_empty() || first_of_section {
                let what = if whole.is_empty() {
                    format!("[{section}]")
                } else {
                    format!("[{section}] {key}")
                };
                out.notices.push(Diagnostic::warning(
                    span(file, line),
                    format!("the predecessor's {what} has no equivalent, ignored: {why}"),
                ));
            }
            *slot = Some(format!("; {entry}"));
        }
    }
    for (raw, replaced) in text.lines().zip(by_line) {
        out.text.push_str(replaced.as_deref().unwrap_or(raw));
        out.text.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_keys_in_place_and_drops_what_has_no_equivalent_once() {
        let text = "[server]\nhost = 0.0.0.0\nreload = true\n[webhook_logging]\nenabled = true\nmax_bytes = 1\n[queue]\nqueue_backend = memory\n";
        let t = translate(Path::new("app-config.ini"), text);
        assert_eq!(
            t.text,
            "[server]\nserver_host = 0.0.0.0\n; reload = true\n[webhook_logging]\n; enabled = true\n; max_bytes = 1\n[queue]\nqueue_backend = memory\n"
        );
        let notices: Vec<String> = t.notices.iter().map(ToString::to_string).collect();
        assert_eq!(notices.len(), 3, "{notices:?}");
        assert_eq!(
            notices[0],
            "app-config.ini:2: warning: the predecessor's [server] host is GenHook's `server_host`"
        );
        assert!(notices[2].starts_with(
            "app-config.ini:5: warning: the predecessor's [webhook_logging] has no equivalent"
        ));
        let own = translate(Path::new("genhook.ini"), "[server]\nserver_host = ::1\n");
        assert!(!own.is_predecessor());
        assert_eq!(own.text, "[server]\nserver_host = ::1\n");
    }
}
