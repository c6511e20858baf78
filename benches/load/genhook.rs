//! GenHook itself, started in-process through the library exactly as `genhook serve` starts it:
//! a temporary directory with a `genhook.ini` and the repository's `mappings/github.ini` (with
//! `verify = github` and the bench's secret added), loaded with [`Config::load`] and started with
//! [`GenHook::builder`].

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use genhook::app::{GenHook, Running};
use genhook::config::Config;
use tempfile::TempDir;

use crate::github::SECRET;

/// A running GenHook and the directory holding its configuration, mappings and queue.
#[derive(Debug)]
pub(crate) struct Instance {
    running: Running,
    _dir: TempDir,
}

impl Instance {
    /// Starts GenHook with the `backend` queue (`memory` or `disk`), delivering to `sl1_url`.
    /// Call inside the runtime that should run it.
    pub(crate) async fn start(repo: &Path, backend: &str, sl1_url: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mappings = dir.path().join("mappings");
        std::fs::create_dir_all(&mappings).expect("create the mappings directory");
        std::fs::write(mappings.join("github.ini"), github_mapping(repo))
            .expect("write github.ini");
        let mut ini = String::new();
        for (key, value) in [
            ("server_host", "127.0.0.1"),
            ("server_port", "0"),
            ("mappings_dir", &mappings.display().to_string()),
            ("data_dir", &dir.path().join("data").display().to_string()),
            ("queue_backend", backend),
            ("sl1_api_url", sl1_url),
            ("sl1_username", "bench"),
            ("sl1_password", "bench"),
            ("reload", "false"),
            ("shutdown_grace_period", "5s"),
        ] {
            let _ = writeln!(ini, "{key} = {value}");
        }
        let file = dir.path().join("genhook.ini");
        std::fs::write(&file, ini).expect("write genhook.ini");
        let config = match Config::load(Some(&file), &|_: &str| None) {
            Ok(config) => config,
            Err(problems) => panic!("the bench's configuration does not load: {problems:?}"),
        };
        let running = match GenHook::builder(config).start().await {
            Ok(running) => running,
            Err(error) => panic!("GenHook does not start: {error}"),
        };
        Self { running, _dir: dir }
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.running.local_addr()
    }

    /// Graceful shutdown; how many events were left in the queue.
    pub(crate) async fn stop(self) -> usize {
        self.running.shutdown().await.left_in_queue
    }
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
