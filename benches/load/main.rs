//! # The end-to-end load benchmark: GenHook against its baselines, in one run
//!
//! `cargo bench --bench load` starts, in this process, a mock of SL1's alert API and GenHook
//! itself through the library ([`genhook::app::GenHook::builder`]), with the repository's GitHub
//! mapping and signature verification on, and drives it with a bounded closed-loop load
//! generator posting the real `pull_request.opened` delivery, correctly signed, each with its own
//! `X-GitHub-Delivery`. In the same run and under the same load it measures the baselines:
//!
//! | scenario         | what answers                                                        |
//! |------------------|---------------------------------------------------------------------|
//! | `bare-hyper`     | hyper answering 202 after reading the body: the HTTP stack's ceiling |
//! | `genhook-memory` | GenHook, memory queue (volatile)                                    |
//! | `genhook-disk`   | GenHook, disk queue (the default: 202 only once the event is on disk) |
//! | `fastapi`        | `fastapi_baseline/app.py` under uvicorn, 2 workers, SQLite queue    |
//!
//! and prints requests/s, latency p50/p99 and, for GenHook, the end-to-end time until every
//! accepted webhook reached the SL1 mock; then the medians over the rounds and the ratios
//! (GenHook / bare hyper, disk / memory, GenHook / FastAPI). Figures are read as ratios: the
//! machine is small and shared, the absolute numbers move from run to run.
//!
//! Threads: the system under test runs on a 2-worker Tokio runtime (as uvicorn gets 2 worker
//! processes); the load generator and the SL1 mock share a 1-worker runtime of their own.
//!
//! Without `--bench` (that is, under `cargo test --all-targets`) it does a smoke run instead:
//! 100 requests per scenario on 4 connections (1 s cap), no FastAPI, and exits with code 1
//! when any request is not answered 202 or any alert is missing or wrong. The full run fails on
//! the same checks, except that a `503` (back-pressure, queue full) is only noted.
//!
//! Knobs (environment): `GENHOOK_LOAD_REQUESTS` (per scenario and round), `GENHOOK_LOAD_CONCURRENCY`,
//! `GENHOOK_LOAD_SECONDS` (time cap per scenario and round), `GENHOOK_LOAD_ROUNDS`,
//! `GENHOOK_LOAD_WARMUP`, `GENHOOK_LOAD_ONLY` (comma list of scenarios), `GENHOOK_FASTAPI_VENV`,
//! `GENHOOK_LOAD_LOG` (a tracing filter for GenHook's own logs; default `warn`).

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout)] // The table on stdout is this program's output.

mod fastapi;
mod generator;
mod genhook;
mod github;
mod report;
mod servers;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use generator::{LoadResult, LoadSpec, MakeRequest};
use github::Delivery;
use report::Row;
use tokio::runtime::Runtime;

/// Every scenario, in the order each round runs them.
const SCENARIOS: [&str; 4] = ["bare-hyper", "genhook-memory", "genhook-disk", "fastapi"];

/// How much to run.
#[derive(Debug, Clone)]
struct Plan {
    /// `--bench` given: the full run.
    full: bool,
    spec: LoadSpec,
    warmup: usize,
    rounds: usize,
    /// How long to wait for the alerts after the load ended.
    deliver_cap: Duration,
    scenarios: Vec<&'static str>,
}

impl Plan {
    fn new(full: bool) -> Self {
        let pick = |name: &str, bench: usize, smoke: usize| {
            knob_usize(name, if full { bench } else { smoke })
        };
        let only = knob("GENHOOK_LOAD_ONLY");
        let scenarios = SCENARIOS
            .into_iter()
            .filter(|s| {
                only.as_deref()
                    .is_none_or(|only| only.split(',').any(|o| o.trim() == *s))
            })
            .filter(|s| full || *s != "fastapi" || only.is_some())
            .collect();
        Self {
            full,
            spec: LoadSpec {
                requests: pick("GENHOOK_LOAD_REQUESTS", 20_000, 100),
                concurrency: pick("GENHOOK_LOAD_CONCURRENCY", 16, 4),
                time_cap: Duration::from_secs(pick("GENHOOK_LOAD_SECONDS", 15, 1) as u64),
            },
            warmup: pick("GENHOOK_LOAD_WARMUP", 500, 0),
            rounds: pick("GENHOOK_LOAD_ROUNDS", 3, 1).max(1),
            deliver_cap: Duration::from_secs(if full { 120 } else { 15 }),
            scenarios,
        }
    }
}

