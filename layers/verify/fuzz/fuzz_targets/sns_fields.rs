//! Fuzzes the AWS SNS message parser and canonical-string builder (also run as a proptest in
//! `tests/properties.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(message) = genhook_verify::sns::parse_message(data) {
        let _ = message.canonical_string().len();
    }
});
