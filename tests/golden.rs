//! Golden test of the default mappings against real provider payloads.
//!
//! `tests/fixtures/golden.json` lists every payload in `tests/fixtures/<provider>/` with the source
//! it belongs to, its event type, the headers the provider sends and the message the default
//! mapping in `mappings/` must render. This test loads `mappings/` exactly as a fresh machine would
//! (no environment variable set), then for each entry selects the line for the event, extracts the
//! fields from the payload and renders the message. Every mismatch is printed before the test fails.
//! The same manifest (with its `headers`) is meant to be replayed over HTTP by an end-to-end test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use genhook_mapping::{LoadOptions, Loaded, MappingSet};
use serde::Deserialize;
use serde_json::Value;

/// The section keys the pipeline stages register besides the mapping language's own.
const EXTRA_KEYS: &[&str] = &[
    "verify",
    "secret",
    "event",
    "rate_limit",
    "max_concurrent",
    "priority",
    "dedup_window",
];

/// The eight providers that must each have a default mapping file.
const PROVIDERS: &[&str] = &[
    "aws", "azure", "github", "jira", "meraki", "shopify", "slack", "stripe",
];

/// One entry of `golden.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    source: String,
    fixture: String,
    event: String,
    headers: BTreeMap<String, String>,
    /// The body is a JSON array of events (Azure Event Grid); `expected` then holds one message
    /// per element.
    #[serde(default)]
    batch: bool,
    expected: Value,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures_dir() -> PathBuf {
    root().join("tests").join("fixtures")
}

fn manifest() -> Vec<Entry> {
    let path = fixtures_dir().join("golden.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn load_defaults() -> Loaded {
    let options = LoadOptions {
        env: &no_env,
        extra_keys: EXTRA_KEYS,
    };
    match MappingSet::load_dir(&root().join("mappings"), &options) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{d}");
            }
            panic!(
                "the default mappings do not load: {} problem(s)",
                diagnostics.len()
            );
        }
    }
}

fn read_payload(fixture: &str) -> Value {
    let path = fixtures_dir().join(fixture);
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The messages an entry must render: one per event in the body.
fn expected_messages(entry: &Entry) -> Result<Vec<String>, String> {
    match (&entry.expected, entry.batch) {
        (Value::String(s), false) => Ok(vec![s.clone()]),
        (Value::Array(items), true) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "batch expected must be a list of strings".to_owned())
            })
            .collect(),
        _ => Err("expected must be a string, or a list of strings when batch is true".to_owned()),
    }
}

/// Renders one entry with the loaded mappings; `Err` says why it could not be rendered.
fn render_entry(mappings: &MappingSet, entry: &Entry) -> Result<Vec<String>, String> {
    let source = mappings
        .source(&entry.source)
        .ok_or_else(|| format!("no source `{}` in mappings/", entry.source))?;
    let line = source
        .select(&entry.event)
        .ok_or_else(|| format!("no line of `{}` maps event `{}`", entry.source, entry.event))?;
    let payload = read_payload(&entry.fixture);
    let events: Vec<&Value> = if entry.batch {
        payload
            .as_array()
            .ok_or_else(|| "batch fixture is not a JSON array".to_owned())?
            .iter()
            .collect()
    } else {
        vec![&payload]
    };
    events
        .into_iter()
        .map(|event| {
            line.render(&line.extract(event))
                .map_err(|e| format!("render failed: {e}"))
        })
        .collect()
}

#[test]
fn default_mappings_render_every_fixture_as_expected() {
    let loaded = load_defaults();
    let entries = manifest();
    assert!(!entries.is_empty(), "golden.json lists no fixture");
    let mut failures = Vec::new();
    for entry in &entries {
        let outcome = expected_messages(entry)
            .and_then(|expected| render_entry(&loaded.mappings, entry).map(|got| (got, expected)));
        match outcome {
            Ok((got, expected)) if got == expected => {}
            Ok((got, expected)) => failures.push(format!(
                "{} ({} / {}):\n  expected: {expected:?}\n  rendered: {got:?}",
                entry.fixture, entry.source, entry.event
            )),
            Err(reason) => failures.push(format!("{}: {reason}", entry.fixture)),
        }
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden entries failed (see above)",
        failures.len(),
        entries.len()
    );
}

