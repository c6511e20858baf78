//! # The end-to-end load benchmark: GenHook against its baselines, in one run
//!
//! `cargo bench --bench load` starts, in this process, a mock of SL1's alert API and GenHook
//! itself through the library ([`genhook::app::GenHook::builder`]), with the repository's GitHub
//! mapping and signature verification on, and drives it with a bounded closed-loop load
//! generator posting the real `pull_request.opened` delivery, correctly signed, each with its own
//! `X-GitHub-Delivery`. In the same run and under the same load it measures the baselines:
//!
//! | scenario                     | what answers                                                         |
//! |------------------------------|----------------------------------------------------------------------|
//! | `bare-hyper`                 | hyper answering 202 after reading the body: the HTTP stack's ceiling  |
//! | `direct`                     | the job written by hand (`direct.rs`): HMAC, borrowed serde structs, `format!`, one pooled `reqwest` POST to SL1, 202 once SL1 accepted |
//! | `genhook-memory`             | GenHook, memory queue (volatile), default `threading_model` (`hybrid`) |
//! | `genhook-memory-async`       | the same with `threading_model = async` (one `current_thread` runtime) |
//! | `genhook-memory-thread_pool` | the same with `threading_model = thread_pool`                         |
//! | `genhook-disk`               | GenHook, disk queue (the default: 202 only once the event is on disk) |
//! | `genhook-redis`              | GenHook, redis queue (skipped with a message without Redis at 127.0.0.1:6379) |
//! | `fastapi`                    | `fastapi_baseline/app.py` under uvicorn, 2 workers, SQLite queue      |
//!
//! each at every concurrency asked for (16 and 128 connections by default), and prints
//! requests/s, latency p50/p99, the share of `503` answers and, for the scenarios that deliver,
//! the alerts delivered per second from the first request to the last alert (the drain after the
//! load stopped included); then the medians over the rounds and the ratios: each GenHook scenario
//! over `direct` in delivered/s, and GenHook / bare hyper, disk / memory, GenHook / FastAPI in
//! requests/s. Figures are read as ratios taken within one round: the machine is small and
//! shared, the absolute numbers move from run to run.
//!
//! Then **the burst**: 50 000 requests on 128 connections against an SL1 mock that takes 20 ms
//! per alert, sent to GenHook with its default disk queue (`burst-genhook-disk`) and to the direct
//! program (`burst-direct`, whose 202 means SL1 accepted). It reports accepted and refused (`503`,
//! which must carry `Retry-After`), the accept rate over the send window, the time until every
//! accepted webhook was delivered and the delivery rate to the slow SL1, and GenHook over direct.
//! Every accepted webhook must be delivered exactly once; refusals are figures (`NOTE` lines).
//!
//! Finally it draws the delivered/s ratios to `target/load/report.svg` (`chart.rs`).
//!
//! Threads: the system under test runs on a 2-worker Tokio runtime (as uvicorn gets 2 worker
//! processes), except GenHook's `async` model, on a `current_thread` runtime of its own thread as
//! `genhook serve` runs it; the load generator and the SL1 mock share a 1-worker runtime.
//!
//! Without `--bench` (that is, under `cargo test --all-targets`) it does a smoke run instead:
//! 100 requests per scenario on 4 connections (1 s cap), no FastAPI, and a 200-request burst on
//! 16 connections; it exits with code 1 when any request is not answered 202 or any alert is
//! missing, duplicated or wrong. The full run fails on the same checks, except that a `503`
//! (back-pressure) with `Retry-After` is only noted.
//!
//! Knobs (environment):
//! - `GENHOOK_LOAD_REQUESTS` (per scenario, round and concurrency; default 20 000),
//!   `GENHOOK_LOAD_CONCURRENCY` (a comma list, default `16,128`), `GENHOOK_LOAD_SECONDS` (time cap
//!   per run, 10), `GENHOOK_LOAD_ROUNDS` (3), `GENHOOK_LOAD_WARMUP` (500 requests),
//! - `GENHOOK_LOAD_ONLY` (comma list of scenarios, `burst` for the burst),
//! - `GENHOOK_BURST_REQUESTS` (50 000), `GENHOOK_BURST_CONCURRENCY` (128),
//!   `GENHOOK_BURST_SL1_DELAY_MS` (20), `GENHOOK_BURST_SECONDS` (cap on the send window, 30),
//!   `GENHOOK_BURST_DRAIN_SECONDS` (cap on the wait for the alerts, 90), `GENHOOK_BURST_ROUNDS` (1),
//! - `GENHOOK_LOAD_INI` (more `genhook.ini` lines for every GenHook scenario, `;`-separated, e.g.
//!   `sl1_max_inflight = 64; queue_max_size = 50000`),
//! - `GENHOOK_LOAD_CHART` (where the SVG goes), `GENHOOK_FASTAPI_VENV`,
//!   `GENHOOK_LOAD_LOG` (a tracing filter for GenHook's own logs; default `warn`).

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout)] // The table on stdout is this program's output.

mod chart;
mod direct;
mod fastapi;
mod generator;
mod genhook;
mod github;
mod plan;
mod redis_db;
mod report;
mod scenarios;
mod servers;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use github::Delivery;
use plan::{Plan, BURST_DIRECT, BURST_GENHOOK};
use report::Row;
use scenarios::{Bench, Run};
use tokio::runtime::Runtime;

