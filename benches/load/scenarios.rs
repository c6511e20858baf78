//! Running one scenario once: start what answers, warm it up, apply the load, wait for the
//! alerts, stop it, and check everything (the row's `PROBLEM` and `NOTE` lines).
//!
//! Every delivering scenario (`direct`, `genhook-*`, the burst) goes through [`delivering`]: a
//! fresh SL1 mock, the system under test pointed at it, and the same checks: every request
//! answered, every accepted webhook delivered exactly once with the right message and Basic auth,
//! nothing left in a queue at shutdown, and every `503` carrying `Retry-After`.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::generator::{self, LoadResult, LoadSpec, MakeRequest};
use crate::github::Delivery;
use crate::plan::{Kind, Plan, Scenario};
use crate::redis_db::{self, Place};
use crate::report::Row;
use crate::{direct, fastapi, genhook, servers};

/// What the runs share: the plan, the two runtimes, the repository and the delivery.
#[derive(Debug)]
pub(crate) struct Bench {
    pub(crate) plan: Plan,
    /// The system under test's runtime (2 workers).
    pub(crate) sut: Runtime,
    /// The generator's and the SL1 mock's runtime (1 worker).
    pub(crate) outside: Runtime,
    pub(crate) repo: std::path::PathBuf,
    pub(crate) delivery: Arc<Delivery>,
}

/// How one delivering run goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run {
    pub(crate) round: usize,
    pub(crate) spec: LoadSpec,
    /// Unmeasured requests first.
    pub(crate) warmup: usize,
    /// How long the SL1 mock takes per alert.
    pub(crate) sl1_delay: Duration,
    /// How long to wait for the alerts once the load ended.
    pub(crate) deliver_cap: Duration,
}

/// The system under test of a delivering scenario.
enum Sut {
    Server(servers::Running),
    GenHook(Box<genhook::Instance>),
}

impl Bench {
    /// Runs `scenario` once; `None` when it was skipped (a message says why).
    pub(crate) fn load_scenario(
        &self,
        scenario: Scenario,
        round: usize,
        concurrency: usize,
    ) -> Option<Row> {
        let plan = &self.plan;
        let spec = plan.spec_at(concurrency);
        let run = Run {
            round,
            spec,
            warmup: plan.warmup,
            sl1_delay: Duration::ZERO,
            deliver_cap: plan.deliver_cap,
        };
        match scenario.kind {
            Kind::Bare => Some(self.bare(round, spec)),
            Kind::FastApi => self.fastapi(round, spec),
            Kind::Direct | Kind::GenHook { .. } => self.delivering(scenario, run),
        }
    }

    /// The request maker for the GitHub source's URL.
    fn requests(&self) -> MakeRequest {
        let delivery = Arc::clone(&self.delivery);
        Arc::new(move |host| delivery.request(host, "/webhook/github"))
    }

    /// The warm-up load (not measured), if the run has one.
    fn warm_up(&self, run: &Run, addr: std::net::SocketAddr) -> Option<LoadResult> {
        (run.warmup > 0).then(|| {
            let spec = LoadSpec {
                requests: run.warmup,
                ..run.spec
            };
            self.outside
                .block_on(generator::run(addr, self.requests(), spec))
        })
    }

    /// The bare hyper baseline.
    fn bare(&self, round: usize, spec: LoadSpec) -> Row {
        let server = self.sut.block_on(servers::bare());
        let run = Run {
            round,
            spec,
            warmup: self.plan.warmup,
            sl1_delay: Duration::ZERO,
            deliver_cap: Duration::ZERO,
        };
        let warm = self.warm_up(&run, server.addr);
        let load = self
            .outside
            .block_on(generator::run(server.addr, self.requests(), spec));
        drop(server);
        let (problems, notes) = all_problems(self.plan.full, warm.as_ref(), &load);
        row("bare-hyper", &run, load, None, problems, notes)
    }

    /// The FastAPI baseline, or `None` (with a message) when its venv is absent.
    fn fastapi(&self, round: usize, spec: LoadSpec) -> Option<Row> {
        let uvicorn = match fastapi::Uvicorn::start(&self.repo) {
            Ok(uvicorn) => uvicorn,
            Err(reason) => {
                if round == 1 {
                    println!("fastapi skipped: {reason}");
                }
                return None;
            }
        };
        let run = Run {
            round,
            spec,
            warmup: self.plan.warmup,
            sl1_delay: Duration::ZERO,
            deliver_cap: Duration::ZERO,
        };
        let warm = self.warm_up(&run, uvicorn.addr);
        let load = self
            .outside
            .block_on(generator::run(uvicorn.addr, self.requests(), spec));
        drop(uvicorn);
        let (problems, notes) = all_problems(self.plan.full, warm.as_ref(), &load);
        Some(row("fastapi", &run, load, None, problems, notes))
    }