fn main() -> ExitCode {
    let full = std::env::args().any(|arg| arg == "--bench");
    let plan = Plan::new(full);
    let filter = knob("GENHOOK_LOAD_LOG").unwrap_or_else(|| "warn".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();

    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let delivery = Arc::new(Delivery::load(
        &repo.join("tests/fixtures/github/pull_request.opened.json"),
    ));
    let sut = runtime(2, "sut");
    let outside = runtime(1, "load");

    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "load bench ({}): {} cores; per scenario and round: {} requests max, {} connections, {:?} cap, {} warm-up; {} round(s); body {} bytes",
        if full { "full" } else { "smoke run; `cargo bench --bench load` for the full one" },
        cores,
        plan.spec.requests,
        plan.spec.concurrency,
        plan.spec.time_cap,
        plan.warmup,
        plan.rounds,
        delivery.body_len(),
    );
    println!("{}", report::header());
    let mut rows = Vec::new();
    for round in 1..=plan.rounds {
        for scenario in &plan.scenarios {
            let row = match *scenario {
                "bare-hyper" => Some(bare(&plan, round, &sut, &outside, &delivery)),
                "genhook-memory" => Some(genhook(
                    &plan, round, "memory", &repo, &sut, &outside, &delivery,
                )),
                "genhook-disk" => Some(genhook(
                    &plan, round, "disk", &repo, &sut, &outside, &delivery,
                )),
                _ => fastapi(&plan, round, &repo, &outside, &delivery),
            };
            if let Some(row) = row {
                println!("{}", report::line(&row));
                rows.push(row);
            }
        }
    }

    println!();
    for line in report::summary(&rows, &plan.scenarios) {
        println!("{line}");
    }
    println!();
    for (a, b) in [
        ("genhook-memory", "bare-hyper"),
        ("genhook-disk", "bare-hyper"),
        ("genhook-disk", "genhook-memory"),
        ("genhook-memory", "fastapi"),
        ("genhook-disk", "fastapi"),
    ] {
        if let Some(line) = report::ratio(&rows, a, b) {
            println!("{line}");
        }
    }

    let problems: usize = rows.iter().map(|r| r.problems.len()).sum();
    let ran_all = plan
        .scenarios
        .iter()
        .filter(|s| **s != "fastapi")
        .all(|s| rows.iter().any(|r| r.scenario == *s));
    if problems > 0 || !ran_all {
        println!("FAILED: {problems} problem(s); see PROBLEM lines above.");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// A multi-thread Tokio runtime with `workers` worker threads.
fn runtime(workers: usize, name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
}

/// The request maker for the GitHub source's URL.
fn github_requests(delivery: &Arc<Delivery>) -> MakeRequest {
    let delivery = Arc::clone(delivery);
    Arc::new(move |host| delivery.request(host, "/webhook/github"))
}

/// The load's problems: connection errors and answers other than 202.
///
/// In the full run a `503` (GenHook's back-pressure: queue full, with `Retry-After`) is a note,
/// not a problem: the provider retries it and nothing is lost. In the smoke run it is a problem.
fn answer_problems(load: &LoadResult, full: bool) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    if load.errors > 0 {
        problems.push(format!("{} request(s) got no answer", load.errors));
    }
    for (status, count) in &load.by_status {
        if *status != 202 {
            let sample = load.samples.get(status).map_or("", String::as_str);
            let text = format!("{count} answer(s) with status {status}: {sample}");
            if full && *status == 503 {
                notes.push(text);
            } else {
                problems.push(text);
            }
        }
    }
    if load.answered() == 0 {
        problems.push("no request was answered".to_owned());
    }
    (problems, notes)
}

/// The warm-up load (not measured), if the plan has one.
fn warm_up(
    plan: &Plan,
    outside: &Runtime,
    addr: SocketAddr,
    make: &MakeRequest,
) -> Option<LoadResult> {
    (plan.warmup > 0).then(|| {
        let spec = LoadSpec {
            requests: plan.warmup,
            ..plan.spec
        };
        outside.block_on(generator::run(addr, Arc::clone(make), spec))
    })
}

/// The problems and notes of a run and of its warm-up.
fn all_problems(
    plan: &Plan,
    warm: Option<&LoadResult>,
    load: &LoadResult,
) -> (Vec<String>, Vec<String>) {
    let (mut problems, mut notes) = answer_problems(load, plan.full);
    if let Some(warm) = warm {
        let (more, more_notes) = answer_problems(warm, plan.full);
        problems.extend(more.into_iter().map(|p| format!("warm-up: {p}")));
        notes.extend(more_notes.into_iter().map(|p| format!("warm-up: {p}")));
    }
    (problems, notes)
}

/// The bare hyper baseline.
fn bare(
    plan: &Plan,
    round: usize,
    sut: &Runtime,
    outside: &Runtime,
    delivery: &Arc<Delivery>,
) -> Row {
    let server = sut.block_on(servers::bare());
    let make = github_requests(delivery);
    let warm = warm_up(plan, outside, server.addr, &make);
    let load = outside.block_on(generator::run(server.addr, make, plan.spec));
    drop(server);
    let (problems, notes) = all_problems(plan, warm.as_ref(), &load);
    Row {
        scenario: "bare-hyper",
        round,
        load,
        delivered: None,
        problems,
        notes,
    }
}

/// GenHook with the `backend` queue, delivering to a fresh SL1 mock.
fn genhook(
    plan: &Plan,
    round: usize,
    backend: &'static str,
    repo: &Path,
    sut: &Runtime,
    outside: &Runtime,
    delivery: &Arc<Delivery>,
) -> Row {
    let scenario = if backend == "disk" {
        "genhook-disk"
    } else {
        "genhook-memory"
    };
    let mock = outside.block_on(servers::Sl1Mock::start(delivery.expected_message()));
    let instance = sut.block_on(genhook::Instance::start(repo, backend, &mock.url()));
    let make = github_requests(delivery);
    let addr = instance.addr();

    let warm = warm_up(plan, outside, addr, &make);
    let warm_accepted = warm.as_ref().map_or(0, |w| w.status(202));
    // The measured load starts once the warm-up's alerts are all delivered.
    outside.block_on(mock.wait_for(warm_accepted, plan.deliver_cap));
    let (warm_good, warm_wrong) = mock.counts();

    let load = outside.block_on(generator::run(addr, make, plan.spec));
    let accepted = load.status(202);
    let all_arrived =
        outside.block_on(mock.wait_for(warm_good + warm_wrong + accepted, plan.deliver_cap));
    let (good, wrong) = mock.counts();
    let (good, wrong) = (good - warm_good, wrong - warm_wrong);
    let e2e = match (all_arrived, load.started, mock.last_arrival()) {
        (true, Some(start), Some(last)) => {
            Some(last.saturating_duration_since(start).max(load.elapsed))
        }
        _ => None,
    };
    let left = sut.block_on(instance.stop());
    drop(mock);

    let (mut problems, notes) = all_problems(plan, warm.as_ref(), &load);
    if !all_arrived {
        problems.push(format!(
            "{} of {accepted} accepted alert(s) reached SL1 within {:?}",
            good + wrong,
            plan.deliver_cap
        ));
    }
    if good > accepted {
        problems.push(format!("{} alert(s) delivered twice", good - accepted));
    }
    if wrong > 0 {
        problems.push(format!(
            "{wrong} alert(s) without Basic auth or with an unexpected message"
        ));
    }
    if left > 0 {
        problems.push(format!("{left} event(s) left in the queue at shutdown"));
    }
    Row {
        scenario,
        round,
        load,
        delivered: Some((good, e2e)),
        problems,
        notes,
    }
}

/// The FastAPI baseline, or `None` (with a message) when its venv is absent.
fn fastapi(
    plan: &Plan,
    round: usize,
    repo: &Path,
    outside: &Runtime,
    delivery: &Arc<Delivery>,
) -> Option<Row> {
    let uvicorn = match fastapi::Uvicorn::start(repo) {
        Ok(uvicorn) => uvicorn,
        Err(reason) => {
            if round == 1 {
                println!("fastapi         skipped: {reason}");
            }
            return None;
        }
    };
    let make = github_requests(delivery);
    let warm = warm_up(plan, outside, uvicorn.addr, &make);
    let load = outside.block_on(generator::run(uvicorn.addr, make, plan.spec));
    drop(uvicorn);
    let (problems, notes) = all_problems(plan, warm.as_ref(), &load);
    Some(Row {
        scenario: "fastapi",
        round,
        load,
        delivered: None,
        problems,
        notes,
    })
}

/// A knob's value from the environment, if set and not empty.
#[allow(clippy::disallowed_methods)] // The bench's own knobs, not GenHook's configuration.
fn knob(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// A path knob.
pub(crate) fn knob_path(name: &str) -> Option<PathBuf> {
    knob(name).map(PathBuf::from)
}

/// A number knob, or `default`; a knob that is not a number stops the bench.
fn knob_usize(name: &str, default: usize) -> usize {
    knob(name).map_or(default, |value| {
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}"))
    })
}
