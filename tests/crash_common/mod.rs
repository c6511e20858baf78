//! Shared helpers of the crash tests: real `genhook serve` processes, a flood of webhooks (or of
//! deliveries retried with their delivery id until answered 2xx, as providers do), SIGKILLs
//! mid-way, and the count of what reached the SL1 mock.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::sl1_mock::{Answer, Sl1Mock};

/// The mapping every crash test uses: source `crash`, message `crash N`.
pub const MAPPING: &str = "crash: n::crash $n$\n";

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Writes `dir/NAME.ini` and `dir/mappings/crash.ini`; returns the config path.
pub fn write_config(
    dir: &Path,
    name: &str,
    port: u16,
    sl1_url: &str,
    extra: &[(&str, String)],
) -> PathBuf {
    let mappings = dir.join("mappings");
    std::fs::create_dir_all(&mappings).unwrap();
    std::fs::write(mappings.join("crash.ini"), MAPPING).unwrap();
    let mut keys: Vec<(&str, String)> = vec![
        ("server_host", "127.0.0.1".into()),
        ("server_port", port.to_string()),
        ("mappings_dir", mappings.display().to_string()),
        ("data_dir", dir.join("data").display().to_string()),
        ("sl1_api_url", sl1_url.into()),
        ("sl1_username", "user".into()),
        ("sl1_password", "pass".into()),
        ("sl1_timeout", "5s".into()),
        ("max_worker_threads", "16".into()),
        ("queue_max_size", "100000".into()),
        ("shutdown_grace_period", "2s".into()),
        ("log_level", "warn".into()),
    ];
    for (key, value) in extra {
        keys.retain(|(k, _)| k != key);
        keys.push((key, value.clone()));
    }
    let path = dir.join(format!("{name}.ini"));
    std::fs::write(
        &path,
        keys.iter()
            .map(|(k, v)| format!("{k} = {v}\n"))
            .collect::<String>(),
    )
    .unwrap();
    path
}

/// Where one test's `genhook serve` lives: a data dir of its own, a free port, and
/// `genhook.ini` written for them ([`write_config`]).
pub struct Site {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub config: PathBuf,
}

impl Site {
    pub fn new(sl1_url: &str, extra: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = write_config(dir.path(), "genhook", port, sl1_url, extra);
        Self { dir, port, config }
    }

    /// A file of the site's folder (a log, a trace).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `genhook serve` on the site, logging to `log` in its folder.
    pub async fn start(&self, log: &str) -> Server {
        Server::start(&self.config, self.port, self.file(log)).await
    }
}

/// A `genhook serve` process, killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `genhook serve --config CONFIG` and waits until `/healthz` answers.
    pub async fn start(config: &Path, port: u16, log: PathBuf) -> Self {
        Self::start_with(
            Command::new(env!("CARGO_BIN_EXE_genhook")),
            config,
            port,
            log,
        )
        .await
    }

    /// [`Server::start`] through `command`: the binary, or a wrapper that `exec`s it with the
    /// arguments it is given (e.g. a shell that lowers a limit first).
    pub async fn start_with(mut command: Command, config: &Path, port: u16, log: PathBuf) -> Self {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env_remove("GENHOOK_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        let mut server = Self { child, port, log };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("genhook exited with {status}: {}", server.log_text());
            }
            let up = client
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("genhook did not come up: {}", server.log_text());
    }

    /// SIGKILL, now.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A client for the floods: every request bounded by 10 s.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Runs `send(i)` for every `i` in `0..n` on `concurrency` tasks, each taking the next `i` when
/// its last one is done; returns when all are.
async fn concurrently<F, Fut>(n: usize, concurrency: usize, send: F)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, send) = (Arc::clone(&next), send.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    send(i).await;
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
}