#[test]
fn default_mappings_load_without_warnings_and_cover_every_provider() {
    let loaded = load_defaults();
    for warning in &loaded.warnings {
        eprintln!("{warning}");
    }
    assert!(
        loaded.warnings.is_empty(),
        "the default mappings have {} warning(s) (see above)",
        loaded.warnings.len()
    );
    let names: BTreeSet<&str> = loaded.mappings.sources().map(|s| s.name()).collect();
    let wanted: BTreeSet<&str> = PROVIDERS.iter().copied().collect();
    assert_eq!(names, wanted, "sources defined by mappings/");
    for source in loaded.mappings.sources() {
        let name = source.name();
        assert!(
            source.setting("event").is_some(),
            "source `{name}` has no `event` setting"
        );
        // Signature verification is the operator's choice: the shipped files keep it commented.
        assert!(
            source.setting("verify").is_none() && source.setting("secret").is_none(),
            "source `{name}` enables verify/secret in the shipped defaults"
        );
        assert!(
            source.select("*").is_some(),
            "source `{name}` has no fallback line for unknown events"
        );
    }
}

#[test]
fn every_fixture_is_in_the_manifest_and_every_entry_has_a_fixture() {
    let entries = manifest();
    let listed: BTreeSet<String> = entries.iter().map(|e| e.fixture.clone()).collect();
    assert_eq!(listed.len(), entries.len(), "a fixture is listed twice");
    let mut on_disk = BTreeSet::new();
    for provider in PROVIDERS {
        let dir = fixtures_dir().join(provider);
        let read = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        let mut count = 0;
        for item in read {
            let path = item.unwrap().path();
            if path.extension().and_then(|x| x.to_str()) == Some("json") {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                on_disk.insert(format!("{provider}/{name}"));
                count += 1;
            }
        }
        assert!(
            count >= 2,
            "{provider}: only {count} fixture(s), want at least 2"
        );
    }
    assert_eq!(on_disk, listed, "fixture files vs golden.json entries");
    for entry in &entries {
        assert!(
            Path::new(&entry.fixture).starts_with(&entry.source),
            "{} is not under the folder of source `{}`",
            entry.fixture,
            entry.source
        );
    }
}

#[test]
fn manifest_headers_carry_the_event_the_entry_names() {
    for entry in manifest() {
        let header = |name: &str| {
            entry
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        assert!(
            header("Content-Type").is_some(),
            "{}: no Content-Type header",
            entry.fixture
        );
        let carried = match entry.source.as_str() {
            "github" => header("X-GitHub-Event"),
            "shopify" => header("X-Shopify-Topic"),
            "aws" if entry.event == "Notification" => header("x-amz-sns-message-type"),
            _ => continue,
        };
        assert_eq!(
            carried,
            Some(entry.event.as_str()),
            "{}: the event header disagrees with `event`",
            entry.fixture
        );
    }
}

#[test]
fn absent_fields_render_as_a_dash_not_as_nothing() {
    let loaded = load_defaults();
    let empty = serde_json::json!({});
    for source in loaded.mappings.sources() {
        let setting = source.setting("missing").map(|s| s.value.as_str());
        assert_eq!(setting, Some("-"), "source `{}`: missing =", source.name());
        let line = source.select("*").expect("fallback line");
        let message = line.render(&line.extract(&empty)).unwrap();
        assert!(
            message.contains(" -") && !message.ends_with(' '),
            "source `{}` renders an empty payload as {message:?}",
            source.name()
        );
    }
}
