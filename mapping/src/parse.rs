//! Mapping files, line by line, into raw sources (settings and mapping lines with their spans).
//!
//! - A *mapping line* is an entry line holding `::`: `KEY: fields::template` or
//!   `KEY = fields::template`. The part before the first `::` is split at its last `: `, else its
//!   last `=`, else its last `:` (field lists never hold `:` or `=`, so keys may:
//!   `jira:issue_created: …`, `orders/create: …`).
//! - Outside any section the key is a source name and the line maps every event of that source.
//!   In a `[source]` section it is an event type, a glob (`payment_intent.*`) or `*`.
//! - Any other entry line of a section is a setting `key = value` (an inline ` ; comment` is
//!   removed). A line holding `::` whose key is a known setting key is a setting too.
//! - `[webhooks]` holds the Python predecessor's lines `service_token|alignment|fields|template`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::ini::{self, IniLine};
use crate::{Diagnostic, Span};

/// The legacy section's name.
const LEGACY_SECTION: &str = "webhooks";

/// A setting as written (the value not yet expanded).
#[derive(Debug, Clone)]
pub(crate) struct RawSetting {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) span: Span,
    /// Set by a legacy line: no `${…}` expansion.
    pub(crate) literal: bool,
    /// A legacy line's default (`missing = -`, `message_prefix = service|token|`): a setting
    /// written for the source wins over it, without a duplicate-key error.
    pub(crate) fallback: bool,
}

/// A mapping line as written.
#[derive(Debug, Clone)]
pub(crate) struct RawLine {
    pub(crate) key: String,
    pub(crate) fields: String,
    pub(crate) template: String,
    pub(crate) span: Span,
    /// Written outside any section (or on a legacy line): maps every event of the source.
    pub(crate) sectionless: bool,
}

/// Everything written about one source, across sections and files.
#[derive(Debug, Clone)]
pub(crate) struct RawSource {
    /// The source's name when it differs from its key: a legacy service's second token is kept
    /// under `service#2` (a key no section can have) and served as `service`.
    pub(crate) name: Option<String>,
    pub(crate) span: Span,
    pub(crate) settings: Vec<RawSetting>,
    pub(crate) lines: Vec<RawLine>,
}

/// The prefix of the name under which a refused section's lines are checked.
pub(crate) const REFUSED: &str = "\u{0}refused:";

/// Raw sources by name.
pub(crate) type RawSources = BTreeMap<String, RawSource>;

/// Whether `name` may name a source (it appears in URLs).
pub(crate) fn valid_source_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses one file's text into `sources`, pushing problems to `diagnostics`.
pub(crate) fn parse_file(
    file: &Path,
    text: &str,
    is_setting_key: &dyn Fn(&str) -> bool,
    sources: &mut RawSources,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let file: Arc<Path> = Arc::from(file);
    let span = |line: u32| Span {
        file: Arc::clone(&file),
        line,
    };
    // None: outside any section. The lines of a refused section are still checked, under a
    // name no source can have, so that every problem is reported; compile drops that source.
    let mut section: Option<String> = None;
    let refused = |line: u32| format!("{REFUSED}{}:{line}", file.display());
    // Editors on Windows may start a file with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for line in ini::lines(text) {
        match line {
            IniLine::BadSection { line, text } => {
                diagnostics.push(Diagnostic::error(
                    span(line),
                    format!("bad section header `{text}`"),
                ));
                section = Some(refused(line));
            }
            IniLine::Section { line, name } => {
                let name = if name == LEGACY_SECTION || valid_source_name(name) {
                    name.to_owned()
                } else {
                    diagnostics.push(Diagnostic::error(span(line), bad_source_message(name)));
                    refused(line)
                };
                if name != LEGACY_SECTION {
                    source_entry(sources, &name, span(line));
                }
                section = Some(name);
            }
            IniLine::Entry { line, text } => match &section {
                Some(name) if name == LEGACY_SECTION && text.contains('|') => {
                    legacy_line(text, span(line), sources, diagnostics);
                }
                Some(name) if name != LEGACY_SECTION => {
                    section_entry(name, text, span(line), is_setting_key, sources, diagnostics);
                }
                _ => sectionless_entry(text, span(line), sources, diagnostics),
            },
        }
    }
}

