//! Per-stage benches (one bench per stage, as in the stage crates): each stage of a per-source stack around an immediate leaf
//! (a `service_fn` answering 200), next to the leaf alone (`baseline/leaf_only`) in the same
//! group, on a real GitHub `pull_request` delivery. Read the results as ratios to the baseline:
//! the machine is small and shared, so absolute times move from run to run.
//!
//! The payload is `tests/fixtures/github/pull_request.opened.json`; set
//! `GENHOOK_BENCH_PAYLOAD=/path/to/file.json` to bench another one.
//!
//! Each request is prepared outside the measurement as the earlier stages would leave it (the
//! JSON text checked, the fields extracted, the message rendered), so that each entry measures one
//! stage only; the `stack/` entries run the whole default stack on the request as the edge
//! leaves it. The `*_full_parse` and `*_from_payload` entries keep the way identify and extract
//! worked before (the whole body parsed into a `serde_json::Value`) as baselines in the same run,
//! and `stack/github_two_pass` the stack before identify extracted a header-named event's fields
//! in its checking pass (`identify/github_with_fields`).
//! Run with `cargo bench --bench layers`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented public function"
)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, Criterion, Throughput,
};
use futures_util::future::{BoxFuture, FutureExt};
use genhook_core::queue::{Accepted, Claim, Event, Queue, QueueError};
use genhook_core::stage::{
    DeliveryId, EventType, JsonBody, Payload, ReceivedAt, Rendered, SourceName,
};
use genhook_core::{PipelineError, WebhookRequest, WebhookResponse};
use genhook_dispatch::{DispatchLayer, DispatchSettings};
use genhook_extract::ExtractLayer;
use genhook_mapping::{CompiledSource, Fields, LoadOptions, MappingSet};
use genhook_rate_limit::{parse_rate, RateLimitLayer};
use genhook_template::TemplateLayer;
use tower::{Layer, ServiceExt};

/// The mapping the extract and template entries use: the README's example GitHub line.
const MAPPING: &str = "[github]\n\
pull_request: action,pull_request{title,user{login}},repository{name}::GitHub $action$ on $repository.name$: \"$pull_request.title$\" by $pull_request.user.login$\n";

#[expect(
    clippy::disallowed_methods,
    reason = "a bench's own input override, not service configuration"
)]
fn payload_path() -> PathBuf {
    match std::env::var("GENHOOK_BENCH_PAYLOAD") {
        Ok(path) => PathBuf::from(path),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/github/pull_request.opened.json"),
    }
}

fn payload() -> Bytes {
    let path = payload_path();
    let bytes = std::fs::read(&path).unwrap_or_else(|error| {
        panic!(
            "cannot read {} ({error}); set GENHOOK_BENCH_PAYLOAD to a GitHub pull_request delivery",
            path.display()
        )
    });
    Bytes::from(bytes)
}

fn github_source() -> Arc<CompiledSource> {
    let options = LoadOptions {
        env: &|_| None,
        extra_keys: &[],
    };
    let loaded = MappingSet::parse_str(Path::new("bench.ini"), MAPPING, &options).unwrap();
    Arc::clone(
        loaded
            .mappings
            .source("github")
            .expect("the bench mapping has a github source"),
    )
}

/// The immediate inner service every entry wraps.
fn leaf() -> impl tower::Service<
    WebhookRequest,
    Response = WebhookResponse,
    Error = PipelineError,
    Future = impl std::future::Future<Output = Result<WebhookResponse, PipelineError>> + Send,
> + Clone
       + Send
       + Sync
       + 'static {
    tower::service_fn(|_request: WebhookRequest| async {
        Ok::<_, PipelineError>(WebhookResponse::new(Bytes::new()))
    })
}

