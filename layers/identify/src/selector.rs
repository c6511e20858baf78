//! Where a value is read from: `header:NAME` or a dotted field path into the payload (`type`,
//! `event.type`, `detail-type`, `data.object.id`, `records.0.id`). Parsed once at load.

use std::fmt;

use http::{HeaderMap, HeaderName};
use serde_json::Value;

/// A place to read a value from, as written in a setting (`event =`, `delivery_id =`).
#[derive(Clone, PartialEq, Eq)]
pub enum Selector {
    /// A request header, e.g. `header:X-GitHub-Event`.
    Header(HeaderName),
    /// A field of the payload, e.g. `event.type`.
    Field(FieldPath),
}

impl Selector {
    /// Parses `header:NAME` or a field path.
    ///
    /// # Errors
    /// A lower-case sentence saying what is wrong (empty path segment, bad header name).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        match text.split_once(':') {
            Some((kind, name)) if kind.trim().eq_ignore_ascii_case("header") => {
                HeaderName::from_bytes(name.trim().as_bytes())
                    .map(Self::Header)
                    .map_err(|_| format!("`{}` is not a valid header name", name.trim()))
            }
            _ => FieldPath::parse(text).map(Self::Field),
        }
    }

    /// The value it selects, as text (strings as they are, numbers and booleans printed);
    /// `None` when absent, empty, or an object, array or null.
    pub fn select(&self, headers: &HeaderMap, payload: &Value) -> Option<String> {
        match self {
            Self::Header(name) => headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            Self::Field(path) => path.lookup(payload).and_then(scalar_text),
        }
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(name) => write!(f, "header:{name}"),
            Self::Field(path) => write!(f, "{path:?}"),
        }
    }
}

/// A dotted path into a JSON payload. A numeric segment indexes an array. When the payload is an
/// array (an Event Grid batch) and the path does not start with an index, it is looked up in the
/// first element.
#[derive(Clone, PartialEq, Eq)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    /// Parses `a.b.c`.
    ///
    /// # Errors
    /// When the path is empty or has an empty segment.
    pub fn parse(text: &str) -> Result<Self, String> {
        let segments: Vec<String> = text.trim().split('.').map(str::to_owned).collect();
        if segments.iter().any(|s| s.trim().is_empty()) {
            return Err(format!("`{text}` is not a field path (empty segment)"));
        }
        Ok(Self(segments))
    }

    /// The first name of the path: the top-level member it reads.
    pub(crate) fn first(&self) -> &str {
        self.0.first().map_or("", String::as_str)
    }

    /// The value at this path, if any.
    pub fn lookup<'v>(&self, payload: &'v Value) -> Option<&'v Value> {
        let walk = |start: &'v Value| {
            self.0
                .iter()
                .try_fold(start, |value, segment| step(value, segment))
        };
        match payload {
            Value::Array(items) => walk(payload).or_else(|| items.first().and_then(walk)),
            _ => walk(payload),
        }
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// Looks up a dotted path without parsing it first (the provider defaults' fixed paths).
pub(crate) fn lookup_dotted<'v>(payload: &'v Value, path: &str) -> Option<&'v Value> {
    let walk = |start: &'v Value| {
        path.split('.')
            .try_fold(start, |value, segment| step(value, segment))
    };
    match payload {
        Value::Array(items) => walk(payload).or_else(|| items.first().and_then(walk)),
        _ => walk(payload),
    }
}

fn step<'v>(value: &'v Value, segment: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    }
}

/// A scalar as text; `None` for null, objects, arrays and empty strings.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_header_and_field_selectors() {
        let headers = {
            let mut h = HeaderMap::new();
            h.insert("x-github-event", "push".parse().unwrap());
            h
        };
        let payload =
            json!({"event": {"type": "message"}, "detail-type": "X", "n": 7, "a": [{"id": "z"}]});
        let select = |s: &str| Selector::parse(s).unwrap().select(&headers, &payload);
        assert_eq!(select("header:X-GitHub-Event").as_deref(), Some("push"));
        assert_eq!(select("event.type").as_deref(), Some("message"));
        assert_eq!(select("detail-type").as_deref(), Some("X"));
        assert_eq!(select("n").as_deref(), Some("7"));
        assert_eq!(select("a.0.id").as_deref(), Some("z"));
        assert_eq!(select("event"), None);
        assert_eq!(select("missing.path"), None);
    }

    #[test]
    fn array_payload_is_looked_up_in_its_first_element() {
        let payload = json!([{"eventType": "Microsoft.Storage.BlobCreated"}, {"eventType": "b"}]);
        let path = FieldPath::parse("eventType").unwrap();
        assert_eq!(
            path.lookup(&payload),
            Some(&json!("Microsoft.Storage.BlobCreated"))
        );
    }

    #[test]
    fn bad_selectors_are_refused() {
        assert!(Selector::parse("header:bad name").is_err());
        assert!(Selector::parse("a..b").is_err());
        assert!(Selector::parse("").is_err());
    }
}
