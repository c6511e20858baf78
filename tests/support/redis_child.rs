//! A test's own `redis-server` child on a free loopback port, to kill and restart at will: AOF
//! `appendfsync always` and no RDB snapshots when persistent, nothing on disk otherwise.
//! Skipped with "skipped: no redis-server binary" when `redis-server` is missing; fails then
//! under CI=true.
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::time::Instant;

/// Where the brief's machines have it; otherwise the first `redis-server` on `PATH`.
pub fn redis_binary() -> Option<PathBuf> {
    let installed = PathBuf::from("/usr/bin/redis-server");
    if installed.is_file() {
        return Some(installed);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        println!("skipped: no redis-server binary");
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "redis-server is required when CI=true"
        );
    }
    found
}

/// A port free right now on 127.0.0.1.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A test's own `redis-server` child on a free loopback port, its files in a temporary folder
/// (AOF `appendfsync always` when `persistent`, nothing on disk otherwise); SIGKILLed when
/// dropped.
pub struct RedisChild {
    binary: PathBuf,
    port: u16,
    persistent: bool,
    dir: tempfile::TempDir,
    child: Child,
}

impl RedisChild {
    /// Starts one and waits until it answers `PING`; `None` without a `redis-server` binary
    /// (see [`redis_binary`]).
    pub async fn start(persistent: bool) -> Option<Self> {
        let binary = redis_binary()?;
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let child = spawn(&binary, port, dir.path(), persistent);
        let redis = Self {
            binary,
            port,
            persistent,
            dir,
            child,
        };
        redis.wait_ready().await;
        Some(redis)
    }

    /// Starts it again on the same port after a [`kill`](Self::kill) and waits until it answers
    /// `PING`: with the data it kept when `persistent`, in a fresh folder (empty) otherwise.
    pub async fn restart(&mut self) {
        self.kill();
        if !self.persistent {
            self.dir = tempfile::tempdir().unwrap();
        }
        self.child = spawn(&self.binary, self.port, self.dir.path(), self.persistent);
        self.wait_ready().await;
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Polls `PING` (answered only once the AOF is loaded) for at most 30 s: generous, for a
    /// machine that stalls.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = redis::Client::open(self.url()).unwrap();
        loop {
            let ping = tokio::time::timeout(Duration::from_secs(1), async {
                let mut conn = client.get_multiplexed_async_connection().await?;
                redis::cmd("PING").query_async::<String>(&mut conn).await
            })
            .await;
            if matches!(ping, Ok(Ok(ref pong)) if pong == "PONG") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING within 30s: {ping:?}; log:\n{}",
                self.port,
                std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, and wait until the process is gone (its port is then free again).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A plain connection for looking at what is stored.
    pub async fn conn(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawns `redis-server` on `port` with its files in `dir`.
fn spawn(binary: &Path, port: u16, dir: &Path, persistent: bool) -> Child {
    let mut command = Command::new(binary);
    command
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--protected-mode", "no"])
        .args(["--daemonize", "no", "--save", ""])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(dir.join("redis.log"));
    if persistent {
        command.args(["--appendonly", "yes", "--appendfsync", "always"]);
    } else {
        command.args(["--appendonly", "no"]);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts")
}
