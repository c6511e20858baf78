//! Criterion benches of the mapping language, each group with a baseline so that results read
//! as ratios:
//!
//! - `compile`: loading the default mappings (`../mappings`, or the four example lines of the original plan when
//!   that directory has no `*.ini`), against reading and lexing the same files;
//! - `github_pull_request`: extract + render of a real GitHub `pull_request` payload
//!   (`../tests/fixtures/github/pull_request.opened.json`), against `serde_json::from_slice` of
//!   the same bytes, which every request pays anyway.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use genhook_mapping::{ini, LoadOptions, MappingSet};
use serde_json::Value;

const DESIGN: &str = r#"github: action,pull_request{title,user{login}},repository{name}::GitHub $action$ on $repository.name$: "$pull_request.title$" by $pull_request.user.login$
stripe: type,data{object{amount,currency,status}}::Stripe $type$: Payment of $data.object.amount$ $data.object.currency$ status: $data.object.status$
slack: event{type,user,text}::Slack $event.type$ from user $event.user$: "$event.text$"
aws: detail-type,source,region,detail{instance-id,state}::AWS $detail-type$ from $source$ in $region$: Instance $detail.instance-id$ state: $detail.state$
"#;

/// Every key a stage may register, so that the default files load.
const EXTRA_KEYS: &[&str] = &[
    "verify",
    "secret",
    "event",
    "rate_limit",
    "max_concurrent",
    "priority",
    "delivery_id",
    "dedup",
    "dedup_ttl",
    "signature_header",
    "timestamp_tolerance",
    "api_key_header",
    "username",
    "password",
];

fn env(name: &str) -> Option<String> {
    Some(format!("bench-{name}"))
}

fn options() -> LoadOptions<'static> {
    LoadOptions {
        env: &env,
        extra_keys: EXTRA_KEYS,
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn default_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("mappings"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "ini"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The default mappings, or the DESIGN lines when there are none (or they do not load with the
/// keys this bench knows).
fn mappings() -> MappingSet {
    let files = default_files();
    if !files.is_empty() {
        match MappingSet::load_files(&files, &options()) {
            Ok(loaded) => return loaded.mappings,
            Err(diagnostics) => {
                eprintln!(
                    "default mappings do not load here, using the DESIGN lines: {diagnostics:?}"
                )
            }
        }
    }
    MappingSet::parse_str(Path::new("design.ini"), DESIGN, &options())
        .unwrap()
        .mappings
}

fn compile(c: &mut Criterion) {
    let files = default_files();
    let mut group = c.benchmark_group("compile");
    if files.is_empty() || MappingSet::load_files(&files, &options()).is_err() {
        group.bench_function("baseline_lex_design_lines", |b| {
            b.iter(|| ini::lines(black_box(DESIGN)).count())
        });
        group.bench_function("design_lines", |b| {
            b.iter(|| MappingSet::parse_str(Path::new("design.ini"), black_box(DESIGN), &options()))
        });
    } else {
        group.bench_function("baseline_read_and_lex_default_mappings", |b| {
            b.iter(|| {
                files
                    .iter()
                    .map(|f| ini::lines(&std::fs::read_to_string(f).unwrap()).count())
                    .sum::<usize>()
            })
        });
        group.bench_function("load_default_mappings", |b| {
            b.iter(|| MappingSet::load_files(black_box(&files), &options()).unwrap())
        });
    }
    group.finish();
}

fn github_pull_request(c: &mut Criterion) {
    let fixture = root().join("tests/fixtures/github/pull_request.opened.json");
    let bytes = std::fs::read(&fixture)
        .unwrap_or_else(|e| panic!("{}: {e} (the fixtures branch adds it)", fixture.display()));
    let payload: Value = serde_json::from_slice(&bytes).unwrap();
    let set = mappings();
    let line = set
        .source("github")
        .unwrap()
        .select("pull_request")
        .unwrap();
    let fields = line.extract(&payload);
    let message = line.render(&fields).unwrap();
    assert!(message.contains("opened"), "{message}");

    let mut group = c.benchmark_group("github_pull_request");
    group.bench_function("baseline_serde_json_from_slice", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(&bytes)).unwrap())
    });
    group.bench_function("extract", |b| b.iter(|| line.extract(black_box(&payload))));
    group.bench_function("render", |b| {
        b.iter(|| line.render(black_box(&fields)).unwrap())
    });
    group.bench_function("extract_render", |b| {
        b.iter(|| line.render(&line.extract(black_box(&payload))).unwrap())
    });
    group.finish();
}

criterion_group!(benches, compile, github_pull_request);
criterion_main!(benches);
