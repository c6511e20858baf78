//! The body, parsed once into JSON: JSON bodies as they are; form-encoded bodies with a `payload`
//! field (GitHub form deliveries, Slack interactivity) unwrapped to that field's JSON; other form
//! bodies (Slack slash commands, `ssl_check`) turned into a JSON object of their fields.
//!
//! Bodies are parsed as JSON whatever their media type other than form encoding: SNS sends JSON as
//! `text/plain`, CloudEvents as `application/cloudevents+json`. A `charset` other than UTF-8,
//! invalid UTF-8, invalid JSON and a bare JSON scalar (`"text"`, `42`, `null`: nothing to map) are
//! refused with an [`IdentifyError`] (400). Nesting deeper than
//! serde_json's recursion limit (128) is refused as invalid JSON, never a stack overflow.

use bytes::Bytes;
use genhook_mapping::FieldTree;
use http::HeaderMap;
use percent_encoding::percent_decode;
use serde_json::{Map, Value};

use crate::error::IdentifyError;

const FORM: &str = "application/x-www-form-urlencoded";

/// Parses a webhook body into JSON, as the identify stage does.
///
/// # Errors
/// [`IdentifyError`] when the declared charset is not UTF-8, the body (or a decoded form field) is
/// not UTF-8, the body is empty, the JSON is invalid, or it is a scalar rather than an object or
/// an array.
pub fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, IdentifyError> {
    match read(headers, body, Depth::Full, |_| Bytes::new())? {
        // `Depth::Full` gives only the first.
        Read::Parsed(value)
        | Read::Object { view: value, .. }
        | Read::Extracted { fields: value, .. } => Ok(value),
    }
}

/// How far [`read_body`] parses a JSON object.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Depth<'w> {
    /// Into a whole `Value`, as [`parse_body`] does.
    Full,
    /// Into identify's view ([`crate::shallow`]), these top-level members whole.
    Shallow(&'w [String]),
    /// No view: checked as [`Depth::Full`] checks it in the pass that extracts this tree's fields
    /// (`FieldTree::extract_checked`), for settings that identify from headers alone.
    Fields(&'w FieldTree),
}

/// A body read by [`read_body`].
#[derive(Debug)]
pub(crate) enum Read {
    /// Parsed whole: [`Depth::Full`], arrays (batches), scalars, form fields.
    Parsed(Value),
    /// A JSON object, checked as [`parse_body`] checks it: identify's view of it, and its text
    /// (the body's own bytes, or a form's decoded `payload` field), not copied.
    Object { view: Value, json: Bytes },
    /// A JSON object read with [`Depth::Fields`]: checked as [`parse_body`] checks it, the tree's
    /// fields extracted, and its text as for [`Read::Object`].
    Extracted { fields: Value, json: Bytes },
}

/// A JSON object read lazily, before its text is attached.
enum Lazy {
    View(Value),
    Fields(Value),
}

impl Lazy {
    fn with_json(self, json: Bytes) -> Read {
        match self {
            Self::View(view) => Read::Object { view, json },
            Self::Fields(fields) => Read::Extracted { fields, json },
        }
    }
}

/// [`parse_body`] for the identify stage: the same checks and the same errors, but a JSON object
/// is read only as far as `depth` says.
///
/// # Errors
/// As [`parse_body`].
pub(crate) fn read_body(
    headers: &HeaderMap,
    body: &Bytes,
    depth: Depth<'_>,
) -> Result<Read, IdentifyError> {
    read(headers, body, depth, |text| body.slice_ref(text))
}

/// [`parse_body`] and [`read_body`]; `share` gives the bytes of a part of `body` without a copy.
fn read<'b>(
    headers: &HeaderMap,
    body: &'b [u8],
    depth: Depth<'_>,
    share: impl FnOnce(&'b [u8]) -> Bytes,
) -> Result<Read, IdentifyError> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (media_type, charset) = split_content_type(content_type);
    if let Some(charset) = charset {
        if !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")) {
            return Err(IdentifyError::charset(charset));
        }
    }
    let text = std::str::from_utf8(body).map_err(|_| IdentifyError::InvalidUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A JSON document under a form content type is what `curl -d '{…}'` sends: a form field
    // name never starts with `{` or `[`, so such a body is read as the JSON it is.
    let looks_like_json = matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['));
    if media_type.eq_ignore_ascii_case(FORM) && !looks_like_json {
        return parse_form(text, depth);
    }
    Ok(match read_json(text, depth)? {
        Some(lazy) => lazy.with_json(share(text.as_bytes())),
        None => Read::Parsed(parse_json(text)?),
    })
}

/// A JSON object read as `depth` asks (identify's view, or the fields of a tree); `None` when
/// the text is to be parsed whole (not lazily, or not an object: arrays are batches, whose
/// elements travel whole).
fn read_json(text: &str, depth: Depth<'_>) -> Result<Option<Lazy>, IdentifyError> {
    if !text.trim_start().starts_with('{') {
        return Ok(None);
    }
    let read = match depth {
        Depth::Full => return Ok(None),
        Depth::Shallow(wanted) => crate::shallow::read_object(text, wanted).map(Lazy::View),
        Depth::Fields(tree) => tree.extract_checked(text).map(Lazy::Fields),
    };
    read.map(Some).map_err(|e| IdentifyError::json(&e))
}

/// The media type and the `charset` parameter (unquoted) of a `Content-Type` value.
fn split_content_type(value: &str) -> (&str, Option<&str>) {
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or("").trim();
    let charset = parts.find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    });
    (media_type, charset)
}

