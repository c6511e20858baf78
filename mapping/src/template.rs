//! Templates: the part of a mapping line after `::`, compiled once into a handlebars template.
//!
//! | written | renders |
//! |---|---|
//! | `$action$` | the field `action` |
//! | `$repository.name$` | a nested field |
//! | `$commits[0].message$`, `$commits.message[0]$` | one element |
//! | `$commits.message$` | every element's `message`, joined with `, ` |
//! | `$detail-type$` | names may contain `-` |
//! | `$$` | a literal `$` |
//! | `{{upper action}}` | raw handlebars, seeing the extracted fields |
//!
//! A missing (or `null`) field renders as the empty string, or as the source's `missing =` text.
//! Strings render as they are (no HTML escaping), numbers and booleans as JSON writes them,
//! arrays as their elements joined with `, `, objects as compact JSON.
//!
//! Helpers for raw `{{…}}` expressions: `upper`, `lower`, `truncate FIELD N` (at most N
//! characters, `…` appended when cut), `default FIELD "fallback"`, `join FIELD "sep"` and
//! `json FIELD`. A call of a helper that does not exist (`{{bogus x}}`), with too few or too
//! many arguments (`{{truncate x}}`) or with a literal of the wrong kind (`{{truncate x "y"}}`)
//! is refused at load, at the line's `FILE:LINE` (and so by `genhook check`); an argument only
//! known at render time (a field holding text where `truncate` wants a number) makes rendering
//! fail.

use std::sync::Arc;

mod helpers;

use handlebars::{Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext};
use serde_json::Value;

use crate::fields::{index_of, valid_name, FieldTree};

/// The deepest block or sub-expression nesting a raw handlebars template may use.
const MAX_TEMPLATE_NESTING: usize = 32;

/// The name of the one template a line's registry holds.
const NAME: &str = "t";

/// One step of a template variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A member name (all digits: an element index on an array).
    Key(String),
    /// `[N]`.
    Index(usize),
}

/// A parsed `$…$` variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Var {
    pub(crate) text: String,
    pub(crate) segs: Vec<Seg>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Var(usize),
}

/// A template as written, split into text and variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pieces: Vec<Piece>,
    pub(crate) vars: Vec<Var>,
    /// Whether the text holds raw `{{…}}` handlebars.
    pub(crate) raw: bool,
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateError {
    Unterminated,
    BadVariable(String),
    TooDeep,
    Partials,
    Handlebars(String),
    /// A call of a helper that does not exist, or with the wrong arguments.
    Helper(String),
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unterminated => {
                f.write_str("unterminated template variable (write $$ for a literal $)")
            }
            Self::BadVariable(text) => write!(
                f,
                "bad template variable `${text}$` (write $$ for a literal $)"
            ),
            Self::TooDeep => write!(
                f,
                "template nests deeper than {MAX_TEMPLATE_NESTING} levels"
            ),
            Self::Partials => f.write_str(
                "partials and decorators ({{> …}}, {{#> …}}, {{#*inline …}}) are not supported in templates",
            ),
            Self::Handlebars(reason) => write!(f, "bad template: {reason}"),
            Self::Helper(reason) => write!(f, "bad template: {reason}"),
        }
    }
}

/// Splits a template into text and `$…$` variables.
pub(crate) fn parse(template: &str) -> Result<Parsed, TemplateError> {
    let mut pieces = Vec::new();
    let mut vars: Vec<Var> = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        text.push_str(rest.get(..at).unwrap_or(""));
        let after = rest.get(at + 1..).unwrap_or("");
        if let Some(tail) = after.strip_prefix('$') {
            text.push('$');
            rest = tail;
            continue;
        }
        let end = after.find('$').ok_or(TemplateError::Unterminated)?;
        let inner = after.get(..end).unwrap_or("");
        let segs = parse_var(inner).ok_or_else(|| TemplateError::BadVariable(inner.to_owned()))?;
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        let index = match vars.iter().position(|v| v.text == inner) {
            Some(i) => i,
            None => {
                vars.push(Var {
                    text: inner.to_owned(),
                    segs,
                });
                vars.len() - 1
            }
        };
        pieces.push(Piece::Var(index));
        rest = after.get(end + 1..).unwrap_or("");
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    let raw = pieces
        .iter()
        .any(|p| matches!(p, Piece::Text(t) if t.contains("{{")));
    Ok(Parsed { pieces, vars, raw })
}