/// Sends webhooks `0..n` (`{"n": i}`) with `concurrency` in flight, spread over `ports` in turn;
/// calls `on_accepted(count)` after each 202. Returns the numbers answered 202.
pub async fn flood(
    ports: &[u16],
    n: usize,
    concurrency: usize,
    on_accepted: Arc<dyn Fn(usize) + Send + Sync>,
) -> HashSet<usize> {
    let client = client();
    let accepted = Arc::new(Mutex::new(HashSet::new()));
    let ports: Arc<[u16]> = ports.into();
    let set = Arc::clone(&accepted);
    concurrently(n, concurrency, move |i| {
        let (client, accepted, ports, on_accepted) = (
            client.clone(),
            set.clone(),
            ports.clone(),
            on_accepted.clone(),
        );
        async move {
            let port = ports[i % ports.len()];
            let sent = client
                .post(format!("http://127.0.0.1:{port}/webhook/crash"))
                .header("content-type", "application/json")
                .body(format!("{{\"n\": {i}}}"))
                .send()
                .await;
            if sent.is_ok_and(|r| r.status() == 202) {
                let count = {
                    let mut set = accepted.lock().unwrap();
                    set.insert(i);
                    set.len()
                };
                on_accepted(count);
            }
        }
    })
    .await;
    let set = accepted.lock().unwrap().clone();
    set
}

/// [`flood`], SIGKILLing `victim` once half of the webhooks were answered 202 (the flood goes on
/// against its dead port). The numbers answered 202, and whether the kill happened.
pub async fn flood_killing_at_half(
    ports: &[u16],
    n: usize,
    concurrency: usize,
    victim: Server,
) -> (HashSet<usize>, bool) {
    let victim = Mutex::new(Some(victim));
    let killed = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&killed);
    let accepted = flood(
        ports,
        n,
        concurrency,
        Arc::new(move |count| {
            if count == n / 2 {
                if let Some(mut server) = victim.lock().unwrap().take() {
                    server.kill();
                    flag.store(true, Ordering::SeqCst);
                }
            }
        }),
    )
    .await;
    (accepted, killed.load(Ordering::SeqCst))
}

/// What a [`flood_retrying`] got.
#[derive(Debug, Default)]
pub struct Retried {
    /// The deliveries answered 2xx (`202`, or `200 duplicate` to a retry).
    pub answered: HashSet<usize>,
    /// How many of those answers were `200 duplicate`.
    pub duplicates: usize,
    /// Requests sent again after an error or a non-2xx answer.
    pub retries: usize,
}

