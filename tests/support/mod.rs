//! Shared helpers of the integration tests: a GenHook started in-process on 127.0.0.1:0 with its
//! own temporary mappings and data directories, and (in `sl1_mock`) a real loopback SL1 mock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

pub mod captured_log;
pub mod golden;
pub mod memory_queue;
pub mod redis_child;
pub mod sl1_mock;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use genhook::app::{Builder, GenHook, Running, ShutdownReport};
use genhook::config::Config;

/// The four example mapping lines of the original plan, exactly as written there (the README's
/// mapping examples).
pub const DESIGN_LINES: &str = r#"github: action,pull_request{title,user{login}},repository{name}::GitHub $action$ on $repository.name$: "$pull_request.title$" by $pull_request.user.login$
stripe: type,data{object{amount,currency,status}}::Stripe $type$: Payment of $data.object.amount$ $data.object.currency$ status: $data.object.status$
slack: event{type,user,text}::Slack $event.type$ from user $event.user$: "$event.text$"
aws: detail-type,source,region,detail{instance-id,state}::AWS $detail-type$ from $source$ in $region$: Instance $detail.instance-id$ state: $detail.state$
"#;

/// Builds a [`TestGenHook`].
pub struct TestBuilder {
    mappings: Vec<(String, String)>,
    settings: Vec<(String, String)>,
    customize: Vec<Box<dyn FnOnce(Builder) -> Builder + Send>>,
    dir: Option<tempfile::TempDir>,
}

impl TestBuilder {
    /// Adds a mapping file.
    pub fn mapping(mut self, file: &str, text: &str) -> Self {
        self.mappings.push((file.to_owned(), text.to_owned()));
        self
    }

    /// Sets a configuration key.
    pub fn set(mut self, key: &str, value: impl ToString) -> Self {
        self.settings.retain(|(k, _)| k != key);
        self.settings.push((key.to_owned(), value.to_string()));
        self
    }

    /// Delivers to this SL1 URL with the test credentials.
    pub fn sl1(self, url: &str) -> Self {
        self.set("sl1_api_url", url)
            .set("sl1_username", "em7admin")
            .set("sl1_password", "em7pass")
    }

    /// Reuses a data directory (a restart).
    pub fn data_dir(mut self, dir: tempfile::TempDir) -> Self {
        self.dir = Some(dir);
        self
    }

    /// Changes the library builder (e.g. registers a custom layer).
    pub fn customize(mut self, f: impl FnOnce(Builder) -> Builder + Send + 'static) -> Self {
        self.customize.push(Box::new(f));
        self
    }

    /// Writes the files and starts GenHook.
    pub async fn start(self) -> TestGenHook {
        let dir = self.dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
        let mappings = dir.path().join("mappings");
        std::fs::create_dir_all(&mappings).unwrap();
        for (file, text) in &self.mappings {
            std::fs::write(mappings.join(file), text).unwrap();
        }
        let mut keys: Vec<(String, String)> = [
            ("server_host", "127.0.0.1".to_owned()),
            ("server_port", "0".to_owned()),
            ("mappings_dir", mappings.display().to_string()),
            ("data_dir", dir.path().join("data").display().to_string()),
            ("queue_backend", "memory".to_owned()),
            ("reload", "false".to_owned()),
            ("shutdown_grace_period", "5s".to_owned()),
            ("sl1_timeout", "2s".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, value) in self.settings {
            keys.retain(|(k, _)| *k != key);
            keys.push((key, value));
        }
        let ini: String = keys.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
        let config_path = dir.path().join("genhook.ini");
        std::fs::write(&config_path, ini).unwrap();
        let config = Config::load(Some(&config_path), &|_| None)
            .unwrap_or_else(|problems| panic!("test config does not load: {problems:?}"));
        let mut builder = GenHook::builder(config).env(std::sync::Arc::new(|_| None));
        for f in self.customize {
            builder = f(builder);
        }
        let running = builder
            .start()
            .await
            .unwrap_or_else(|e| panic!("GenHook did not start: {e}"));
        TestGenHook {
            addr: running.local_addr(),
            running: Some(running),
            dir,
            client: reqwest::Client::new(),
        }
    }
}

/// A GenHook running in this test process.
pub struct TestGenHook {
    /// Where it listens.
    pub addr: SocketAddr,
    running: Option<Running>,
    dir: tempfile::TempDir,
    /// An HTTP client.
    pub client: reqwest::Client,
}

impl TestGenHook {
    /// Starts building one.
    pub fn builder() -> TestBuilder {
        TestBuilder {
            mappings: Vec::new(),
            settings: Vec::new(),
            customize: Vec::new(),
            dir: None,
        }
    }

    /// The running service.
    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The temporary directory holding mappings/, data/ and genhook.ini.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The mappings directory.
    pub fn mappings_dir(&self) -> PathBuf {
        self.dir.path().join("mappings")
    }

    /// POSTs a body with headers.
    pub async fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Replays every dead letter through the admin API (`POST /admin/dlq/replay`).
    pub async fn replay_all(&self, admin_token: &str) -> reqwest::Response {
        self.client
            .post(self.url("/admin/dlq/replay"))
            .bearer_auth(admin_token)
            .send()
            .await
            .unwrap()
    }

    /// GETs an admin path with the bearer `admin_token`: the status and the JSON answer.
    pub async fn admin_get(&self, admin_token: &str, path: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(admin_token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// GETs a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// The Prometheus text.
    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    /// Shuts down gracefully; keeps the directory for a restart.
    pub async fn shutdown(mut self) -> (ShutdownReport, tempfile::TempDir) {
        let report = self.running.take().unwrap().shutdown().await;
        (report, self.dir)
    }
}

/// Runs the `genhook` binary in `dir` with `args` and an empty environment (but `PATH`), as a
/// script would; its output.
pub fn genhook_command(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_genhook"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap()
}

/// POSTs a JSON `body` to `path` of a `genhook serve` process on `127.0.0.1:port`; its status.
pub async fn post_json(client: &reqwest::Client, port: u16, path: &str, body: String) -> u16 {
    client
        .post(format!("http://127.0.0.1:{port}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The Prometheus text of a `genhook serve` process on `127.0.0.1:port`.
pub async fn scrape_metrics(client: &reqwest::Client, port: u16) -> String {
    client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until `check` holds, polling every 20 ms, for at most `limit`.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}

/// A metric's value in Prometheus text, for the series whose labels contain every `label`.
pub fn metric_value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.starts_with(name) && matches!(line.as_bytes().get(name.len()), Some(b'{' | b' '))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .reduce(|a, b| a + b)
}