/// `name([N])*(.name([N])*)*`.
fn parse_var(text: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    for part in text.split('.') {
        let (name, mut indexes) = match part.find('[') {
            Some(at) => (part.get(..at)?, part.get(at..)?),
            None => (part, ""),
        };
        if !valid_name(name) {
            return None;
        }
        segs.push(Seg::Key(name.to_owned()));
        while !indexes.is_empty() {
            let body = indexes.strip_prefix('[')?;
            let close = body.find(']')?;
            let digits = body.get(..close)?;
            segs.push(Seg::Index(index_of(digits)?));
            indexes = body.get(close + 1..)?;
        }
    }
    (!segs.is_empty()).then_some(segs)
}

/// What a variable refers to in the field tree.
pub(crate) enum Declared {
    /// The variable reaches this declared path (names only, indexes dropped).
    Yes(Vec<String>),
    /// Not declared.
    No,
}

/// Whether a variable is declared by the field list; a variable under a declared leaf counts.
pub(crate) fn declared(tree: &FieldTree, var: &Var) -> Declared {
    let mut node = tree;
    let mut path = Vec::new();
    for seg in &var.segs {
        if node.is_leaf() && !path.is_empty() {
            return Declared::Yes(path);
        }
        let name = match seg {
            Seg::Key(name) => name.clone(),
            Seg::Index(i) => i.to_string(),
        };
        match node.child(&name) {
            Some(child) => {
                node = child;
                path.push(name);
            }
            None if index_of(&name).is_some() && !path.is_empty() => {}
            None => return Declared::No,
        }
    }
    Declared::Yes(path)
}

/// A compiled template: a handlebars registry holding it and the helpers it calls.
pub(crate) struct Compiled {
    registry: Handlebars<'static>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled").finish_non_exhaustive()
    }
}

impl Compiled {
    /// Compiles a parsed template; `missing` is what a missing variable renders as.
    pub(crate) fn new(parsed: &Parsed, missing: &str) -> Result<Self, TemplateError> {
        let mut source = String::new();
        let mut texts = Vec::new();
        for piece in &parsed.pieces {
            match piece {
                Piece::Var(i) => source.push_str(&format!("{{{{genhook_var {i}}}}}")),
                Piece::Text(t) if parsed.raw || !t.contains(['{', '}', '\\']) => {
                    source.push_str(t);
                }
                Piece::Text(t) => {
                    // Plain text that handlebars could read as syntax goes through a helper.
                    source.push_str(&format!("{{{{genhook_text {}}}}}", texts.len()));
                    texts.push(t.clone());
                }
            }
        }
        if nesting(&source) > MAX_TEMPLATE_NESTING {
            return Err(TemplateError::TooDeep);
        }
        if uses_partials(&source) {
            // Partials may include each other without end: a stack overflow at render time.
            return Err(TemplateError::Partials);
        }
        let mut registry = Handlebars::new();
        registry.register_escape_fn(handlebars::no_escape);
        registry.set_strict_mode(false);
        helpers::register_helpers(&mut registry);
        registry.register_helper(
            "genhook_var",
            Box::new(VarHelper {
                vars: parsed.vars.iter().map(|v| v.segs.clone()).collect(),
                missing: missing.into(),
            }),
        );
        registry.register_helper(
            "genhook_text",
            Box::new(TextHelper {
                texts: texts.into(),
            }),
        );
        registry
            .register_template_string(NAME, source)
            .map_err(|e| TemplateError::Handlebars(e.reason().to_string()))?;
        if let Some(template) = registry.get_template(NAME) {
            helpers::check_calls(template).map_err(TemplateError::Helper)?;
        }
        Ok(Self { registry })
    }

    /// Renders the template over extracted fields (handlebars' context owns them).
    pub(crate) fn render(&self, fields: Value) -> Result<String, String> {
        let context = Context::from(fields);
        self.registry
            .render_with_context(NAME, &context)
            .map_err(|e| e.to_string())
    }
}

