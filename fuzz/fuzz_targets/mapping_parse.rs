//! Arbitrary bytes as a mapping file: loading never panics, refuses only with an error, and
//! every line it accepts extracts and renders without panicking.
#![no_main]

use std::path::Path;

use genhook_mapping::{LoadOptions, MappingSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let options = LoadOptions {
        env: &|name| (name.len() % 2 == 0).then(|| name.to_owned()),
        extra_keys: &["verify", "secret", "event"],
    };
    match MappingSet::parse_str(Path::new("fuzz.ini"), &text, &options) {
        Ok(loaded) => {
            let payload = serde_json::json!({"a": [1, {"b": "c"}], "d": {"e": null}});
            for source in loaded.mappings.sources() {
                for line in source.lines() {
                    let _ = line.render(&line.extract(&payload));
                }
            }
        }
        Err(diagnostics) => assert!(diagnostics.iter().any(|d| d.is_error())),
    }
});