fn bad_source_message(name: &str) -> String {
    if name.is_empty() {
        "empty section name".to_owned()
    } else {
        format!("bad source name `{name}` (use letters, digits, `-`, `_` and `.`)")
    }
}

fn source_entry<'a>(sources: &'a mut RawSources, name: &str, span: Span) -> &'a mut RawSource {
    sources.entry(name.to_owned()).or_insert_with(|| RawSource {
        name: None,
        span,
        settings: Vec::new(),
        lines: Vec::new(),
    })
}

/// A mapping line's parts.
struct Split<'a> {
    key: &'a str,
    fields: &'a str,
    template: &'a str,
}

/// Splits `KEY: fields::template`; `Err` holds the message.
fn split_mapping(text: &str) -> Result<Split<'_>, String> {
    let (head, template) = text
        .split_once("::")
        .ok_or_else(|| "mapping line has no `::`".to_owned())?;
    let (key, fields) = if let Some(at) = head.rfind(": ") {
        (
            head.get(..at).unwrap_or(""),
            head.get(at + 2..).unwrap_or(""),
        )
    } else if let Some(at) = head.rfind(['=', ':']) {
        (
            head.get(..at).unwrap_or(""),
            head.get(at + 1..).unwrap_or(""),
        )
    } else {
        return Err("mapping line needs `KEY: fields::template`".to_owned());
    };
    let (key, fields) = (key.trim(), fields.trim());
    if key.is_empty() {
        return Err("mapping line has no key".to_owned());
    }
    if fields.is_empty() {
        return Err("mapping line has no field list".to_owned());
    }
    Ok(Split {
        key,
        fields,
        template: template.trim(),
    })
}

fn sectionless_entry(
    text: &str,
    span: Span,
    sources: &mut RawSources,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if !text.contains("::") {
        let key = ini::split_key_value(text).map_or(text, |(k, _)| k);
        diagnostics.push(Diagnostic::error(
            span,
            format!("setting `{key}` outside any section"),
        ));
        return;
    }
    match split_mapping(text) {
        Err(message) => diagnostics.push(Diagnostic::error(span, message)),
        Ok(split) if !valid_source_name(split.key) => {
            diagnostics.push(Diagnostic::error(span, bad_source_message(split.key)));
        }
        Ok(split) => {
            let line = RawLine {
                key: split.key.to_owned(),
                fields: split.fields.to_owned(),
                template: split.template.to_owned(),
                span: span.clone(),
                sectionless: true,
            };
            source_entry(sources, split.key, span).lines.push(line);
        }
    }
}

fn section_entry(
    source: &str,
    text: &str,
    span: Span,
    is_setting_key: &dyn Fn(&str) -> bool,
    sources: &mut RawSources,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let setting = ini::split_key_value(text).filter(|(key, _)| is_setting_key(key));
    if text.contains("::") && setting.is_none() {
        match split_mapping(text) {
            Err(message) => diagnostics.push(Diagnostic::error(span, message)),
            Ok(split) => {
                let line = RawLine {
                    key: split.key.to_owned(),
                    fields: split.fields.to_owned(),
                    template: split.template.to_owned(),
                    span: span.clone(),
                    sectionless: false,
                };
                source_entry(sources, source, span).lines.push(line);
            }
        }
        return;
    }
    match ini::split_key_value(text) {
        Some((key, value)) if !key.is_empty() => match ini::setting_value(value) {
            Ok(value) => {
                let setting = RawSetting {
                    key: key.to_owned(),
                    value: value.to_owned(),
                    span: span.clone(),
                    literal: false,
                    fallback: false,
                };
                source_entry(sources, source, span).settings.push(setting);
            }
            Err(message) => diagnostics.push(Diagnostic::error(span, format!("{key}: {message}"))),
        },
        _ => diagnostics.push(Diagnostic::error(
            span,
            "expected `key = value` or `KEY: fields::template`",
        )),
    }
}

