//! A JSON object read as far as identification needs, in one pass over the text: every member's
//! name, every scalar member's value, and the members some rule looks into (`event` for Slack's
//! `event.type`, the first name of an `event =` / `delivery_id =` field path) in full. Any other
//! object or array member is checked and stands as an empty object or array, so that a rule
//! asking whether it is there, or for its text, gets the answer the whole payload would give.
//!
//! The text is checked exactly as a full parse into `serde_json::Value` checks it — the same
//! parser code on every byte (nesting limit, escapes, numbers, trailing characters), so the same
//! documents are refused with the same reason — without building the values nobody reads (the
//! allocations were most of the cost: ~0.2× of a full parse on a 25 KB GitHub delivery).
//!
//! Skipped values are checked with [`Check`] (shared with the extract walk's checked mode).
//!
//! Only `identify` reads this view; the stages after it get the text itself
//! ([`JsonBody`](genhook_core::stage::JsonBody)).

use std::fmt;

use genhook_mapping::Check;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The view of the JSON object `text` (the caller checked it starts with `{`).
pub(crate) fn read_object(text: &str, wanted: &[String]) -> Result<Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let view = Members { wanted }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(view)
}

/// The top level: every member by name, wanted ones whole.
struct Members<'w> {
    wanted: &'w [String],
}

impl<'de> DeserializeSeed<'de> for Members<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Members<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let value = if self.wanted.contains(&name) {
                map.next_value::<Value>()?
            } else {
                map.next_value_seed(Shape)?
            };
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

