//! `genhook dlq show ID`: one dead letter in full, its stored body decoded for people and
//! scripts alike. The admin API answers the body as base64 (it may be any bytes); here it
//! becomes the parsed JSON document when it is JSON, the text when it is UTF-8, and stays
//! base64 only otherwise, with `body_encoding` (`json`, `text` or `base64`) saying which.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use crate::cli::output::{cell, fields, time_ms, Report};

/// How a body is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyEncoding {
    /// Parsed: the body is a JSON document.
    Json,
    /// The body is UTF-8 text but not JSON.
    Text,
    /// Neither: base64 of the bytes.
    Base64,
}

impl BodyEncoding {
    fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Text => "text",
            Self::Base64 => "base64",
        }
    }
}

/// The body as shown, and how.
pub(crate) fn decode_body(bytes: &[u8]) -> (Value, BodyEncoding) {
    match std::str::from_utf8(bytes) {
        Ok(text) => match serde_json::from_str::<Value>(text) {
            Ok(document) => (document, BodyEncoding::Json),
            Err(_) => (Value::String(text.to_owned()), BodyEncoding::Text),
        },
        Err(_) => (Value::String(STANDARD.encode(bytes)), BodyEncoding::Base64),
    }
}

/// A dead letter as the server answered it, its body decoded.
#[derive(Debug)]
pub(super) struct Shown(Value);

impl Shown {
    /// The server's answer (`{"event": {…, "body": base64}, "dead_at_ms"}`) with
    /// `event.body` decoded and `event.body_encoding` added. A body that is not base64 (not
    /// expected from GenHook's own server) is left as it is.
    pub(super) fn new(mut answer: Value) -> Self {
        if let Some(event) = answer.get_mut("event").and_then(Value::as_object_mut) {
            let bytes = event
                .get("body")
                .and_then(Value::as_str)
                .and_then(|text| STANDARD.decode(text).ok());
            if let Some(bytes) = bytes {
                let (body, encoding) = decode_body(&bytes);
                event.insert("body".into(), body);
                event.insert("body_encoding".into(), Value::from(encoding.name()));
            }
        }
        Self(answer)
    }
}

impl Report for Shown {
    fn json(&self) -> Value {
        self.0.clone()
    }

    fn text(&self) -> String {
        let null = Value::Null;
        let event = self.0.get("event").unwrap_or(&null);
        let field = |name: &str| cell(event.get(name));
        let mut pairs = vec![
            ("id", field("id")),
            ("source", field("source")),
            ("event", field("event")),
            ("delivery id", field("delivery_id")),
            ("priority", field("priority")),
            ("attempts", field("attempts")),
            ("received", time_ms(event.get("received_at_ms"))),
            ("dead since", time_ms(self.0.get("dead_at_ms"))),
            ("last error", field("last_error")),
        ];
        if let Some(Value::String(error)) = event.get("render_error") {
            pairs.push(("render error", error.clone()));
        }
        let message = event.get("alert").and_then(|alert| alert.get("message"));
        pairs.push(("message", cell(message)));
        let mut text = fields(&pairs);
        text.push_str("headers:\n");
        for header in event
            .get("headers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let part = |at: usize| cell(header.get(at));
            text.push_str(&format!("  {}: {}\n", part(0), part(1)));
        }
        let body = event.get("body").unwrap_or(&null);
        text.push_str(&format!("body ({}):\n", cell(event.get("body_encoding"))));
        let shown = match body {
            Value::String(s) => s.clone(),
            other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
        };
        text.push_str(&shown);
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(body: &[u8]) -> Value {
        Shown::new(serde_json::json!({
            "event": {"id": "a1", "body": STANDARD.encode(body), "headers": [["X-GitHub-Event", "push"]]},
            "dead_at_ms": 0,
        }))
        .json()
    }

    #[test]
    fn a_json_body_is_parsed_text_stays_text_and_only_other_bytes_are_base64() {
        let json = shown(br#"{"action": "opened", "n": [1, 2]}"#);
        assert_eq!(json["event"]["body"]["action"], "opened");
        assert_eq!(json["event"]["body_encoding"], "json");

        let text = shown("plain text, ünïcode".as_bytes());
        assert_eq!(text["event"]["body"], "plain text, ünïcode");
        assert_eq!(text["event"]["body_encoding"], "text");

        let binary = shown(&[0xff, 0x00, 0xfe]);
        assert_eq!(binary["event"]["body"], STANDARD.encode([0xff, 0x00, 0xfe]));
        assert_eq!(binary["event"]["body_encoding"], "base64");
    }

    #[test]
    fn the_text_form_has_the_fields_the_headers_and_the_body() {
        let text = Shown::new(serde_json::json!({
            "event": {"id": "a1", "source": "github", "body": STANDARD.encode(br#"{"a":1}"#),
                      "headers": [["X-GitHub-Event", "push"]], "alert": {"message": "GitHub push"}},
            "dead_at_ms": 0,
        }))
        .text();
        assert!(text.starts_with("id:"), "{text}");
        assert!(text.contains("  X-GitHub-Event: push\n"), "{text}");
        assert!(text.contains("message:"), "{text}");
        assert!(text.contains("body (json):\n{\n  \"a\": 1\n}\n"), "{text}");
    }
}