/// A delivery as the edge and `identify` leave it: GitHub's headers, the source, event type,
/// delivery id and the payload parsed once.
fn identified(body: &Bytes) -> WebhookRequest {
    let mut request = http::Request::post("/webhook/github")
        .header("content-type", "application/json")
        .header("user-agent", "GitHub-Hookshot/044aadd")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .header("x-github-hook-id", "292430182")
        .header(
            "x-hub-signature-256",
            "sha256=d57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c",
        )
        .body(body.clone())
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    let extensions = request.extensions_mut();
    extensions.insert(SourceName::new("github"));
    extensions.insert(ReceivedAt(SystemTime::now()));
    extensions.insert(EventType::new("pull_request"));
    extensions.insert(DeliveryId::new("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
    extensions.insert(Payload(Arc::new(value)));
    request
}

/// The delivery as the edge leaves it (headers, source, time of receipt): nothing parsed.
fn received(body: &Bytes) -> WebhookRequest {
    let mut request = identified(body);
    let extensions = request.extensions_mut();
    extensions.remove::<Payload>();
    extensions.remove::<EventType>();
    extensions.remove::<DeliveryId>();
    request
}

/// The delivery as `identify` leaves it in a stack built from a mapping: the JSON text, no
/// parsed payload.
fn identified_text(body: &Bytes) -> WebhookRequest {
    let mut request = identified(body);
    request.extensions_mut().remove::<Payload>();
    request.extensions_mut().insert(JsonBody(body.clone()));
    request
}

/// The same delivery after `extract` (and, with `rendered`, after `template`).
fn extracted(body: &Bytes, source: &CompiledSource, rendered: bool) -> WebhookRequest {
    let mut request = identified(body);
    let payload = Arc::clone(&request.extensions().get::<Payload>().unwrap().0);
    let line = Arc::clone(source.select("pull_request").unwrap());
    let value = Arc::new(line.extract(&payload));
    if rendered {
        let message = line.render(&value).unwrap();
        request.extensions_mut().insert(Rendered::new(message));
    }
    request.extensions_mut().insert(Fields { line, value });
    request
}

/// Runs `svc` on clones of `request` on a current-thread runtime.
fn entry<S>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    name: &str,
    svc: S,
    request: &WebhookRequest,
) where
    S: tower::Service<WebhookRequest, Response = WebhookResponse, Error = PipelineError> + Clone,
{
    group.bench_function(name, |b| {
        b.to_async(rt).iter_batched(
            || (svc.clone(), clone_request(request)),
            |(svc, request)| async move {
                let response = svc.oneshot(request).await.unwrap();
                criterion::black_box(response)
            },
            BatchSize::SmallInput,
        );
    });
}

/// `http::Request` is not `Clone`; the extensions are, and cost a few reference counts.
fn clone_request(request: &WebhookRequest) -> WebhookRequest {
    let mut clone = http::Request::new(request.body().clone());
    *clone.method_mut() = request.method().clone();
    *clone.uri_mut() = request.uri().clone();
    *clone.headers_mut() = request.headers().clone();
    *clone.extensions_mut() = request.extensions().clone();
    clone
}

fn stages(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = payload();
    let source = github_source();

    let mut group = c.benchmark_group("layers");
    group.throughput(Throughput::Bytes(body.len() as u64));

    // The baseline every entry is read against: the leaf alone.
    entry(
        &mut group,
        &rt,
        "baseline/leaf_only",
        leaf(),
        &identified(&body),
    );

    // verify: GitHub's HMAC-SHA256 over the whole 25 KB body, compared in constant time.
    let secrets = genhook_verify::Secrets::parse("s3cret").unwrap();
    let mut signed = identified(&body);
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(b"s3cret").unwrap();
    hmac::Mac::update(&mut mac, &body);
    let signature = format!(
        "sha256={}",
        hex::encode(hmac::Mac::finalize(mac).into_bytes())
    );
    signed
        .headers_mut()
        .insert("x-hub-signature-256", signature.parse().unwrap());
    entry(
        &mut group,
        &rt,
        "verify/github",
        genhook_verify::VerifyLayer::new(genhook_verify::scheme::github::verifier(&secrets))
            .layer(leaf()),
        &signed,
    );

    // identify, as a stack built from a mapping has it: one pass that checks the JSON as a full
    // parse does and builds only its top-level names and scalars, the text left for `extract`.
    // Event type and delivery id come from GitHub's headers.
    let github = || {
        genhook_identify::IdentifyLayer::new(genhook_identify::IdentifySettings::for_provider(
            genhook_identify::Provider::Github,
        ))
    };
    // As the factory builds it: the source's mapping known, so that a header-named event's
    // fields are extracted in the pass that checks the body.
    let github_mapped = || {
        let mut settings =
            genhook_identify::IdentifySettings::for_provider(genhook_identify::Provider::Github);
        settings.mapping = Some(Arc::clone(&source));
        genhook_identify::IdentifyLayer::new(settings).json_body()
    };
    entry(
        &mut group,
        &rt,
        "identify/github",
        github().json_body().layer(leaf()),
        &received(&body),
    );
    // The same with the mapping: one pass that checks the text and extracts the line's fields
    // (what `identify/github` + `extract/pull_request` did in two).
    entry(
        &mut group,
        &rt,
        "identify/github_with_fields",
        github_mapped().layer(leaf()),
        &received(&body),
    );
    // The same stage parsing the whole body into a `serde_json::Value` (`IdentifyLayer::new`,
    // what every stack did before): the baseline of the entry above.
    entry(
        &mut group,
        &rt,
        "identify/github_full_parse",
        github().layer(leaf()),
        &received(&body),
    );

    // rate_limit: a quota it never reaches, so every request pays the GCRA check and passes.
    let quota = parse_rate("1000000000/s burst 1000000000").unwrap();
    entry(
        &mut group,
        &rt,
        "rate_limit/under_quota",
        RateLimitLayer::new(quota).layer(leaf()),
        &identified(&body),
    );
    entry(
        &mut group,
        &rt,
        "rate_limit/unset",
        RateLimitLayer::unlimited().layer(leaf()),
        &identified(&body),
    );

    // extract: select the line and walk its field tree over the JSON text, skipping the rest.
    entry(
        &mut group,
        &rt,
        "extract/pull_request",
        ExtractLayer::new(Arc::clone(&source)).layer(leaf()),
        &identified_text(&body),
    );
    // The same from a payload parsed beforehand (the parse not counted).
    entry(
        &mut group,
        &rt,
        "extract/pull_request_from_payload",
        ExtractLayer::new(Arc::clone(&source)).layer(leaf()),
        &identified(&body),
    );

    // template: render the compiled template from the extracted fields.
    entry(
        &mut group,
        &rt,
        "template/pull_request",
        TemplateLayer::new().layer(leaf()),
        &extracted(&body, &source, false),
    );

    // dispatch: build the event (UUIDv7, redacted headers, alert) and hand it to a queue that
    // only counts, so the entry measures the stage, not a backend.
    let queue = Arc::new(CountingQueue::default());
    let layer = DispatchLayer::new(queue.clone(), DispatchSettings::new("github"));
    entry(
        &mut group,
        &rt,
        "dispatch/queued",
        layer.layer(leaf()),
        &extracted(&body, &source, true),
    );
    let seen = Arc::new(CountingQueue {
        remember: true,
        ..CountingQueue::default()
    });
    let layer = DispatchLayer::new(seen, DispatchSettings::new("github"));
    entry(
        &mut group,
        &rt,
        "dispatch/duplicate",
        layer.layer(leaf()),
        &extracted(&body, &source, true),
    );
    assert!(queue.count.load(Ordering::Relaxed) > 0);

    // The whole in-process stack, as the default stack of a GitHub source runs it: verify,
    // identify, rate_limit (unset), extract, template, dispatch to the counting queue; and the
    // same with the identify stage that parses the whole body (the stack before).
    // Also the stack of the run before (identify's checking pass, then extract's walk: two
    // passes over the text).
    for (name, identify) in [
        ("stack/github", github_mapped()),
        ("stack/github_two_pass", github().json_body()),
        ("stack/github_full_parse", github()),
    ] {
        let stack = tower::ServiceBuilder::new()
            .layer(genhook_verify::VerifyLayer::new(
                genhook_verify::scheme::github::verifier(&secrets),
            ))
            .layer(identify)
            .layer(RateLimitLayer::unlimited())
            .layer(ExtractLayer::new(Arc::clone(&source)))
            .layer(TemplateLayer::new())
            .layer(DispatchLayer::new(
                Arc::new(CountingQueue::default()),
                DispatchSettings::new("github"),
            ))
            .service(leaf());
        let mut request = received(&body);
        *request.headers_mut() = signed.headers().clone();
        entry(&mut group, &rt, name, stack, &request);
    }

    group.finish();
}

/// A queue that counts what it is given and keeps no event (memory stays flat over millions of
/// iterations). Every delivery id is new (the `queued` path with its claim), or with `remember`
/// after the first iteration every request is a redelivery (the `duplicate` path).
#[derive(Debug, Default)]
struct CountingQueue {
    count: AtomicUsize,
    remember: bool,
    keys: Mutex<HashSet<String>>,
}

impl Queue for CountingQueue {
    fn accept(
        &self,
        event: Event,
        claim: Option<Claim>,
    ) -> BoxFuture<'_, Result<Accepted, QueueError>> {
        drop(event);
        let fresh = match claim {
            Some(claim) if self.remember => self.keys.lock().unwrap().insert(claim.key),
            _ => true,
        };
        if !fresh {
            return async { Ok(Accepted::Duplicate) }.boxed();
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        async { Ok(Accepted::Queued) }.boxed()
    }
    fn next(&self) -> BoxFuture<'_, Result<Option<Event>, QueueError>> {
        async { Ok(None) }.boxed()
    }
    fn ack(&self, _: &Event) -> BoxFuture<'_, Result<(), QueueError>> {
        async { Ok(()) }.boxed()
    }
    fn requeue(&self, _: Event, _: Duration) -> BoxFuture<'_, Result<(), QueueError>> {
        async { Ok(()) }.boxed()
    }
    fn dead_letter(&self, event: Event) -> BoxFuture<'_, Result<(), QueueError>> {
        self.enqueue(event)
    }
    fn depth(&self) -> usize {
        0
    }
    fn capacity(&self) -> usize {
        usize::MAX
    }
    fn close(&self) {}
    fn backend(&self) -> &'static str {
        "counting"
    }
}

fn config() -> Criterion {
    // Two cores shared by several processes: differences under 5% are noise here, so criterion
    // should not report them as changes (vector widens its threshold for CI the same way).
    Criterion::default()
        .noise_threshold(0.05)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = stages
}
criterion_main!(benches);