/// A member nobody looks into: scalars as they are, objects and arrays checked and emptied.
struct Shape;

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shape {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        Check.visit_seq(seq)?;
        Ok(Value::Array(Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        Check.visit_map(map)?;
        Ok(Value::Object(Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use http::{HeaderMap, HeaderName, HeaderValue};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::handshake;
    use crate::ident::{identify_with, provider_for};
    use crate::provider::Provider;
    use crate::selector::Selector;
    use crate::service::looked_into;
    use crate::settings::IdentifySettings;

    /// What identify decides from a payload: provider, handshake, event type, delivery id.
    fn decisions(settings: &IdentifySettings, headers: &HeaderMap, payload: &Value) -> String {
        let provider = provider_for(settings, headers, payload);
        let handshake = handshake::find(provider, headers, payload);
        let ids = identify_with(settings, provider, headers, payload);
        format!("{provider:?} {handshake:?} {ids:?}")
    }

    /// Every setting shape identify has: detection, each provider, field-path selectors.
    fn all_settings() -> Vec<IdentifySettings> {
        let mut all = vec![IdentifySettings::default()];
        all.extend(Provider::ALL.map(IdentifySettings::for_provider));
        for (event, id) in [
            ("event.type", "event_id"),
            ("detail.state", "detail.instance-id"),
            ("issue.fields.status.name", "issue.key"),
            ("data.object.id", "0.id"),
            ("header:x-github-event", "pull_request.number"),
        ] {
            let mut settings = IdentifySettings {
                event: Some(Selector::parse(event).unwrap()),
                delivery_id: Some(Selector::parse(id).unwrap()),
                ..IdentifySettings::default()
            };
            all.push(settings.clone());
            settings.provider = Some(Provider::Github);
            all.push(settings);
        }
        all
    }

    fn assert_same_decisions(text: &str, headers: &HeaderMap) {
        let full: Value = serde_json::from_str(text).unwrap();
        for settings in all_settings() {
            let view = read_object(text, &looked_into(&settings)).unwrap();
            assert_eq!(
                decisions(&settings, headers, &view),
                decisions(&settings, headers, &full),
                "{settings:?} on {text:.80}"
            );
        }
    }

    fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                json_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_fixture_is_identified_from_the_view_as_from_the_whole_payload() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
        let mut files = Vec::new();
        json_files(&fixtures, &mut files);
        let mut objects = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            if text.trim_start().starts_with('{') {
                objects += 1;
                assert_same_decisions(&text, &HeaderMap::new());
            }
        }
        assert!(objects >= 30, "only {objects} fixtures found");
        // The signature vectors: each body with its provider's headers.
        let vectors: Vec<Value> =
            serde_json::from_str(include_str!("../tests/data/signature_vectors.json")).unwrap();
        for vector in &vectors {
            let body = vector["body"].as_str().unwrap_or("");
            if !body.trim_start().starts_with('{') {
                continue;
            }
            let mut headers = HeaderMap::new();
            for (name, value) in vector["headers"].as_object().into_iter().flatten() {
                headers.insert(
                    HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
                );
            }
            assert_same_decisions(body, &headers);
        }
    }

    #[test]
    fn handshakes_and_nested_event_types_are_found_in_the_view() {
        for text in [
            r#"{"type":"url_verification","challenge":"c","token":"t"}"#,
            r#"{"type":"event_callback","event_id":"Ev1","api_app_id":"A","event":{"type":"message"}}"#,
            r#"{"Type":"SubscriptionConfirmation","MessageId":"m","TopicArn":"arn","SubscribeURL":"https://x"}"#,
            r#"{"ssl_check":"1"}"#,
            r#"{"type":{"nested":1},"id":["evt_1"],"object":"event","detail":{},"detail-type":"X","source":"s"}"#,
            r#"{"specversion":"1.0","type":"T","source":"S","id":"I"}"#,
            r#"{"event":"e","event":{"type":"second wins"}}"#,
        ] {
            assert_same_decisions(text, &HeaderMap::new());
        }
    }

    /// Names the providers' rules read, so that generated objects hit them.
    const NAMES: &[&str] = &[
        "type",
        "id",
        "object",
        "event",
        "event_id",
        "api_app_id",
        "challenge",
        "ssl_check",
        "command",
        "Type",
        "MessageId",
        "TopicArn",
        "SubscribeURL",
        "detail-type",
        "detail",
        "source",
        "alertTypeId",
        "alertType",
        "alertId",
        "organizationId",
        "sharedSecret",
        "webhookEvent",
        "timestamp",
        "issue",
        "user",
        "specversion",
        "eventType",
        "data",
        "state",
        "instance-id",
        "0",
    ];

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            prop::sample::select(&["evt_1", "event_callback", "url_verification", "1", ""][..])
                .prop_map(Value::from),
            ".{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(NAMES), inner), 0..5).prop_map(
                    |pairs| Value::Object(
                        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                    )
                ),
            ]
        })
    }

    proptest! {
        #[test]
        fn generated_objects_are_identified_from_the_view_as_from_the_whole(
            pairs in prop::collection::vec((prop::sample::select(NAMES), json_value()), 0..8),
        ) {
            let object: Map<String, Value> =
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            assert_same_decisions(&Value::Object(object).to_string(), &HeaderMap::new());
        }

        #[test]
        fn text_is_refused_exactly_when_and_as_a_full_parse_refuses_it(
            text in r#"\{[ "a-z0-9:,\[\]{}.eE+\-\\u]{0,40}"#,
        ) {
            let full = serde_json::from_str::<Value>(&text).map_err(|e| e.to_string());
            let view = read_object(&text, &[]).map_err(|e| e.to_string());
            prop_assert_eq!(full.err(), view.err());
        }
    }

    #[test]
    fn refusals_match_a_full_parse_on_the_edges_a_skip_would_miss() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        for text in [
            deep.as_str(),
            r#"{"a":"\ud800"}"#,
            r#"{"a":1e999}"#,
            r#"{"a":"tab	in string"}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":{"b":1,}}"#,
            r#"{"a":1} {}"#,
            r#"{"a":-}"#,
        ] {
            let full = serde_json::from_str::<Value>(text).unwrap_err().to_string();
            let view = read_object(text, &[]).unwrap_err().to_string();
            assert_eq!(view, full, "{text}");
        }
        let ok = r#"{"a":{"b":[1,2.5,-3,"x\u00e9",true,null]},"n":1}"#;
        assert_eq!(read_object(ok, &[]).unwrap(), json!({"a": {}, "n": 1}));
        assert_eq!(
            read_object(ok, &["a".to_owned()]).unwrap(),
            json!({"a": {"b": [1, 2.5, -3, "xé", true, null]}, "n": 1})
        );
    }
}
