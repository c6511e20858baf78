//! One grammar per value form (issue 10, item 6): every duration key, of the configuration file
//! and of the mapping sections alike, takes the same duration strings, and a bad one is a
//! `FILE:LINE` error naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use genhook::config::{env, Config};

/// Every unit form, and what it means.
const FORMS: &[(&str, Duration)] = &[
    ("1500ms", Duration::from_millis(1500)),
    ("30s", Duration::from_secs(30)),
    ("30 sec", Duration::from_secs(30)),
    ("1second", Duration::from_secs(1)),
    ("5m", Duration::from_secs(300)),
    ("5min", Duration::from_secs(300)),
    ("2 MINUTE", Duration::from_secs(120)),
    ("1h", Duration::from_secs(3600)),
    ("1hour", Duration::from_secs(3600)),
    ("3d", Duration::from_secs(259_200)),
    ("1day", Duration::from_secs(86_400)),
];

/// Where a key's value lands in the parsed configuration.
type Read = fn(&Config) -> Duration;

/// Every duration key of the configuration file, and where its value lands.
const CONFIG_KEYS: &[(&str, Read)] = &[
    ("header_read_timeout", |c| c.header_read_timeout),
    ("request_timeout", |c| c.request_timeout),
    ("idle_timeout", |c| c.idle_timeout),
    ("http2_keep_alive_interval", |c| c.http2_keep_alive_interval),
    ("sl1_timeout", |c| c.sl1_timeout),
    ("sl1_breaker_cooldown", |c| c.sl1_breaker_cooldown),
    ("processing_timeout", |c| c.processing_timeout),
    ("thread_timeout", |c| c.processing_timeout),
    ("shutdown_grace_period", |c| c.shutdown_grace_period),
    ("redis_claim_idle", |c| c.redis_claim_idle),
];

fn parse(text: &str) -> Result<Config, Vec<String>> {
    Config::parse_str(Path::new("test.ini"), text, &env::empty)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect())
}

#[test]
fn every_configuration_duration_key_takes_every_unit_form() {
    for (key, read) in CONFIG_KEYS {
        for (form, expected) in FORMS {
            let config = parse(&format!("{key} = {form}\n"))
                .unwrap_or_else(|e| panic!("{key} = {form}: {e:?}"));
            assert_eq!(read(&config), *expected, "{key} = {form}");
        }
        // A bare number is seconds, as it always was for these keys.
        assert_eq!(
            read(&parse(&format!("{key} = 45\n")).unwrap()),
            Duration::from_secs(45)
        );
    }
}

#[test]
fn a_bad_configuration_duration_is_a_file_line_error() {
    for (key, _) in CONFIG_KEYS {
        let text = format!("; a comment\n{key} = 5 hours\n");
        assert_eq!(
            parse(&text).unwrap_err(),
            [format!(
                r#"test.ini:2: {key}: not a duration (e.g. 500ms, 30s, 5m, 1h): "5 hours""#
            )],
        );
    }
}

/// The problems `genhook check` reports for one mapping file holding `section`'s settings
/// (built-in stages; a memory queue stands in for the real one), and the file's path.
fn check_mapping(section: &str) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stripe.ini");
    let text = format!(
        "[stripe]\nverify = stripe\nsecret = whsec_dGVzdA==\n{section}*: type::Stripe $type$\n"
    );
    std::fs::write(&file, text).unwrap();
    let queue = Arc::new(genhook::queue::memory::MemoryQueue::new(10));
    let mut resources = http::Extensions::new();
    resources.insert::<Arc<dyn genhook::core::queue::Queue>>(queue);
    let loader = genhook::loader::Loader::new(
        dir.path(),
        genhook::stack::builtin_registry(),
        resources,
        Arc::new(|_| None),
    );
    let problems = loader
        .check()
        .unwrap()
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect();
    (problems, file.display().to_string())
}

#[test]
fn every_mapping_duration_key_takes_every_unit_form() {
    for (form, _) in FORMS {
        for key in ["tolerance", "dedup_window"] {
            let (problems, _) = check_mapping(&format!("{key} = {form}\n"));
            assert_eq!(problems, Vec::<String>::new(), "{key} = {form}");
        }
    }
    // A bare number keeps what it meant for each key: seconds for `tolerance`, refused for
    // `dedup_window` (where only `0` stands alone).
    assert_eq!(check_mapping("tolerance = 300\n").0, Vec::<String>::new());
    assert_eq!(check_mapping("dedup_window = 0\n").0, Vec::<String>::new());
    let (problems, file) = check_mapping("dedup_window = 300\n");
    assert_eq!(
        problems,
        [format!(
            "{file}:4: dedup_window: bad duration `300`: expected a number and a unit (ms, s, m, h, d), e.g. 72h"
        )]
    );
}

#[test]
fn a_bad_mapping_duration_is_a_file_line_error() {
    let (problems, file) = check_mapping("tolerance = 5 hours\ndedup_window = 5 hours\n");
    assert_eq!(
        problems,
        [
            format!("{file}:4: `tolerance` must be a positive duration such as 300s or 5m"),
            format!(
                "{file}:5: dedup_window: bad duration `5 hours`: expected a number and a unit (ms, s, m, h, d), e.g. 72h"
            ),
        ]
    );
}
