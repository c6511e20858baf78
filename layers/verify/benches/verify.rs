//! Criterion bench of the verify stage: GitHub's HMAC-SHA256 over a ~20 KB body, next to the
//! leaf alone (the baseline of the same group); read the results as ratios.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
use genhook_verify::scheme::github;
use genhook_verify::{Secrets, VerifyLayer};
use tower::{Layer, ServiceExt};

fn body() -> Bytes {
    // A pull_request-like JSON body of about 20 KB.
    let mut text = String::from(r#"{"action":"opened","pull_request":{"title":"Bench","body":""#);
    while text.len() < 20 * 1024 {
        text.push_str("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ");
    }
    text.push_str(r#""},"repository":{"name":"genhook"}}"#);
    Bytes::from(text)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let secrets = Secrets::parse("bench-secret").unwrap();
    let verifier = github::verifier(&secrets);
    let body = body();
    let signature = verifier.sign(&body).unwrap();
    let request: WebhookRequest = http::Request::post("/webhook/github")
        .header(github::HEADER, signature)
        .body(body.clone())
        .unwrap();
    let leaf = tower::service_fn(|_request: WebhookRequest| async {
        Ok::<_, PipelineError>(WebhookResponse::new(Bytes::new()))
    });
    let verified = VerifyLayer::new(verifier).layer(leaf);

    let mut group = c.benchmark_group("verify_github_20k");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("baseline/leaf_only", |b| {
        b.to_async(&rt).iter_batched(
            || (leaf, request.clone()),
            |(service, request)| service.oneshot(request),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("verify/github", |b| {
        b.to_async(&rt).iter_batched(
            || (verified.clone(), request.clone()),
            |(service, request)| service.oneshot(request),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group! {
    name = benches;
    // The machine has 2 noisy cores shared with other jobs: a 5 % threshold keeps criterion from
    // reporting noise as change (vector does the same in CI).
    config = Criterion::default()
        .noise_threshold(0.05)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
