//! Raw sources into compiled ones: settings checked and expanded, lines compiled, every problem
//! reported.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::fields::FieldTree;
use crate::parse::{RawLine, RawSource, RawSources, REFUSED};
use crate::select::Selector;
use crate::template::{self, Declared};
use crate::{
    CompiledLine, CompiledSource, Diagnostic, LoadOptions, Section, Setting, Span, Unmapped,
};

/// The setting keys the language itself owns.
pub const OWN_KEYS: &[&str] = &[
    "layers",
    "token",
    "align",
    "missing",
    "message_prefix",
    "unmapped",
    "force_ytype",
    "force_yid",
    "force_yname",
    "value",
    "threshold",
    "message_time",
    "max_concurrent",
];

/// Whether `key` is a setting key under `options`.
pub(crate) fn is_setting_key(key: &str, options: &LoadOptions<'_>) -> bool {
    OWN_KEYS.contains(&key) || options.extra_keys.contains(&key)
}

/// Compiles every source.
pub(crate) fn compile(
    sources: RawSources,
    options: &LoadOptions<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Arc<CompiledSource>> {
    sources
        .into_iter()
        .filter_map(|(key, mut raw)| {
            let name = raw.name.take().unwrap_or_else(|| key.clone());
            let compiled = compile_source(&name, raw, options, diagnostics);
            // A refused section's lines were checked; the source itself is not kept.
            (!key.starts_with(REFUSED)).then(|| (key, Arc::new(compiled)))
        })
        .collect()
}

fn compile_source(
    name: &str,
    raw: RawSource,
    options: &LoadOptions<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> CompiledSource {
    let mut settings: BTreeMap<String, Setting> = BTreeMap::new();
    let mut unresolved = false;
    let mut fallbacks: Vec<String> = Vec::new();
    let mut raw_settings = raw.settings;
    raw_settings.sort_by(|a, b| a.span.cmp(&b.span));
    for setting in raw_settings {
        if !is_setting_key(&setting.key, options) {
            diagnostics.push(Diagnostic::error(
                setting.span,
                format!(
                    "unknown key `{}`{}",
                    setting.key,
                    genhook_core::hint::did_you_mean(
                        &setting.key,
                        OWN_KEYS.iter().chain(options.extra_keys).copied()
                    )
                ),
            ));
            continue;
        }
        if let Some(first) = settings.get(&setting.key).map(|first| first.span.clone()) {
            // A legacy line's default never clashes with a setting written for the source:
            // the written one wins, wherever it is.
            if setting.fallback {
                continue;
            }
            if !fallbacks.contains(&setting.key) {
                diagnostics.push(Diagnostic::error(
                    setting.span,
                    format!("duplicate key `{}` (first at {first})", setting.key),
                ));
                continue;
            }
            fallbacks.retain(|key| *key != setting.key);
        }
        if setting.fallback {
            fallbacks.push(setting.key.clone());
        }
        let value = if setting.literal {
            setting.value
        } else {
            match expand_env(&setting.value, options) {
                Ok(value) => value,
                Err(message) => {
                    diagnostics.push(Diagnostic::error(setting.span, message));
                    unresolved = true;
                    continue;
                }
            }
        };
        settings.insert(
            setting.key,
            Setting {
                value,
                span: setting.span,
            },
        );
    }

    let aligned_resource = settings.get("align").and_then(|s| match align(&s.value) {
        Ok(resource) => Some(resource),
        Err(message) => {
            diagnostics.push(Diagnostic::error(s.span.clone(), message));
            None
        }
    });
    let unmapped = match settings.get("unmapped") {
        None => Unmapped::default(),
        Some(s) => Unmapped::parse(&s.value).unwrap_or_else(|| {
            diagnostics.push(Diagnostic::error(
                s.span.clone(),
                format!("bad unmapped `{}` (expected reject or ignore)", s.value),
            ));
            Unmapped::default()
        }),
    };
    let max_concurrent =
        settings
            .get("max_concurrent")
            .and_then(|s| match s.value.trim().parse::<usize>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    diagnostics.push(Diagnostic::error(
                        s.span.clone(),
                        format!(
                            "bad max_concurrent `{}` (expected a positive whole number)",
                            s.value
                        ),
                    ));
                    None
                }
            });
    let missing = settings
        .get("missing")
        .map(|s| s.value.clone())
        .unwrap_or_default();
    let prefix = settings
        .get("message_prefix")
        .map(|s| s.value.clone())
        .unwrap_or_default();

    let mut raw_lines = raw.lines;
    raw_lines.sort_by(|a, b| a.span.cmp(&b.span));
    let mut seen: HashMap<(bool, String), Span> = HashMap::new();
    let mut lines = Vec::new();
    for line in raw_lines {
        if let Some(first) = seen.get(&(line.sectionless, line.key.clone())) {
            diagnostics.push(Diagnostic::error(
                line.span.clone(),
                format!("duplicate event key `{}` (first at {})", line.key, first),
            ));
            continue;
        }
        seen.insert((line.sectionless, line.key.clone()), line.span.clone());
        if let Some(compiled) = compile_line(line, &missing, &prefix, diagnostics) {
            lines.push(Arc::new(compiled));
        }
    }
    let selector = Selector::new(lines.iter().map(|l| (l.key(), l.sectionless)));
    CompiledSource {
        section: Section::new(name, raw.span, settings),
        lines,
        selector,
        aligned_resource,
        unmapped,
        missing,
        unresolved,
        max_concurrent,
    }
}

