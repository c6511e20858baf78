//! What the bench runs: the scenarios, and how much of each, from the environment's knobs (see
//! the module doc of `main.rs` for the list) with defaults for the full run and the smoke run.

use std::path::PathBuf;
use std::time::Duration;

use crate::generator::LoadSpec;

/// What answers the webhooks in a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// hyper answering 202 after reading the body.
    Bare,
    /// The hand-written program (`direct.rs`), delivering before it answers.
    Direct,
    /// GenHook with this `queue_backend` and `threading_model` (`None`: GenHook's default).
    GenHook {
        backend: &'static str,
        model: Option<&'static str>,
    },
    /// The FastAPI service under uvicorn.
    FastApi,
}

/// A named scenario.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
}

const fn genhook(
    name: &'static str,
    backend: &'static str,
    model: Option<&'static str>,
) -> Scenario {
    Scenario {
        name,
        kind: Kind::GenHook { backend, model },
    }
}

/// Every load scenario, in the order each round runs them. `genhook-memory` and the other
/// backends run GenHook's default threading model (`hybrid`).
pub(crate) const SCENARIOS: [Scenario; 8] = [
    Scenario {
        name: "bare-hyper",
        kind: Kind::Bare,
    },
    Scenario {
        name: "direct",
        kind: Kind::Direct,
    },
    genhook("genhook-memory", "memory", None),
    genhook("genhook-memory-async", "memory", Some("async")),
    genhook("genhook-memory-thread_pool", "memory", Some("thread_pool")),
    genhook("genhook-disk", "disk", None),
    genhook("genhook-redis", "redis", None),
    Scenario {
        name: "fastapi",
        kind: Kind::FastApi,
    },
];

/// The burst's name in `GENHOOK_LOAD_ONLY`.
pub(crate) const BURST: &str = "burst";

/// The burst against GenHook: the default (disk) queue.
pub(crate) const BURST_GENHOOK: Scenario = genhook("burst-genhook-disk", "disk", None);

/// The burst against the direct program.
pub(crate) const BURST_DIRECT: Scenario = Scenario {
    name: "burst-direct",
    kind: Kind::Direct,
};

/// The burst: many requests at once against a slow SL1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BurstPlan {
    /// Requests, connections and the cap on the send window.
    pub(crate) spec: LoadSpec,
    /// How long the SL1 mock takes to answer each alert.
    pub(crate) sl1_delay: Duration,
    /// How long to wait for the alerts after the burst was answered.
    pub(crate) deliver_cap: Duration,
    /// How many times to run it.
    pub(crate) rounds: usize,
}

/// How much to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// `--bench` given: the full run.
    pub(crate) full: bool,
    /// Requests and time cap per scenario, round and concurrency (its `concurrency` is set per run).
    pub(crate) spec: LoadSpec,
    /// The concurrencies to run every scenario at.
    pub(crate) concurrencies: Vec<usize>,
    pub(crate) warmup: usize,
    pub(crate) rounds: usize,
    /// How long to wait for the alerts after the load ended.
    pub(crate) deliver_cap: Duration,
    pub(crate) scenarios: Vec<Scenario>,
    /// The burst, unless `GENHOOK_LOAD_ONLY` leaves it out.
    pub(crate) burst: Option<BurstPlan>,
    /// More `genhook.ini` lines for every GenHook scenario (`GENHOOK_LOAD_INI`).
    pub(crate) ini: Vec<(String, String)>,
    /// Where the chart goes (`None`: a temporary file, in the smoke run without `GENHOOK_LOAD_CHART`).
    pub(crate) chart: Option<PathBuf>,
}

impl Plan {
    pub(crate) fn new(full: bool, repo: &std::path::Path) -> Self {
        let pick = |name: &str, bench: usize, smoke: usize| {
            knob_usize(name, if full { bench } else { smoke })
        };
        let only = knob("GENHOOK_LOAD_ONLY");
        let listed = |name: &str| {
            only.as_deref()
                .is_none_or(|only| only.split(',').any(|o| o.trim() == name))
        };
        let scenarios = SCENARIOS
            .into_iter()
            .filter(|s| listed(s.name))
            .filter(|s| full || s.kind != Kind::FastApi || only.is_some())
            .collect();
        let concurrencies = knob("GENHOOK_LOAD_CONCURRENCY").map_or_else(
            || if full { vec![16, 128] } else { vec![4] },
            |list| {
                list.split(',')
                    .map(|c| parse("GENHOOK_LOAD_CONCURRENCY", c))
                    .collect()
            },
        );
        let burst = listed(BURST).then(|| BurstPlan {
            spec: LoadSpec {
                requests: pick("GENHOOK_BURST_REQUESTS", 50_000, 100),
                concurrency: pick("GENHOOK_BURST_CONCURRENCY", 128, 16),
                time_cap: Duration::from_secs(pick("GENHOOK_BURST_SECONDS", 30, 1) as u64),
                rate: None,
            },
            sl1_delay: Duration::from_millis(pick("GENHOOK_BURST_SL1_DELAY_MS", 20, 5) as u64),
            deliver_cap: Duration::from_secs(pick("GENHOOK_BURST_DRAIN_SECONDS", 90, 15) as u64),
            rounds: pick("GENHOOK_BURST_ROUNDS", 1, 1).max(1),
        });
        let ini = knob("GENHOOK_LOAD_INI").map_or_else(Vec::new, |lines| {
            lines
                .split(';')
                .filter(|line| !line.trim().is_empty())
                .map(|line| match line.split_once('=') {
                    Some((key, value)) => (key.trim().to_owned(), value.trim().to_owned()),
                    None => panic!("GENHOOK_LOAD_INI: {line:?} is not `key = value`"),
                })
                .collect()
        });
        Self {
            full,
            spec: LoadSpec {
                requests: pick("GENHOOK_LOAD_REQUESTS", 20_000, 100),
                concurrency: 0,
                time_cap: Duration::from_secs(pick("GENHOOK_LOAD_SECONDS", 10, 1) as u64),
                // Paced at this many requests/s when set (0 or unset: closed loop).
                rate: knob("GENHOOK_LOAD_RATE")
                    .map(|rate| parse("GENHOOK_LOAD_RATE", &rate))
                    .filter(|&rate| rate > 0)
                    .map(|rate| rate as f64),
            },
            concurrencies,
            warmup: pick("GENHOOK_LOAD_WARMUP", 500, 0),
            rounds: pick("GENHOOK_LOAD_ROUNDS", 3, 1).max(1),
            deliver_cap: Duration::from_secs(if full { 120 } else { 15 }),
            scenarios,
            burst,
            ini,
            chart: knob_path("GENHOOK_LOAD_CHART")
                .or_else(|| full.then(|| repo.join("target/load/report.svg"))),
        }
    }

    /// The load at `concurrency` connections.
    pub(crate) fn spec_at(&self, concurrency: usize) -> LoadSpec {
        LoadSpec {
            concurrency,
            ..self.spec
        }
    }
}

/// A knob's value from the environment, if set and not empty.
#[allow(clippy::disallowed_methods)] // The bench's own knobs, not GenHook's configuration.
pub(crate) fn knob(name: &str) -> Option<String> {
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
    knob(name).map_or(default, |value| parse(name, &value))
}

fn parse(name: &str, value: &str) -> usize {
    value.trim().parse().unwrap_or_else(|_| {
        panic!("{name} must be a whole number (or a comma list), not {value:?}")
    })
}
