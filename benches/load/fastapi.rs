//! The FastAPI baseline: `fastapi_baseline/app.py` served by uvicorn with two worker processes on
//! a free loopback port, when the virtual environment made by `fastapi_baseline/setup.sh` exists.
//!
//! uvicorn is started in a process group of its own, so that stopping it (SIGTERM to that group,
//! then SIGKILL if it lingers) also ends its worker processes, and nothing else.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::github::SECRET;

/// Where `setup.sh` puts the virtual environment, unless `GENHOOK_FASTAPI_VENV` says otherwise.
pub(crate) fn venv(repo: &Path) -> PathBuf {
    crate::plan::knob_path("GENHOOK_FASTAPI_VENV")
        .unwrap_or_else(|| repo.join("target/fastapi-venv"))
}

/// A running uvicorn.
#[derive(Debug)]
pub(crate) struct Uvicorn {
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    _dir: TempDir,
}

impl Uvicorn {
    /// Starts uvicorn with two workers; `Err` says why it could not (no venv, did not come up).
    pub(crate) fn start(repo: &Path) -> Result<Self, String> {
        let python = venv(repo).join("bin/python");
        if !python.is_file() {
            return Err(format!(
                "no virtual environment at {} (run benches/load/fastapi_baseline/setup.sh)",
                venv(repo).display()
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(&python)
            .args(["-m", "uvicorn", "app:app", "--app-dir"])
            .arg(repo.join("benches/load/fastapi_baseline"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--workers",
                "2",
            ])
            .args(["--no-access-log", "--log-level", "warning"])
            .env("BENCH_GITHUB_SECRET", SECRET)
            .env("BENCH_QUEUE_DB", dir.path().join("queue.sqlite3"))
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start uvicorn: {e}"))?;
        let uvicorn = Self {
            child,
            addr,
            _dir: dir,
        };
        uvicorn.wait_ready(Duration::from_secs(30))?;
        Ok(uvicorn)
    }

    /// Waits until `GET /healthz` answers 200 on a fresh connection.
    #[allow(clippy::disallowed_methods)] // Runs on the main thread, outside every runtime.
    fn wait_ready(&self, cap: Duration) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < cap {
            if healthz(self.addr) {
                // Both workers import the app; give the second one a moment to bind as well.
                std::thread::sleep(Duration::from_millis(500));
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "uvicorn did not answer on {} within {cap:?}",
            self.addr
        ))
    }
}

impl Drop for Uvicorn {
    #[allow(clippy::disallowed_methods)] // Runs on the main thread, outside every runtime.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now (uvicorn binds it a moment later).
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One blocking `GET /healthz`.
fn healthz(addr: SocketAddr) -> bool {
    use std::io::{Read as _, Write as _};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}