/// The raw source a legacy line of `service` with `token` goes to: `service` itself unless it
/// already has another token, else `service#2`, `service#3`, … (each its own route, served as
/// `service` at `/webhook/service/token`).
fn legacy_source<'a>(
    sources: &'a mut RawSources,
    service: &str,
    token: &str,
    span: Span,
) -> &'a mut RawSource {
    let takes = |raw: &RawSource| {
        token.is_empty()
            || raw
                .settings
                .iter()
                .filter(|s| s.key == "token")
                .all(|s| s.value == token)
    };
    let mut key = service.to_owned();
    let mut n = 1;
    while sources.get(&key).is_some_and(|raw| !takes(raw)) {
        n += 1;
        key = format!("{service}#{n}");
    }
    let source = source_entry(sources, &key, span);
    if n > 1 {
        source.name = Some(service.to_owned());
    }
    source
}

/// `service_token|alignment|fields|template` (the template may hold `|`).
fn legacy_line(
    text: &str,
    span: Span,
    sources: &mut RawSources,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut parts = text.splitn(4, '|');
    let (Some(service_token), Some(alignment), Some(fields), Some(template)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        diagnostics.push(Diagnostic::error(
            span,
            "legacy line needs `service_token|alignment|fields|template`",
        ));
        return;
    };
    let service_token = service_token.trim();
    let (service, token) = match service_token
        .find(['/', ':'])
        .or_else(|| service_token.find('_'))
    {
        Some(at) => (
            service_token.get(..at).unwrap_or(""),
            service_token.get(at + 1..).unwrap_or(""),
        ),
        None => (service_token, ""),
    };
    let (service, token) = (service.trim(), token.trim());
    if !valid_source_name(service) {
        let message = if service.is_empty() {
            "legacy line has no service name".to_owned()
        } else {
            bad_source_message(service)
        };
        diagnostics.push(Diagnostic::error(span, message));
        return;
    }
    let (fields, template) = (fields.trim(), template.trim());
    if fields.is_empty() {
        diagnostics.push(Diagnostic::error(span, "mapping line has no field list"));
        return;
    }
    let source = legacy_source(sources, service, token, span.clone());
    let mut setting = |key: &str, value: &str, fallback: bool| {
        source.settings.push(RawSetting {
            key: key.to_owned(),
            value: value.to_owned(),
            span: span.clone(),
            literal: true,
            fallback,
        });
    };
    if !token.is_empty() {
        setting("token", token, false);
    }
    let alignment = alignment.trim();
    if !alignment.is_empty() {
        setting("align", alignment, false);
    }
    // The predecessor's message form: SL1 event policies match `service|token|message`, and an
    // unresolved variable was written `-`.
    setting("message_prefix", &format!("{service}|{token}|"), true);
    setting("missing", "-", true);
    source.lines.push(RawLine {
        key: service.to_owned(),
        fields: fields.to_owned(),
        template: template.to_owned(),
        span,
        sectionless: true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_mapping_lines() {
        let s = split_mapping("github: action,repo{name}::GitHub $action$: done").unwrap();
        assert_eq!(
            (s.key, s.fields, s.template),
            ("github", "action,repo{name}", "GitHub $action$: done")
        );
        let s = split_mapping("name = a::t = x").unwrap();
        assert_eq!((s.key, s.fields, s.template), ("name", "a", "t = x"));
        let s = split_mapping("jira:issue_created: a::t").unwrap();
        assert_eq!(s.key, "jira:issue_created");
        let s = split_mapping("jira:issue_created:a::t").unwrap();
        assert_eq!((s.key, s.fields), ("jira:issue_created", "a"));
        let s = split_mapping("EC2 Instance State-change Notification: detail{state}::x").unwrap();
        assert_eq!(s.key, "EC2 Instance State-change Notification");
        let s = split_mapping("orders/create: id::x").unwrap();
        assert_eq!(s.key, "orders/create");
        assert_eq!(
            split_mapping(": a::t").err().unwrap(),
            "mapping line has no key"
        );
        assert_eq!(
            split_mapping("k: ::t").err().unwrap(),
            "mapping line has no field list"
        );
        assert_eq!(
            split_mapping("k::t").err().unwrap(),
            "mapping line needs `KEY: fields::template`"
        );
    }
}