/// Sends deliveries `0..n` (`{"n": i}`) with `concurrency` in flight, spread over `ports` in
/// turn, each as GitHub sends it (`X-GitHub-Event: crash`, `X-GitHub-Delivery: crash-{i}`), and
/// sends each again with the same delivery id, every 50 ms, until it is answered 2xx or `limit`
/// has passed since the start. `answered` counts the 2xx answers as they come.
async fn flood_retrying(
    ports: Vec<u16>,
    n: usize,
    concurrency: usize,
    limit: Duration,
    answered: Arc<AtomicUsize>,
) -> Retried {
    let client = client();
    let deadline = tokio::time::Instant::now() + limit;
    let result = Arc::new(Mutex::new(Retried::default()));
    let ports: Arc<[u16]> = ports.into();
    let shared = Arc::clone(&result);
    concurrently(n, concurrency, move |i| {
        let (client, result, ports, answered) = (
            client.clone(),
            shared.clone(),
            ports.clone(),
            answered.clone(),
        );
        async move {
            for attempt in 0.. {
                let port = ports[(i + attempt) % ports.len()];
                let sent = client
                    .post(format!("http://127.0.0.1:{port}/webhook/crash"))
                    .header("content-type", "application/json")
                    .header("x-github-event", "crash")
                    .header("x-github-delivery", format!("crash-{i}"))
                    .body(format!("{{\"n\": {i}}}"))
                    .send()
                    .await;
                let status = sent.map(|r| r.status().as_u16());
                let done = {
                    let mut result = result.lock().unwrap();
                    if let Ok(status @ (200 | 202)) = status {
                        result.answered.insert(i);
                        result.duplicates += usize::from(status == 200);
                        answered.fetch_add(1, Ordering::SeqCst);
                        true
                    } else {
                        result.retries += 1;
                        tokio::time::Instant::now() > deadline
                    }
                };
                if done {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    })
    .await;
    let retried = std::mem::take(&mut *result.lock().unwrap());
    retried
}

/// A [`flood_retrying`] of `n` deliveries (64 in flight, given up after 90 s) running against
/// one port.
pub struct Flood {
    answered: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<Retried>,
}

impl Flood {
    pub fn start(port: u16, n: usize) -> Self {
        let answered = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(flood_retrying(
            vec![port],
            n,
            64,
            Duration::from_secs(90),
            Arc::clone(&answered),
        ));
        Self { answered, task }
    }

    /// Waits until `at_least` deliveries were answered 2xx (polling every 5 ms, at most 60 s).
    pub async fn answered(&self, at_least: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.answered.load(Ordering::SeqCst) < at_least {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{at_least} deliveries were never answered 2xx"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits for every delivery to be answered 2xx or given up.
    pub async fn finish(self) -> Retried {
        self.task.await.unwrap()
    }
}

/// An SL1 mock that takes 15 ms to accept each alert.
pub async fn slow_sl1() -> Sl1Mock {
    Sl1Mock::builder()
        .default_answer(Answer::created().delay(Duration::from_millis(15)))
        .start()
        .await
}

/// One `genhook serve` on a free port with a data dir of its own, against a slow SL1 mock
/// (15 ms an alert); `extra` configuration keys.
pub struct Rig {
    pub sl1: Sl1Mock,
    pub site: Site,
    pub server: Server,
    runs: usize,
}

impl Rig {
    pub async fn start(extra: &[(&str, String)]) -> Self {
        let sl1 = slow_sl1().await;
        let site = Site::new(&sl1.url(), extra);
        let server = site.start("run0.log").await;
        Self {
            sl1,
            site,
            server,
            runs: 0,
        }
    }

    /// SIGKILLs the server and starts it again at once on the same port, data and config.
    pub async fn sigkill_and_restart(&mut self) {
        self.server.kill();
        self.runs += 1;
        self.server = self.site.start(&format!("run{}.log", self.runs)).await;
    }

    /// The messages SL1 accepted so far.
    pub fn messages(&self) -> Vec<String> {
        self.sl1
            .accepted()
            .iter()
            .filter_map(|r| r.message().map(str::to_owned))
            .collect()
    }

    /// Asserts that all `n` deliveries of `flooded` were answered 2xx and that every one of them
    /// reaches SL1 (waiting at most 60 s).
    pub async fn assert_every_2xx_delivered(&self, what: &str, flooded: &Retried, n: usize) {
        assert_eq!(
            flooded.answered.len(),
            n,
            "{what}: every delivery was answered 2xx in the end"
        );
        let (lost, duplicates) = settle(&flooded.answered, Duration::from_secs(60), || {
            self.messages()
        })
        .await;
        println!(
            "{what}: {n} deliveries, {} retries, {} answered 200 duplicate, lost {lost}, delivered twice {duplicates}",
            flooded.retries, flooded.duplicates
        );
        assert_eq!(
            lost,
            0,
            "{what}: every delivery answered 2xx reached SL1; server log:\n{}",
            self.server.log_text()
        );
        assert!(delivered(self.messages()).keys().all(|i| *i < n));
    }
}

/// How many times each `crash N` message was accepted by SL1.
pub fn delivered(messages: impl IntoIterator<Item = String>) -> HashMap<usize, usize> {
    let mut counts = HashMap::new();
    for message in messages {
        if let Some(n) = message
            .strip_prefix("crash ")
            .and_then(|n| n.trim().parse().ok())
        {
            *counts.entry(n).or_insert(0) += 1;
        }
    }
    counts
}

/// Lost (202'd, never delivered) and duplicated (delivered more than once) counts.
pub fn tally(accepted: &HashSet<usize>, counts: &HashMap<usize, usize>) -> (usize, usize) {
    let lost = accepted.iter().filter(|n| !counts.contains_key(n)).count();
    let duplicates = counts.values().map(|c| c.saturating_sub(1)).sum();
    (lost, duplicates)
}

/// Polls what SL1 accepted so far (`messages`) until every 202'd webhook was delivered or
/// `limit` passed, then returns the lost and duplicated counts.
pub async fn settle(
    accepted: &HashSet<usize>,
    limit: Duration,
    messages: impl Fn() -> Vec<String>,
) -> (usize, usize) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let (lost, duplicates) = tally(accepted, &delivered(messages()));
        if lost == 0 || tokio::time::Instant::now() > deadline {
            return (lost, duplicates);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