fn main() -> ExitCode {
    let full = std::env::args().any(|arg| arg == "--bench");
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let plan = Plan::new(full, &repo);
    let filter = plan::knob("GENHOOK_LOAD_LOG").unwrap_or_else(|| "warn".to_owned());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();

    let delivery = Arc::new(Delivery::load(
        &repo.join("tests/fixtures/github/pull_request.opened.json"),
    ));
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "load bench ({}): {} cores; per scenario, round and concurrency: {} requests max, {:?} cap, {} warm-up; connections {:?}; {} round(s); body {} bytes",
        if full { "full" } else { "smoke run; `cargo bench --bench load` for the full one" },
        cores,
        plan.spec.requests,
        plan.spec.time_cap,
        plan.warmup,
        plan.concurrencies,
        plan.rounds,
        delivery.body_len(),
    );
    if let Some(rate) = plan.spec.rate {
        println!("paced: {rate} requests/s (latency counted from when each request was due)");
    }
    if !plan.ini.is_empty() {
        println!("GenHook's genhook.ini also has: {:?}", plan.ini);
    }
    let bench = Bench {
        plan,
        sut: runtime(2, "sut"),
        outside: runtime(1, "load"),
        repo,
        delivery,
    };
    let plan = &bench.plan;

    println!("{}", report::header());
    let mut rows = Vec::new();
    for round in 1..=plan.rounds {
        for &concurrency in &plan.concurrencies {
            for scenario in &plan.scenarios {
                if let Some(row) = bench.load_scenario(*scenario, round, concurrency) {
                    println!("{}", report::line(&row));
                    rows.push(row);
                }
            }
        }
    }
    let names: Vec<&'static str> = plan.scenarios.iter().map(|s| s.name).collect();
    println!();
    for line in report::summary(&rows, &names, &plan.concurrencies) {
        println!("{line}");
    }
    println!();
    let mut bars = Vec::new();
    for &concurrency in &plan.concurrencies {
        for scenario in plan
            .scenarios
            .iter()
            .filter(|s| s.name.starts_with("genhook-"))
        {
            if let Some((ratio, line)) =
                report::delivered_ratio(&rows, scenario.name, "direct", concurrency)
            {
                println!("{line}");
                bars.push(chart::Bar {
                    scenario: scenario.name,
                    concurrency,
                    ratio,
                });
            }
        }
        for (a, b) in [
            ("genhook-memory", "bare-hyper"),
            ("genhook-disk", "bare-hyper"),
            ("direct", "bare-hyper"),
            ("genhook-disk", "genhook-memory"),
            ("genhook-memory", "fastapi"),
            ("genhook-disk", "fastapi"),
        ] {
            if let Some(line) = report::ratio(&rows, a, b, concurrency) {
                println!("{line}");
            }
        }
    }

    let burst_rows = burst(&bench);
    if let Some(first) = burst_rows.first() {
        println!();
        for line in report::burst_lines(&burst_rows, BURST_GENHOOK.name, BURST_DIRECT.name) {
            println!("{line}");
        }
        if let Some((ratio, _)) = report::median_ratio(
            &burst_rows,
            BURST_GENHOOK.name,
            BURST_DIRECT.name,
            first.concurrency,
            &Row::delivered_rate,
        ) {
            bars.push(chart::Bar {
                scenario: BURST_GENHOOK.name,
                concurrency: first.concurrency,
                ratio,
            });
        }
    }

    let mut problems: usize = rows
        .iter()
        .chain(&burst_rows)
        .map(|r| r.problems.len())
        .sum();
    problems += draw(plan, &bars);
    let ran_all = plan
        .scenarios
        .iter()
        .filter(|s| s.kind != plan::Kind::FastApi && s.name != "genhook-redis")
        .all(|s| rows.iter().any(|r| r.scenario == s.name));
    if problems > 0 || !ran_all {
        println!("FAILED: {problems} problem(s); see PROBLEM lines above.");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The burst against GenHook (default disk queue) and against the direct program, each round.
fn burst(bench: &Bench) -> Vec<Row> {
    let Some(burst) = bench.plan.burst else {
        return Vec::new();
    };
    println!(
        "\nburst: {} requests on {} connections ({:?} cap), SL1 answering in {:?}; alerts awaited up to {:?}",
        burst.spec.requests, burst.spec.concurrency, burst.spec.time_cap, burst.sl1_delay, burst.deliver_cap
    );
    let mut rows = Vec::new();
    for round in 1..=burst.rounds {
        for scenario in [BURST_DIRECT, BURST_GENHOOK] {
            let run = Run {
                round,
                spec: burst.spec,
                warmup: 0,
                sl1_delay: burst.sl1_delay,
                deliver_cap: burst.deliver_cap,
            };
            if let Some(row) = bench.delivering(scenario, run) {
                rows.push(row);
            }
        }
    }
    rows
}

/// Draws the chart (to a temporary file in the smoke run, to prove the drawing works); the
/// number of problems (0 or 1).
fn draw(plan: &Plan, bars: &[chart::Bar]) -> usize {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let path = plan
        .chart
        .clone()
        .unwrap_or_else(|| temp.path().join("report.svg"));
    let title = format!(
        "GenHook delivered alerts/s ÷ the direct program's ({} run, median of {} round(s))",
        if plan.full { "full" } else { "smoke" },
        plan.rounds
    );
    match chart::write(&path, &title, bars) {
        Ok(()) if chart::written(&path) => {
            println!("\nchart: {}", path.display());
            0
        }
        Ok(()) => {
            println!("PROBLEM: the chart {} is empty", path.display());
            1
        }
        Err(error) => {
            println!("PROBLEM: {error}");
            1
        }
    }
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
