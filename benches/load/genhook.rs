//! GenHook itself, started in-process through the library exactly as `genhook serve` starts it:
//! a temporary directory with a `genhook.ini` and the repository's `mappings/github.ini` (with
//! `verify = github` and the bench's secret added), loaded with [`Config::load`] and started with
//! [`GenHook::builder`].
//!
//! GenHook's settings reach it only through that `genhook.ini` text (a scenario's keys, then the
//! `GENHOOK_LOAD_INI` knob's), so a key added to GenHook later is one more line here; whether this
//! GenHook knows a key can be asked first ([`knows_key`]).
//!
//! Where it runs: on the bench's shared system-under-test runtime, except with
//! `threading_model = async`, which `genhook serve` runs on one `current_thread` runtime (HTTP,
//! queue and delivery on one thread): the bench does the same, on a thread of its own.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;

use genhook::app::{GenHook, Running};
use genhook::config::Config;
use tempfile::TempDir;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::github::SECRET;

/// What to start: the queue backend, the threading model and any further keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct Setup {
    /// `queue_backend`: `memory`, `disk` or `redis`.
    pub(crate) backend: &'static str,
    /// `threading_model`, or GenHook's default.
    pub(crate) threading_model: Option<&'static str>,
    /// More `genhook.ini` keys, written as they are (the `GENHOOK_LOAD_INI` knob's among them).
    pub(crate) keys: Vec<(String, String)>,
}

/// A running GenHook and the directory holding its configuration, mappings and queue.
#[derive(Debug)]
pub(crate) struct Instance {
    host: Host,
    addr: SocketAddr,
    _dir: TempDir,
}

/// Where the instance runs.
#[derive(Debug)]
enum Host {
    /// On the shared runtime.
    Shared(Box<Running>),
    /// On a `current_thread` runtime of its own thread, until told to stop; the thread returns
    /// the events left in the queue.
    Thread {
        stop: oneshot::Sender<()>,
        thread: std::thread::JoinHandle<usize>,
    },
}

impl Instance {
    /// Starts GenHook as `setup` says, delivering to `sl1_url`, on `sut` (or on a thread of its
    /// own for `threading_model = async`).
    pub(crate) fn start(repo: &Path, setup: &Setup, sl1_url: &str, sut: &Runtime) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mappings = dir.path().join("mappings");
        std::fs::create_dir_all(&mappings).expect("create the mappings directory");
        std::fs::write(mappings.join("github.ini"), github_mapping(repo))
            .expect("write github.ini");
        let mut keys: Vec<(String, String)> = [
            ("server_host", "127.0.0.1".to_owned()),
            ("server_port", "0".to_owned()),
            ("mappings_dir", mappings.display().to_string()),
            ("data_dir", dir.path().join("data").display().to_string()),
            ("queue_backend", setup.backend.to_owned()),
            ("sl1_api_url", sl1_url.to_owned()),
            ("sl1_username", "bench".to_owned()),
            ("sl1_password", "bench".to_owned()),
            ("reload", "false".to_owned()),
            ("shutdown_grace_period", "5s".to_owned()),
        ]
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect();
        if let Some(model) = setup.threading_model {
            keys.push(("threading_model".to_owned(), model.to_owned()));
        }
        keys.extend(setup.keys.iter().cloned());
        let config = load(dir.path(), &keys)
            .unwrap_or_else(|problems| panic!("the bench's genhook.ini does not load: {problems}"));
        let (host, addr) = if setup.threading_model == Some("async") {
            on_own_thread(config)
        } else {
            let running = sut.block_on(async {
                match GenHook::builder(config).env(no_env()).start().await {
                    Ok(running) => running,
                    Err(error) => panic!("GenHook does not start: {error}"),
                }
            });
            let addr = running.local_addr();
            (Host::Shared(Box::new(running)), addr)
        };
        Self {
            host,
            addr,
            _dir: dir,
        }
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Graceful shutdown; how many events were left in the queue.
    pub(crate) fn stop(self, sut: &Runtime) -> usize {
        match self.host {
            Host::Shared(running) => sut.block_on(running.shutdown()).left_in_queue,
            Host::Thread { stop, thread } => {
                let _ = stop.send(());
                thread.join().expect("the GenHook thread panicked")
            }
        }
    }
}

/// Writes `genhook.ini` with `keys` into `dir` and loads it.
fn load(dir: &Path, keys: &[(String, String)]) -> Result<Config, String> {
    let file = dir.join("genhook.ini");
    let mut ini = String::new();
    for (key, value) in keys {
        let _ = writeln!(ini, "{key} = {value}");
    }
    std::fs::write(&file, ini).map_err(|e| format!("cannot write genhook.ini: {e}"))?;
    Config::load(Some(&file), &|_: &str| None).map_err(|problems| {
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        messages.join("; ")
    })
}

/// Whether this GenHook knows the configuration key `key` (accepting `value` for it).
pub(crate) fn knows_key(key: &'static str, value: &str) -> bool {
    let dir = tempfile::tempdir().expect("a temporary directory");
    load(dir.path(), &[(key.to_owned(), value.to_owned())]).is_ok()
}

/// Runs GenHook on a `current_thread` runtime on a new thread, as `genhook serve` runs the
/// `async` model.
fn on_own_thread(config: Config) -> (Host, SocketAddr) {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("sut-async".to_owned())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current_thread runtime");
            runtime.block_on(async move {
                let running = match GenHook::builder(config).env(no_env()).start().await {
                    Ok(running) => running,
                    Err(error) => panic!("GenHook does not start: {error}"),
                };
                let _ = addr_tx.send(running.local_addr());
                let _ = stop_rx.await;
                running.shutdown().await.left_in_queue
            })
        })
        .expect("spawn the GenHook thread");
    let addr = addr_rx
        .recv()
        .expect("GenHook's thread ended before it listened");
    (Host::Thread { stop, thread }, addr)
}

/// The repository's GitHub mapping with signature verification turned on.
fn github_mapping(repo: &Path) -> String {
    let path = repo.join("mappings/github.ini");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let settings = format!("verify = github\nsecret = {SECRET}\n");
    let mut out = String::with_capacity(text.len() + settings.len());
    let mut added = false;
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if !added && line.trim() == "[github]" {
            out.push_str(&settings);
            added = true;
        }
    }
    if added {
        out
    } else {
        format!("[github]\n{settings}{out}")
    }
}

/// GenHook's `${NAME}` and override lookup: empty. Its settings come from the bench's
/// `genhook.ini` only, and the bench's own `GENHOOK_LOAD_*` knobs are not taken for
/// misspelt overrides.
fn no_env() -> genhook::loader::EnvLookup {
    std::sync::Arc::new(|_: &str| None)
}
