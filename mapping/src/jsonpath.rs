//! JSONPath fields, for what the compact field list cannot reach (a filter on an array's
//! elements): `name=$.path` in a line's field list, e.g.
//! `labels=$.pull_request.labels[?search(@.name, 'sev.*')].name` or
//! `cpu=$.data.alertContext.condition.allOf[?@.metricName=='Percentage CPU'].metricValue`.
//!
//! The expression (RFC 9535, through jsonpath-rust) is compiled once, at load; a bad one is an
//! error at the line's `FILE:LINE`. At render time its result is named for the template
//! (`$labels$`): no match leaves the field missing, one match is that value, several are an
//! array. A line with a JSONPath field reads the whole payload (the compact fields alone are
//! read lazily).

use jsonpath_rust::parser::model::JpQuery;
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde_json::{Map, Value};

use crate::fields::valid_name;

/// One `name=$…` field, compiled.
#[derive(Debug, Clone)]
pub(crate) struct PathField {
    /// The name the template uses.
    pub(crate) name: String,
    query: JpQuery,
}

impl PathField {
    /// Compiles `name=$…`; `Ok(None)` when `entry` is not a JSONPath field.
    pub(crate) fn parse(entry: &str) -> Result<Option<Self>, String> {
        let Some((name, path)) = entry.split_once('=') else {
            return Ok(None);
        };
        let (name, path) = (name.trim(), path.trim());
        if !path.starts_with('$') {
            return Ok(None);
        }
        if !valid_name(name) {
            return Err(format!("bad JSONPath field name `{name}`"));
        }
        let query = parse_json_path(path).map_err(|e| {
            format!(
                "bad JSONPath for field `{name}` ({path}): {}",
                one_line(&e.to_string())
            )
        })?;
        Ok(Some(Self {
            name: name.to_owned(),
            query,
        }))
    }

    /// Adds this field's result over `payload` to `out` (nothing when nothing matches).
    pub(crate) fn extract_into(&self, payload: &Value, out: &mut Map<String, Value>) {
        let found: Vec<Value> = js_path_process(&self.query, payload)
            .map(|refs| refs.into_iter().map(|r| r.val.clone()).collect())
            .unwrap_or_default();
        let value = match <[Value; 1]>::try_from(found) {
            Ok([one]) => one,
            Err(found) if found.is_empty() => return,
            Err(found) => Value::Array(found),
        };
        out.insert(self.name.clone(), value);
    }
}

impl crate::CompiledLine {
    /// Whether the line has `name=$…` JSONPath fields: it then reads the whole payload.
    pub fn has_json_paths(&self) -> bool {
        !self.paths.is_empty()
    }

    /// Whether the line declares any field (compact or JSONPath).
    pub fn declares_fields(&self) -> bool {
        !self.fields.is_leaf() || self.has_json_paths()
    }

    /// A JSON object holding only the declared fields, the payload's shape kept, and each
    /// JSONPath field's result under its name.
    pub fn extract(&self, payload: &Value) -> Value {
        let mut value = self.fields.extract(payload);
        if let Value::Object(out) = &mut value {
            for path in &self.paths {
                path.extract_into(payload, out);
            }
        }
        value
    }
}

/// A parser's message on one line: pest draws the expression over several lines with a caret
/// (`--> 1:7`, `= expected atom_expr`); keep the column and what was expected.
fn one_line(message: &str) -> String {
    let column = message
        .split("--> ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|at| at.rsplit(':').next());
    let expected = message.lines().find_map(|l| l.trim().strip_prefix("= "));
    match (column, expected) {
        (Some(column), Some(expected)) => format!("{expected} at character {column}"),
        _ => message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Splits a field list at its top-level commas (not inside `[]`, `()`, `{}` or quotes).
pub(crate) fn split_entries(list: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None::<char>, 0usize);
    for (at, c) in list.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(' | '{') => depth += 1,
            (None, ']' | ')' | '}') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                entries.push(list.get(start..at).unwrap_or(""));
                start = at + 1;
            }
            _ => {}
        }
    }
    entries.push(list.get(start..).unwrap_or(""));
    entries
}

/// A field list split into its compact part (for [`FieldTree::parse`](crate::FieldTree::parse))
/// and its JSONPath fields.
pub(crate) fn split_list(list: &str) -> Result<(String, Vec<PathField>), String> {
    if !list.contains("=$") && !list.contains("= $") {
        return Ok((list.to_owned(), Vec::new()));
    }
    let mut compact = Vec::new();
    let mut paths: Vec<PathField> = Vec::new();
    for entry in split_entries(list) {
        match PathField::parse(entry)? {
            Some(field) if paths.iter().any(|p| p.name == field.name) => {
                return Err(format!("JSONPath field `{}` is declared twice", field.name));
            }
            Some(field) => paths.push(field),
            None => compact.push(entry),
        }
    }
    Ok((compact.join(","), paths))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn run(list: &str, payload: &Value) -> Value {
        let (_, paths) = split_list(list).unwrap();
        let mut out = Map::new();
        for path in &paths {
            path.extract_into(payload, &mut out);
        }
        Value::Object(out)
    }

    #[test]
    fn entries_split_at_top_level_commas_only() {
        assert_eq!(
            split_entries("a,b{c,d},x=$.l[?@.n=='a,b'].v,y=$.m[0,1]"),
            vec!["a", "b{c,d}", "x=$.l[?@.n=='a,b'].v", "y=$.m[0,1]"]
        );
        let (compact, paths) = split_list("action, l=$.labels[*].name ,repository{name}").unwrap();
        assert_eq!(compact, "action,repository{name}");
        assert_eq!(paths.len(), 1);
    }

    #[test]
    fn results_none_one_or_many() {
        let payload = json!({"labels": [{"name": "sev1"}, {"name": "bug"}, {"name": "sev2"}]});
        assert_eq!(
            run("s=$.labels[?search(@.name, 'sev.*')].name,b=$.labels[?@.name=='bug'].name,z=$.nope", &payload),
            json!({"s": ["sev1", "sev2"], "b": "bug"})
        );
    }

    #[test]
    fn bad_expressions_and_names_are_refused() {
        assert!(split_list("x=$.a[?(")
            .unwrap_err()
            .starts_with("bad JSONPath for field `x`"));
        assert!(split_list("a.b=$.a")
            .unwrap_err()
            .starts_with("bad JSONPath field name"));
        assert!(split_list("x=$.a,x=$.b")
            .unwrap_err()
            .contains("declared twice"));
    }
}
