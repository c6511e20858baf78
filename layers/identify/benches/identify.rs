#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! The identify stage against its baselines, read as ratios:
//!
//! - `parse`: `baseline/serde_json` (serde_json parse alone) vs `identify/parse_body` (content-type
//!   and charset check, UTF-8 check, parse) for a JSON body and a form-encoded `payload=` body;
//! - `layer`: `baseline/leaf_only` (a `service_fn` answering 202) vs `identify/layer` (parse,
//!   detection, handshake check, event type, delivery id, then the same leaf), and
//!   `identify/layer_json_body`, the same with `json_body()` as the stacks built from mappings
//!   run it (one checking pass, no `Value` built; see BENCHMARKS.md for the figures).
//!
//! First run (2026-11-28, 2 shared cores, ~1.2 KB GitHub body; medians): `parse_body` JSON
//! 1.23x serde_json alone (the extra is the UTF-8 check before parsing), form `payload=` 2.0x
//! (percent-decoding first), the whole layer 1.66x serde_json alone and 34x the bare leaf. A
//! later run on a busier machine gave 1.13x, 1.72x and 2.0x: read the ratios, not the times.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
use genhook_identify::{parse_body, IdentifyLayer, IdentifySettings};
use http::{HeaderMap, HeaderValue, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use tower::{service_fn, Layer, ServiceExt};

/// A GitHub `pull_request` delivery of realistic shape (about 2 KB).
fn github_body() -> Bytes {
    let user = json!({"login": "octocat", "id": 1, "type": "User", "site_admin": false,
                      "html_url": "https://github.com/octocat", "avatar_url": "https://avatars.githubusercontent.com/u/1"});
    let body = json!({
        "action": "opened",
        "number": 42,
        "pull_request": {
            "id": 1_234_567, "number": 42, "state": "open", "title": "Fix the flux capacitor",
            "user": user, "body": "This fixes the flux capacitor.\n\nCloses #41.",
            "created_at": "2026-11-28T12:00:00Z", "updated_at": "2026-11-28T12:00:00Z",
            "labels": [{"name": "bug", "color": "d73a4a"}, {"name": "p1", "color": "b60205"}],
            "head": {"ref": "fix", "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
            "base": {"ref": "main", "sha": "7fd1a60b01f91b314f59955a4e4d4e80d8edf11d"},
            "additions": 10, "deletions": 2, "changed_files": 1
        },
        "repository": {"id": 1_296_269, "name": "Hello-World", "full_name": "octocat/Hello-World",
                       "private": false, "owner": user, "default_branch": "main",
                       "topics": ["demo", "octocat", "webhooks"]},
        "sender": user
    });
    Bytes::from(body.to_string())
}

fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-github-event", HeaderValue::from_static("pull_request"));
    headers.insert(
        "x-github-delivery",
        HeaderValue::from_static("72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    );
    headers
}

fn bench_parse(c: &mut Criterion) {
    let body = github_body();
    let headers = json_headers();
    let form = Bytes::from(format!(
        "payload={}",
        utf8_percent_encode(std::str::from_utf8(&body).unwrap(), NON_ALPHANUMERIC)
    ));
    let mut form_headers = HeaderMap::new();
    form_headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );

    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("baseline/serde_json", |b| {
        b.iter(|| serde_json::from_slice::<Value>(std::hint::black_box(&body)).unwrap());
    });
    group.bench_function("identify/parse_body_json", |b| {
        b.iter(|| parse_body(&headers, std::hint::black_box(&body)).unwrap());
    });
    group.bench_function("identify/parse_body_form", |b| {
        b.iter(|| parse_body(&form_headers, std::hint::black_box(&form)).unwrap());
    });
    group.finish();
}

fn request(body: &Bytes) -> WebhookRequest {
    let mut request = http::Request::post("/webhook/github")
        .body(body.clone())
        .unwrap();
    *request.headers_mut() = json_headers();
    request
}

fn bench_layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let body = github_body();
    let leaf = service_fn(|_request: WebhookRequest| async {
        let mut response = WebhookResponse::new(Bytes::new());
        *response.status_mut() = StatusCode::ACCEPTED;
        Ok::<_, PipelineError>(response)
    });
    let identified = IdentifyLayer::new(IdentifySettings::default()).layer(leaf);
    let lazy = IdentifyLayer::new(IdentifySettings::default())
        .json_body()
        .layer(leaf);

    let mut group = c.benchmark_group("layer");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("baseline/leaf_only", |b| {
        b.to_async(&runtime).iter_batched(
            || (leaf, request(&body)),
            |(service, request)| service.oneshot(request),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("identify/layer", |b| {
        b.to_async(&runtime).iter_batched(
            || (identified.clone(), request(&body)),
            |(service, request)| service.oneshot(request),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("identify/layer_json_body", |b| {
        b.to_async(&runtime).iter_batched(
            || (lazy.clone(), request(&body)),
            |(service, request)| service.oneshot(request),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn config() -> Criterion {
    // The machine has 2 cores shared with other jobs: a 5 % threshold keeps criterion from
    // reporting noise as a change (vector widens it in CI for the same reason).
    Criterion::default()
        .noise_threshold(0.05)
        .sample_size(50)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_parse, bench_layer
}
criterion_main!(benches);