/// Whether a handlebars source holds a partial (`{{> p}}`, `{{#> p}}`) or a decorator
/// (`{{* d}}`, `{{#*inline}}`), whitespace control `~` included.
fn uses_partials(source: &str) -> bool {
    source.match_indices("{{").any(|(at, _)| {
        let rest = source.get(at + 2..).unwrap_or("");
        let rest = rest.trim_start_matches(['{', '~']).trim_start();
        let rest = rest.strip_prefix('#').unwrap_or(rest).trim_start();
        rest.starts_with('>') || rest.starts_with('*')
    })
}

/// The deepest `{{#…}}` block or `(` sub-expression nesting of a handlebars source.
fn nesting(source: &str) -> usize {
    let bytes = source.as_bytes();
    let (mut depth, mut max, mut parens): (usize, usize, usize) = (0, 0, 0);
    let mut i = 0;
    while i < bytes.len() {
        let next = bytes.get(i + 1).copied();
        let third = bytes.get(i + 2).copied();
        match (bytes.get(i).copied(), next, third) {
            (Some(b'{'), Some(b'{'), Some(b'#')) => depth += 1,
            (Some(b'{'), Some(b'{'), Some(b'/')) => depth = depth.saturating_sub(1),
            (Some(b'('), _, _) => parens += 1,
            (Some(b')'), _, _) => parens = parens.saturating_sub(1),
            _ => {}
        }
        max = max.max(depth).max(parens);
        i += 1;
    }
    max
}

/// Renders `$…$` variables (their steps compiled at load; the index is the helper's argument).
struct VarHelper {
    vars: Vec<Vec<Seg>>,
    missing: Arc<str>,
}

impl HelperDef for VarHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let segs = h
            .param(0)
            .and_then(|p| p.value().as_u64())
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.vars.get(i));
        let text = segs.map(|s| lookup(ctx.data(), s)).unwrap_or_default();
        if text.is_empty() {
            out.write(&self.missing)?;
        } else {
            out.write(&text)?;
        }
        Ok(())
    }
}

/// Writes plain text that holds handlebars syntax characters.
struct TextHelper {
    texts: Arc<[String]>,
}

impl HelperDef for TextHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let text = h
            .param(0)
            .and_then(|p| p.value().as_u64())
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.texts.get(i));
        if let Some(text) = text {
            out.write(text)?;
        }
        Ok(())
    }
}

/// Follows a variable's steps through the fields and renders what it finds as text ("" when
/// nothing is there). A name applied to an array maps over its elements; an index applied after
/// such a mapping picks one of the values found.
pub(crate) fn lookup(root: &Value, segs: &[Seg]) -> String {
    let mut current: Vec<&Value> = vec![root];
    let mut many = false;
    for seg in segs {
        let mut next = Vec::new();
        let index = match seg {
            Seg::Index(i) => Some(*i),
            Seg::Key(name) => index_of(name),
        };
        match (seg, index) {
            (_, Some(i)) if many => {
                next.extend(current.get(i).copied());
                many = false;
            }
            (_, Some(i)) => {
                for value in &current {
                    match value {
                        Value::Array(items) => next.extend(items.get(i)),
                        Value::Object(map) => next.extend(map.get(&i.to_string())),
                        _ => {}
                    }
                }
            }
            (Seg::Key(name), None) => {
                for value in &current {
                    many |= member(value, name, &mut next);
                }
            }
            (Seg::Index(_), None) => {}
        }
        current = next;
        if current.is_empty() {
            return String::new();
        }
    }
    let mut out = String::new();
    for value in current {
        write_text(value, &mut out);
    }
    out
}

/// Pushes `value.name`, mapping over (nested) arrays; returns whether it mapped.
fn member<'a>(value: &'a Value, name: &str, out: &mut Vec<&'a Value>) -> bool {
    let mut mapped = false;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => out.extend(map.get(name)),
            Value::Array(items) => {
                mapped = true;
                stack.extend(items.iter().rev());
            }
            _ => {}
        }
    }
    mapped
}

/// Appends a value's text: strings raw, arrays joined with `, `, objects as JSON, null as
/// nothing.
pub(crate) fn write_text(value: &Value, out: &mut String) {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        let piece = match v {
            Value::Null => continue,
            Value::Array(items) => {
                stack.extend(items.iter().rev());
                continue;
            }
            Value::String(s) => s.clone(),
            Value::Object(_) => serde_json::to_string(v).unwrap_or_default(),
            Value::Bool(_) | Value::Number(_) => v.to_string(),
        };
        if !out.is_empty() && !piece.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&piece);
    }
}

