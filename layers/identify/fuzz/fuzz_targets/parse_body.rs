//! Fuzzes the identify stage's body parser and what runs on its output: the first byte picks a
//! content type, the rest is the body. Any panic, overflow or hang is a bug. The same input space
//! runs as a proptest in `tests/body_props.rs`.
#![no_main]

use genhook_identify::{delivery_id, detect, event_type, parse_body, IdentifySettings};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain; charset=UTF-8",
    "application/json; charset=latin1",
    "application/cloudevents+json; charset=utf-8",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    headers.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(payload) = parse_body(&headers, body) {
        let settings = IdentifySettings::default();
        let _ = detect(&headers, Some(&payload));
        let _ = event_type(&settings, &headers, &payload);
        let _ = delivery_id(&settings, &headers, &payload);
    }
});