/// Compiles one line, or reports why it cannot be.
fn compile_line(
    line: RawLine,
    missing: &str,
    prefix: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CompiledLine> {
    let span = line.span;
    let (compact, paths) = match crate::jsonpath::split_list(&line.fields) {
        Ok(split) => split,
        Err(e) => {
            diagnostics.push(Diagnostic::error(span, e));
            return None;
        }
    };
    let tree = if compact.trim().is_empty() && !paths.is_empty() {
        Some(FieldTree::default())
    } else {
        match FieldTree::parse(&compact) {
            Ok(tree) => Some(tree),
            Err(e) => {
                diagnostics.push(Diagnostic::error(span.clone(), e.to_string()));
                None
            }
        }
    };
    if line.template.is_empty() {
        diagnostics.push(Diagnostic::error(
            span,
            "mapping line has an empty template",
        ));
        return None;
    }
    let parsed = match template::parse(&line.template) {
        Ok(parsed) => parsed,
        Err(e) => {
            diagnostics.push(Diagnostic::error(span, e.to_string()));
            return None;
        }
    };
    let tree = tree?;
    let mut used: Vec<Vec<String>> = Vec::new();
    let mut ok = true;
    if let Some(twice) = paths.iter().find(|p| tree.child(&p.name).is_some()) {
        diagnostics.push(Diagnostic::error(
            span,
            format!(
                "field `{}` is declared twice (JSONPath and field list)",
                twice.name
            ),
        ));
        return None;
    }
    for var in &parsed.vars {
        let by_path = match var.segs.first() {
            Some(template::Seg::Key(first)) => paths.iter().any(|p| p.name == *first),
            _ => false,
        };
        if by_path {
            continue;
        }
        match template::declared(&tree, var) {
            Declared::Yes(path) => used.push(path),
            Declared::No => {
                ok = false;
                diagnostics.push(Diagnostic::error(
                    span.clone(),
                    format!("template variable ${}$ is not in the field list", var.text),
                ));
            }
        }
    }
    for leaf in tree.leaves() {
        let by_variable = used
            .iter()
            .any(|path| leaf.starts_with(path) || path.starts_with(&leaf));
        let by_raw = parsed.raw
            && leaf
                .last()
                .is_some_and(|n| line.template.contains(n.as_str()));
        if !by_variable && !by_raw {
            diagnostics.push(Diagnostic::warning(
                span.clone(),
                format!(
                    "field `{}` is declared but no template uses it",
                    leaf.join(".")
                ),
            ));
        }
    }
    let compiled = match template::Compiled::new(&parsed, missing) {
        Ok(compiled) => compiled,
        Err(e) => {
            diagnostics.push(Diagnostic::error(span, e.to_string()));
            return None;
        }
    };
    ok.then_some(CompiledLine {
        key: Arc::from(line.key),
        span,
        sectionless: line.sectionless,
        fields: tree,
        paths,
        template: compiled,
        template_text: line.template,
        prefix: Arc::from(prefix),
    })
}

/// `org:ID` or `device:ID` into SL1's `aligned_resource`.
pub(crate) fn align(value: &str) -> Result<String, String> {
    let bad = || format!("bad align `{value}` (expected org:ID or device:ID)");
    let (kind, id) = value.split_once(':').ok_or_else(bad)?;
    let id = id.trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match kind.trim() {
        "org" => Ok(format!("/api/organization/{id}")),
        "device" => Ok(format!("/api/device/{id}")),
        _ => Err(bad()),
    }
}

/// Expands every `${NAME}`.
pub(crate) fn expand_env(value: &str, options: &LoadOptions<'_>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find("${") {
        out.push_str(rest.get(..at).unwrap_or(""));
        let after = rest.get(at + 2..).unwrap_or("");
        let end = after
            .find('}')
            .ok_or_else(|| "unterminated `${` in value".to_owned())?;
        let name = after.get(..end).unwrap_or("").trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("bad environment variable name `{name}`"));
        }
        let found =
            (options.env)(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
        out.push_str(&found);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    Ok(out)
}
