#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Properties of the body parser (the same input space as the fuzz target in `fuzz/`): it never
//! panics on any bytes under any content type, JSON objects and arrays round-trip (scalars are
//! refused), and form fields round-trip.

use genhook_identify::{detect, event_type, parse_body, IdentifySettings};
use http::{HeaderMap, HeaderValue};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use proptest::prelude::*;
use serde_json::{Map, Value};

const CONTENT_TYPES: &[&str] = &[
    "",
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=UTF-8",
    "text/plain; charset=UTF-8",
    "application/json; charset=latin1",
];

fn headers(content_type: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if !content_type.is_empty() {
        headers.insert("content-type", HeaderValue::from_str(content_type).unwrap());
    }
    headers
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn form_encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

proptest! {
    #[test]
    fn never_panics_on_any_bytes(
        index in 0..CONTENT_TYPES.len(),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let headers = headers(CONTENT_TYPES[index]);
        if let Ok(payload) = parse_body(&headers, &body) {
            let _ = detect(&headers, Some(&payload));
            let _ = event_type(&IdentifySettings::default(), &headers, &payload);
        }
    }

    #[test]
    fn json_round_trips(value in json_value()) {
        let text = value.to_string();
        if !(value.is_object() || value.is_array()) {
            // A bare scalar has no field to map: refused, whichever way it is sent.
            prop_assert!(parse_body(&headers("application/json"), text.as_bytes()).is_err());
            return Ok(());
        }
        let first = parse_body(&headers("application/json"), text.as_bytes()).unwrap();
        prop_assert_eq!(&first, &value);
        // The same JSON sent form-encoded as GitHub's `payload=` field.
        let form = format!("payload={}", form_encode(&text));
        prop_assert_eq!(
            parse_body(&headers("application/x-www-form-urlencoded"), form.as_bytes()).unwrap(),
            value
        );
    }

    #[test]
    fn form_fields_round_trip(fields in prop::collection::btree_map("[a-z_]{1,8}", ".{0,16}", 1..8)) {
        prop_assume!(!fields.contains_key("payload"));
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let parsed = parse_body(&headers("application/x-www-form-urlencoded"), body.as_bytes()).unwrap();
        let expected: Map<String, Value> =
            fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        prop_assert_eq!(parsed, Value::Object(expected));
    }
}
