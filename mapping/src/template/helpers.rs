//! The helpers a raw `{{…}}` expression may call (`upper`, `lower`, `truncate`, `default`,
//! `join`, `json`), and the check, at load, that a compiled template calls only helpers that
//! exist, each with as many arguments as it takes, so that no template passes `genhook check`
//! to fail on every event.

use handlebars::template::{HelperTemplate, Parameter, Template, TemplateElement};
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde_json::Value;

use super::text_of;

/// Our helpers and handlebars' own block helpers: the arguments each takes (fewest, most), an
/// example, and what a literal argument at a position must be.
const ARITY: &[(&str, usize, usize, &str)] = &[
    ("upper", 1, 1, "{{upper action}}"),
    ("lower", 1, 1, "{{lower action}}"),
    ("truncate", 2, 2, "{{truncate title 40}}"),
    ("default", 2, 2, "{{default user \"unknown\"}}"),
    ("join", 1, 2, "{{join labels \" / \"}}"),
    ("json", 1, 1, "{{json labels}}"),
    ("if", 1, 1, "{{#if action}}…{{/if}}"),
    ("unless", 1, 1, "{{#unless action}}…{{/unless}}"),
    ("each", 1, 1, "{{#each labels}}…{{/each}}"),
    ("with", 1, 1, "{{#with repository}}…{{/with}}"),
];

/// handlebars' own helpers (those `Handlebars::new` registers).
const BUILT_IN: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "raw", "log", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

/// The helpers compiling a template writes itself (for `$…$` variables and escaped text).
const INTERNAL: &[&str] = &["genhook_var", "genhook_text"];

/// Whether a compiled template may call `name`.
fn known(name: &str) -> bool {
    ARITY.iter().any(|(n, ..)| *n == name) || BUILT_IN.contains(&name) || INTERNAL.contains(&name)
}

/// Checks every helper call of a compiled template: the helper exists (ours or handlebars'
/// built-ins), and ours and the block helpers get as many arguments as they take,
/// of the right kind when written as literals (`truncate`'s length, `join`'s separator).
pub(super) fn check_calls(template: &Template) -> Result<(), String> {
    template.elements.iter().try_for_each(check_element)
}

fn check_element(element: &TemplateElement) -> Result<(), String> {
    match element {
        TemplateElement::Expression(call) | TemplateElement::HtmlExpression(call) => {
            let name_only = !call.block && call.params.is_empty() && call.hash.is_empty();
            // `{{name}}` alone is a value, unless a helper has that name.
            if !name_only || call.name.as_name().is_some_and(known) {
                check_call(call)?;
            }
            check_params(call)
        }
        TemplateElement::HelperBlock(call) => {
            check_call(call)?;
            check_params(call)?;
            for inner in [&call.template, &call.inverse].into_iter().flatten() {
                check_calls(inner)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Checks the sub-expressions among a call's arguments.
fn check_params(call: &HelperTemplate) -> Result<(), String> {
    call.params
        .iter()
        .chain(call.hash.values())
        .try_for_each(|param| match param {
            Parameter::Subexpression(sub) => check_element(sub.as_element()),
            _ => Ok(()),
        })
}

/// Checks one call: its helper exists and gets the arguments it takes.
fn check_call(call: &HelperTemplate) -> Result<(), String> {
    let Some(name) = call.name.as_name() else {
        return Ok(());
    };
    if !known(name) {
        return Err(format!(
            "unknown helper `{name}` (the helpers are upper, lower, truncate, default, join, json, \
             and handlebars' if, unless, each, with, lookup, eq, ne, gt, gte, lt, lte, and, or, not, len)"
        ));
    }
    let Some(&(_, fewest, most, example)) = ARITY.iter().find(|(n, ..)| *n == name) else {
        return Ok(());
    };
    let given = call.params.len();
    if given < fewest || given > most {
        let takes = if fewest == most {
            format!("{fewest}")
        } else {
            format!("{fewest} or {most}")
        };
        return Err(format!(
            "`{name}` takes {takes} argument(s), given {given}: write e.g. {example}"
        ));
    }
    let literal = |i: usize| match call.params.get(i) {
        Some(Parameter::Literal(value)) => Some(value),
        _ => None,
    };
    match name {
        "truncate" if literal(1).is_some_and(|v| !v.is_u64()) => Err(format!(
            "`truncate` needs a length (a whole number) as its second argument: write e.g. {example}"
        )),
        "join" if literal(1).is_some_and(|v| !v.is_string()) => Err(format!(
            "`join` needs a text separator as its second argument: write e.g. {example}"
        )),
        _ => Ok(()),
    }
}

fn param_value<'a>(h: &'a Helper<'_>, index: usize) -> &'a Value {
    static NULL: Value = Value::Null;
    h.param(index).map_or(&NULL, |p| p.value())
}

pub(super) fn register_helpers(registry: &mut Handlebars<'static>) {
    registry.register_helper("upper", Box::new(upper));
    registry.register_helper("lower", Box::new(lower));
    registry.register_helper("truncate", Box::new(truncate));
    registry.register_helper("default", Box::new(default));
    registry.register_helper("join", Box::new(join));
    registry.register_helper("json", Box::new(json));
}

fn upper(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&text_of(param_value(h, 0)).to_uppercase())?;
    Ok(())
}

fn lower(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    out.write(&text_of(param_value(h, 0)).to_lowercase())?;
    Ok(())
}

fn truncate(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let limit = param_value(h, 1)
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            RenderErrorReason::Other(
                "truncate needs a length as its second argument, e.g. {{truncate title 40}}"
                    .to_owned(),
            )
        })?;
    let text = text_of(param_value(h, 0));
    if text.chars().count() <= limit {
        out.write(&text)?;
    } else {
        let cut: String = text.chars().take(limit).collect();
        out.write(&cut)?;
        out.write("…")?;
    }
    Ok(())
}

fn default(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let text = text_of(param_value(h, 0));
    if text.is_empty() {
        out.write(&text_of(param_value(h, 1)))?;
    } else {
        out.write(&text)?;
    }
    Ok(())
}

fn join(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let separator =
        match param_value(h, 1) {
            Value::Null => ", ",
            Value::String(s) => s.as_str(),
            _ => return Err(RenderErrorReason::Other(
                "join needs a text separator as its second argument, e.g. {{join labels \" / \"}}"
                    .to_owned(),
            )
            .into()),
        };
    let parts: Vec<String> = match param_value(h, 0) {
        Value::Array(items) => items
            .iter()
            .map(text_of)
            .filter(|t| !t.is_empty())
            .collect(),
        other => vec![text_of(other)],
    };
    out.write(&parts.join(separator))?;
    Ok(())
}

fn json(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let text = serde_json::to_string(param_value(h, 0))
        .map_err(|e| RenderErrorReason::Other(e.to_string()))?;
    out.write(&text)?;
    Ok(())
}
