//! Fuzzes the Standard Webhooks `webhook-signature` list parser (also run as a proptest in
//! `tests/properties.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(header) = std::str::from_utf8(data) {
        let _ = genhook_verify::scheme::standard_webhooks::parse_signatures(header).count();
    }
});