fn parse_json(text: &str) -> Result<Value, IdentifyError> {
    if text.trim().is_empty() {
        return Err(IdentifyError::EmptyBody);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| IdentifyError::json(&e))?;
    let kind = match &value {
        Value::Object(_) | Value::Array(_) => return Ok(value),
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
    };
    Err(IdentifyError::NotAnObject { kind })
}

fn parse_form(text: &str, depth: Depth<'_>) -> Result<Read, IdentifyError> {
    let mut fields = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_form_component(name)?;
        let value = decode_form_component(value)?;
        if name == "payload" {
            return Ok(match read_json(&value, depth)? {
                Some(lazy) => lazy.with_json(Bytes::from(value)),
                None => Read::Parsed(parse_json(&value)?),
            });
        }
        fields.insert(name, Value::String(value));
    }
    if fields.is_empty() {
        return Err(IdentifyError::EmptyBody);
    }
    Ok(Read::Parsed(Value::Object(fields)))
}

/// Decodes one `application/x-www-form-urlencoded` component strictly: `+` is a space and the
/// percent-decoded bytes must be UTF-8 (a lossy decode would hide corrupt input).
fn decode_form_component(text: &str) -> Result<String, IdentifyError> {
    let spaced = text.replace('+', " ");
    percent_decode(spaced.as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| IdentifyError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use serde_json::json;

    fn with_type(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        headers
    }

    #[test]
    fn json_body_is_parsed_whatever_the_media_type() {
        for content_type in ["application/json", "text/plain; charset=UTF-8", ""] {
            let value = parse_body(&with_type(content_type), br#"{"a":[1,2]}"#).unwrap();
            assert_eq!(value, json!({"a": [1, 2]}), "{content_type}");
        }
    }

    #[test]
    fn form_payload_field_is_unwrapped() {
        let body = b"payload=%7B%22zen%22%3A%22Keep+it%22%2C%22hook_id%22%3A1%7D";
        let value = parse_body(&with_type(FORM), body).unwrap();
        assert_eq!(value, json!({"zen": "Keep it", "hook_id": 1}));
    }

    #[test]
    fn a_json_body_sent_as_a_form_is_read_as_json() {
        let value = parse_body(&with_type(FORM), br#" {"type":"t","id":"1"}"#).unwrap();
        assert_eq!(value, json!({"type": "t", "id": "1"}));
    }

    #[test]
    fn form_without_payload_becomes_an_object_of_fields() {
        let body = b"token=x&command=%2Fweather&text=94070+now&ssl_check=1";
        let value = parse_body(
            &with_type("application/x-www-form-urlencoded; charset=utf-8"),
            body,
        )
        .unwrap();
        assert_eq!(
            value,
            json!({"token": "x", "command": "/weather", "text": "94070 now", "ssl_check": "1"})
        );
    }

    #[test]
    fn other_charset_is_refused() {
        let error =
            parse_body(&with_type("application/json; charset=ISO-8859-1"), b"{}").unwrap_err();
        assert!(
            matches!(error, IdentifyError::UnsupportedCharset { ref charset } if charset == "ISO-8859-1")
        );
        let quoted = parse_body(&with_type("application/json; charset=\"latin1\""), b"{}");
        assert!(matches!(
            quoted,
            Err(IdentifyError::UnsupportedCharset { .. })
        ));
    }

    #[test]
    fn invalid_utf8_is_refused_in_body_and_in_form_fields() {
        let error = parse_body(&with_type("application/json"), b"{\"a\":\"\xff\"}").unwrap_err();
        assert!(matches!(error, IdentifyError::InvalidUtf8));
        let error = parse_body(&with_type(FORM), b"text=%FF").unwrap_err();
        assert!(matches!(error, IdentifyError::InvalidUtf8));
    }

    #[test]
    fn invalid_and_empty_json_are_refused() {
        let error = parse_body(&HeaderMap::new(), b"{\"a\":").unwrap_err();
        assert!(matches!(error, IdentifyError::InvalidJson { .. }));
        let error = parse_body(&HeaderMap::new(), b"  ").unwrap_err();
        assert!(matches!(error, IdentifyError::EmptyBody));
        let error = parse_body(&with_type(FORM), b"payload=%7Bnope").unwrap_err();
        assert!(matches!(error, IdentifyError::InvalidJson { .. }));
    }

    #[test]
    fn ten_thousand_deep_nesting_is_refused_not_a_crash() {
        let body = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let error = parse_body(&HeaderMap::new(), body.as_bytes()).unwrap_err();
        assert!(matches!(error, IdentifyError::InvalidJson { .. }));
        let objects = "{\"a\":".repeat(10_000) + "1" + &"}".repeat(10_000);
        assert!(parse_body(&HeaderMap::new(), objects.as_bytes()).is_err());
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let value = parse_body(&HeaderMap::new(), "\u{feff}{\"a\":1}".as_bytes()).unwrap();
        assert_eq!(value, json!({"a": 1}));
    }

    #[test]
    fn a_bare_json_scalar_is_refused_naming_its_kind() {
        let headers = with_type("application/json");
        for (body, kind) in [
            (r#""text""#, "string"),
            ("42", "number"),
            ("true", "boolean"),
            ("null", "null"),
        ] {
            let error = parse_body(&headers, body.as_bytes()).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("body is a JSON {kind}, not an object or an array"),
                "{body}"
            );
        }
        assert!(
            parse_body(&headers, b"[1, 2]").is_ok(),
            "arrays stay (batches)"
        );
        // A form's payload field is held to the same rule.
        let form = with_type("application/x-www-form-urlencoded");
        assert!(parse_body(&form, b"payload=42").is_err());
    }
}