    /// A scenario that delivers to a fresh SL1 mock: the direct program or GenHook. `None` when
    /// it was skipped (`genhook-redis` without Redis; a message says so).
    pub(crate) fn delivering(&self, scenario: Scenario, run: Run) -> Option<Row> {
        let mock = self.outside.block_on(servers::Sl1Mock::start(
            self.delivery.expected_message(),
            run.sl1_delay,
        ));
        let mut redis = None;
        let sut = match scenario.kind {
            Kind::GenHook { backend, model } => {
                let mut setup = genhook::Setup {
                    backend,
                    threading_model: model,
                    keys: Vec::new(),
                };
                if backend == "redis" {
                    let place = self.redis_place(scenario, run.round)?;
                    setup.keys.push(("redis_url".to_owned(), place.url.clone()));
                    if let Some(prefix) = &place.prefix {
                        setup.keys.push(("redis_prefix".to_owned(), prefix.clone()));
                    }
                    redis = Some(place);
                }
                setup.keys.extend(self.plan.ini.iter().cloned());
                Sut::GenHook(Box::new(genhook::Instance::start(
                    &self.repo,
                    &setup,
                    &mock.url(),
                    &self.sut,
                )))
            }
            _ => Sut::Server(self.sut.block_on(direct::start(&mock.url()))),
        };
        let addr = match &sut {
            Sut::Server(server) => server.addr,
            Sut::GenHook(instance) => instance.addr(),
        };

        let warm = self.warm_up(&run, addr);
        let warm_accepted = warm.as_ref().map_or(0, |w| w.status(202));
        // The measured load starts once the warm-up's alerts are all delivered.
        self.outside
            .block_on(mock.wait_for(warm_accepted, run.deliver_cap));
        let (warm_good, warm_wrong) = mock.counts();

        let load = self
            .outside
            .block_on(generator::run(addr, self.requests(), run.spec));
        let accepted = load.status(202);
        let all_arrived = self
            .outside
            .block_on(mock.wait_for(warm_good + warm_wrong + accepted, run.deliver_cap));
        // Anything more (a duplicate) would arrive right after; give it a moment.
        let settle = Duration::from_millis(if self.plan.full { 200 } else { 50 });
        self.outside
            .block_on(async { tokio::time::sleep(settle).await });
        let (good, wrong) = mock.counts();
        let (good, wrong) = (good - warm_good, wrong - warm_wrong);
        let e2e = match (all_arrived, load.started, mock.last_arrival()) {
            (true, Some(start), Some(last)) => {
                Some(last.saturating_duration_since(start).max(load.elapsed))
            }
            _ => None,
        };
        let left = match sut {
            Sut::Server(server) => {
                drop(server);
                0
            }
            Sut::GenHook(instance) => instance.stop(&self.sut),
        };
        if let Some(place) = &redis {
            self.outside.block_on(place.clean());
        }
        drop(mock);

        let (mut problems, notes) = all_problems(self.plan.full, warm.as_ref(), &load);
        if !all_arrived {
            problems.push(format!(
                "{} of {accepted} accepted alert(s) reached SL1 within {:?}",
                good + wrong,
                run.deliver_cap
            ));
        }
        if good + wrong > accepted {
            problems.push(format!(
                "{} alert(s) more than accepted webhooks: delivered twice",
                good + wrong - accepted
            ));
        }
        if wrong > 0 {
            problems.push(format!(
                "{wrong} alert(s) without Basic auth or with an unexpected message"
            ));
        }
        if left > 0 {
            problems.push(format!("{left} event(s) left in the queue at shutdown"));
        }
        Some(row(
            scenario.name,
            &run,
            load,
            Some((good, e2e)),
            problems,
            notes,
        ))
    }

    /// This run's place in Redis, or `None` with a message when no Redis answers (a `PROBLEM`
    /// row under `CI=true`, where Redis is required).
    fn redis_place(&self, scenario: Scenario, round: usize) -> Option<Place> {
        let prefixes = genhook::knows_key("redis_prefix", "genhook-bench");
        let place = self.outside.block_on(Place::new(prefixes));
        if let Some(place) = &place {
            if place.prefix.is_none() {
                // GenHook's default prefix in this run's database: clear an earlier run's keys.
                self.outside.block_on(place.clean());
            }
            return Some(place.clone());
        }
        if round == 1 {
            println!(
                "{} skipped: no Redis at {}",
                scenario.name,
                redis_db::ADDRESS
            );
        }
        if crate::plan::knob("CI").as_deref() == Some("true") {
            panic!(
                "Redis is required when CI=true: none at {}",
                redis_db::ADDRESS
            );
        }
        None
    }
}

fn row(
    scenario: &'static str,
    run: &Run,
    load: LoadResult,
    delivered: Option<(usize, Option<Duration>)>,
    problems: Vec<String>,
    notes: Vec<String>,
) -> Row {
    Row {
        scenario,
        concurrency: run.spec.concurrency,
        round: run.round,
        load,
        delivered,
        problems,
        notes,
    }
}

/// The load's problems: connection errors, answers other than 202, and 503s without
/// `Retry-After`.
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
    if load.no_retry_after > 0 {
        problems.push(format!(
            "{} answer(s) 429/503 without Retry-After",
            load.no_retry_after
        ));
    }
    if load.answered() == 0 {
        problems.push("no request was answered".to_owned());
    }
    (problems, notes)
}

/// The problems and notes of a run and of its warm-up.
fn all_problems(
    full: bool,
    warm: Option<&LoadResult>,
    load: &LoadResult,
) -> (Vec<String>, Vec<String>) {
    let (mut problems, mut notes) = answer_problems(load, full);
    if let Some(warm) = warm {
        let (more, more_notes) = answer_problems(warm, full);
        problems.extend(more.into_iter().map(|p| format!("warm-up: {p}")));
        notes.extend(more_notes.into_iter().map(|p| format!("warm-up: {p}")));
    }
    (problems, notes)
}