pub(crate) fn text_of(value: &Value) -> String {
    let mut out = String::new();
    write_text(value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: &str, fields: &Value) -> Result<String, String> {
        let parsed = parse(template).map_err(|e| e.to_string())?;
        Compiled::new(&parsed, "")
            .map_err(|e| e.to_string())?
            .render(fields.clone())
    }

    #[test]
    fn variables() {
        let fields = json!({
            "a": "x<y>&", "n": 3, "o": {"s": "deep", "detail-type": "D"},
            "arr": [{"p": "one"}, {"p": "two"}, null, {"q": 1}],
            "tags": ["t1", "t2"], "obj": {"k": 1}
        });
        assert_eq!(render("$a$ $n$", &fields).unwrap(), "x<y>& 3");
        assert_eq!(render("$o.s$/$o.detail-type$", &fields).unwrap(), "deep/D");
        assert_eq!(render("$arr.p$", &fields).unwrap(), "one, two");
        assert_eq!(
            render("$arr[1].p$|$arr.p[1]$|$arr.1.p$", &fields).unwrap(),
            "two|two|two"
        );
        assert_eq!(
            render("$tags$ $tags[0]$ $obj$", &fields).unwrap(),
            "t1, t2 t1 {\"k\":1}"
        );
        assert_eq!(render("cost $$5 [$nope$]", &fields).unwrap(), "cost $5 []");
        assert_eq!(render("{$a$} \\$n$", &fields).unwrap(), "{x<y>&} \\3");
    }

    #[test]
    fn raw_handlebars_and_helpers() {
        let fields = json!({"a": "Hello", "l": ["x", "y"], "long": "abcdefgh", "e": ""});
        assert_eq!(
            render(
                "{{upper a}} {{lower a}} {{truncate long 3}} {{truncate a 10}}",
                &fields
            )
            .unwrap(),
            "HELLO hello abc… Hello"
        );
        assert_eq!(
            render("{{default e \"none\"}} {{default a \"none\"}} {{join l \"/\"}} {{join l}} {{json l}}", &fields)
                .unwrap(),
            "none Hello x/y x, y [\"x\",\"y\"]"
        );
        assert_eq!(render("{{#if a}}$a${{/if}}", &fields).unwrap(), "Hello");
        assert!(render("{{truncate a \"x\"}}", &fields).is_err());
        assert!(render("{{join l 3}}", &fields).is_err());
    }

    #[test]
    fn missing_text() {
        let parsed = parse("[$a$] [$b$]").unwrap();
        let compiled = Compiled::new(&parsed, "n/a").unwrap();
        assert_eq!(
            compiled.render(json!({"a": "x", "b": null})).unwrap(),
            "[x] [n/a]"
        );
    }

    #[test]
    fn bad_templates() {
        assert_eq!(parse("a $b"), Err(TemplateError::Unterminated));
        assert_eq!(
            parse("costs $5 and $6"),
            Err(TemplateError::BadVariable("5 and ".into()))
        );
        assert_eq!(
            parse("$a..b$"),
            Err(TemplateError::BadVariable("a..b".into()))
        );
        assert_eq!(
            parse("$a[x]$"),
            Err(TemplateError::BadVariable("a[x]".into()))
        );
        let deep = format!("{}{}", "{{#if a}}".repeat(100), "{{/if}}".repeat(100));
        let parsed = parse(&deep).unwrap();
        assert_eq!(
            Compiled::new(&parsed, "").err(),
            Some(TemplateError::TooDeep)
        );
        for partial in [
            "{{> p}}",
            "{{~> p}}",
            "{{#> p}}x{{/p}}",
            "{{#*inline \"p\"}}x{{/inline}}",
            "{{* d}}",
        ] {
            let parsed = parse(partial).unwrap();
            assert_eq!(
                Compiled::new(&parsed, "").err(),
                Some(TemplateError::Partials),
                "{partial}"
            );
        }
        let parsed = parse("{{#if a}}").unwrap();
        assert!(matches!(
            Compiled::new(&parsed, ""),
            Err(TemplateError::Handlebars(_))
        ));
    }
}
