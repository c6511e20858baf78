//! # Idle connections: what each one costs in memory, GenHook against bare hyper, in one run
//!
//! For each server and protocol, `cargo bench --bench idle`:
//!
//! 1. starts the server as a process of its own and sends it one request (`GET /healthz`);
//! 2. reads its resident memory (`VmRSS` in `/proc/PID/status`): the idle baseline;
//! 3. opens N keep-alive connections, each sending one request and reading its answer, then
//!    idling, and reads the RSS again: (RSS with N open − baseline) / N is the cost of one idle
//!    connection;
//! 4. closes them all and, `GENHOOK_IDLE_SETTLE` seconds later (60 by default), reads the RSS a
//!    last time: is the memory given back?
//!
//! | server             | what answers                                                        |
//! |--------------------|---------------------------------------------------------------------|
//! | `bare-hyper`       | this bench program itself, re-run as a server: hyper with the same `hyper-util` auto builder GenHook uses, answering `200 ok` (the baseline) |
//! | `genhook`          | the real `genhook serve` binary of this build, memory queue, `idle_timeout` and `header_read_timeout` long enough for the connections to stay |
//! | extra binaries     | `GENHOOK_IDLE_BINARIES=name=path,...`: other `genhook` builds measured the same way (e.g. one built with `--no-default-features`, the system allocator) |
//!
//! Each runs over HTTP/1.1 (`h1`) and HTTP/2 with prior knowledge (`h2c`). The servers wait side
//! by side for their settle time, so a full run lasts about a minute more than the measurements.
//! Read the figures as ratios against `bare-hyper` in the same run: the machine is shared.
//!
//! Without `--bench` (that is, under `cargo test --all-targets`) it does a smoke run instead: 200
//! connections per server and protocol, no settle time, and exits with code 1 when a request is
//! not answered `200`, a connection is closed by the server while idle, or a server stops
//! answering after they closed. Memory is printed, never checked.
//!
//! Knobs (environment): `GENHOOK_IDLE_CONNECTIONS` (N, default 10000), `GENHOOK_IDLE_SETTLE`
//! (seconds), `GENHOOK_IDLE_BINARIES`. The program raises its own `RLIMIT_NOFILE` soft limit to
//! the hard one (GenHook does the same at start); N must stay below it.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::print_stdout)] // The table on stdout is this program's output.
#![allow(clippy::disallowed_methods)] // The knobs are read from the environment, as the load bench's are.

#[path = "../tests/crash_common/mod.rs"]
mod crash_common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::convert::Infallible;
use std::io::{BufRead as _, Read as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Set in the environment of the bench re-run as the bare hyper server.
const BARE_SERVER: &str = "GENHOOK_IDLE_BARE_SERVER";
/// Connections being opened at once.
const CONNECTING: usize = 64;
/// How long a server gets to settle before the RSS is read (after its start, after N opened).
const QUIET: Duration = Duration::from_secs(2);
/// The bound of every wait for an answer.
const WAIT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    raise_descriptor_limit();
    if std::env::var_os(BARE_SERVER).is_some() {
        return bare_server();
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let connections = knob("GENHOOK_IDLE_CONNECTIONS", if full { 10_000 } else { 200 });
    let settle = Duration::from_secs(knob("GENHOOK_IDLE_SETTLE", if full { 60 } else { 0 }));
    let mut binaries = vec![(
        "genhook".to_owned(),
        PathBuf::from(env!("CARGO_BIN_EXE_genhook")),
    )];
    if let Ok(list) = std::env::var("GENHOOK_IDLE_BINARIES") {
        for entry in list.split(',').filter(|entry| !entry.is_empty()) {
            let Some((name, path)) = entry.split_once('=') else {
                println!("GENHOOK_IDLE_BINARIES: `{entry}` is not name=path");
                return ExitCode::FAILURE;
            };
            binaries.push((name.to_owned(), PathBuf::from(path)));
        }
    }
    println!(
        "idle bench: {connections} connections per server and protocol, settle {}s ({})",
        settle.as_secs(),
        if full {
            "full run"
        } else {
            "smoke run; `cargo bench --bench idle` for the full one"
        }
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let rows = runtime.block_on(measure_all(&binaries, connections, settle));
    report(&rows, connections);
    if rows.iter().all(|row| row.failure.is_none()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The soft `RLIMIT_NOFILE` raised to the hard one: N client sockets live in this process.
fn raise_descriptor_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
}

/// The two protocols every server is measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Self::Http1 => "h1",
            Self::Http2 => "h2c",
        }
    }
}

/// One server process under measurement.
enum Process {
    Bare(BareServer),
    /// The server, and the folder of its config and data, removed when dropped.
    GenHook(crash_common::Server, #[allow(dead_code)] tempfile::TempDir),
}

impl Process {
    fn pid(&self) -> u32 {
        match self {
            Self::Bare(bare) => bare.child.id(),
            Self::GenHook(server, _) => server.child.id(),
        }
    }

    fn addr(&self) -> SocketAddr {
        let port = match self {
            Self::Bare(bare) => bare.port,
            Self::GenHook(server, _) => server.port,
        };
        SocketAddr::from(([127, 0, 0, 1], port))
    }
}

/// The results of one server and protocol.
#[derive(Debug)]
struct Row {
    server: String,
    protocol: Protocol,
    base: u64,
    open: u64,
    after: u64,
    failure: Option<String>,
}

/// Measures every server with both protocols, then waits for the settle time of each and reads
/// what is left.
async fn measure_all(
    binaries: &[(String, PathBuf)],
    connections: u64,
    settle: Duration,
) -> Vec<Row> {
    let mut pending = Vec::new();
    for protocol in [Protocol::Http1, Protocol::Http2] {
        pending.push(("bare-hyper".to_owned(), protocol, start_bare()));
        for (name, path) in binaries {
            pending.push((name.clone(), protocol, start_genhook(path).await));
        }
    }
    let mut waiting = Vec::new();
    for (server, protocol, process) in pending {
        let (row, closed_at) = measure(server, protocol, &process, connections).await;
        println!(
            "  {:<12} {:<4} measured{}",
            row.server,
            protocol.name(),
            row.failure
                .as_deref()
                .map(|failure| format!(": FAILED: {failure}"))
                .unwrap_or_default()
        );
        waiting.push((row, closed_at, process));
    }
    let mut rows = Vec::new();
    for (mut row, closed_at, process) in waiting {
        tokio::time::sleep_until(closed_at + settle).await;
        row.after = rss(process.pid());
        if row.failure.is_none() && !answers(process.addr(), row.protocol).await {
            row.failure = Some("no answer once the idle connections had closed".to_owned());
        }
        rows.push(row);
    }
    rows
}

/// Measures one server: the baseline, N idle connections, their close. Returns the row (its
/// `after` still to be read) and when the connections were closed.
async fn measure(
    server: String,
    protocol: Protocol,
    process: &Process,
    connections: u64,
) -> (Row, Instant) {
    let addr = process.addr();
    let pid = process.pid();
    let mut row = Row {
        server,
        protocol,
        base: 0,
        open: 0,
        after: 0,
        failure: None,
    };
    if !answers(addr, protocol).await {
        row.failure = Some("the first request was not answered 200".to_owned());
        return (row, Instant::now());
    }
    tokio::time::sleep(QUIET).await;
    row.base = rss(pid);
    let opened = open_idle(addr, protocol, connections).await;
    tokio::time::sleep(QUIET).await;
    row.open = rss(pid);
    match &opened {
        Err(failure) => row.failure = Some(failure.clone()),
        Ok(idle) => {
            let closed = idle.iter().filter(|c| c.closed_by_server()).count();
            if closed > 0 {
                row.failure = Some(format!("{closed} idle connections closed by the server"));
            }
        }
    }
    drop(opened);
    (row, Instant::now())
}

/// An idle client connection; dropping it closes the socket.
struct Idle {
    sender: Sender,
    connection: JoinHandle<()>,
}

enum Sender {
    Http1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    Http2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

impl Idle {
    /// Whether the server closed the connection: its client task ended by itself.
    fn closed_by_server(&self) -> bool {
        match &self.sender {
            Sender::Http1(sender) => sender.is_closed(),
            Sender::Http2(sender) => sender.is_closed(),
        }
    }
}

impl Drop for Idle {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Opens `n` connections to `addr`, each answered once and then left idle.
async fn open_idle(addr: SocketAddr, protocol: Protocol, n: u64) -> Result<Vec<Idle>, String> {
    let permits = Arc::new(Semaphore::new(CONNECTING));
    let mut opening = Vec::new();
    for _ in 0..n {
        let permit = permits.clone().acquire_owned().await.unwrap();
        opening.push(tokio::spawn(async move {
            let idle = tokio::time::timeout(WAIT, open_one(addr, protocol)).await;
            drop(permit);
            idle.map_err(|_| "no answer in time".to_owned())?
        }));
    }
    let mut idle = Vec::with_capacity(opening.len());
    for task in opening {
        idle.push(task.await.map_err(|error| error.to_string())??);
    }
    Ok(idle)
}

/// One connection, one `GET /healthz` answered `200` with its body read.
async fn open_one(addr: SocketAddr, protocol: Protocol) -> Result<Idle, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    let io = TokioIo::new(stream);
    let (sender, connection) = match protocol {
        Protocol::Http1 => {
            let (sender, connection) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|error| format!("handshake: {error}"))?;
            let task = tokio::spawn(async move {
                let _ = connection.await;
            });
            (Sender::Http1(sender), task)
        }
        Protocol::Http2 => {
            let (sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(|error| format!("handshake: {error}"))?;
            let task = tokio::spawn(async move {
                let _ = connection.await;
            });
            (Sender::Http2(sender), task)
        }
    };
    let mut idle = Idle { sender, connection };
    let answer = match &mut idle.sender {
        Sender::Http1(sender) => {
            let request = http::Request::get("/healthz").header("host", "localhost");
            sender
                .send_request(request.body(Empty::new()).unwrap())
                .await
        }
        // HTTP/2 takes the authority from the URI.
        Sender::Http2(sender) => {
            let request = http::Request::get(format!("http://{addr}/healthz"));
            sender
                .send_request(request.body(Empty::new()).unwrap())
                .await
        }
    }
    .map_err(|error| format!("request: {error}"))?;
    let status = answer.status();
    answer
        .into_body()
        .collect()
        .await
        .map_err(|error| format!("body: {error}"))?;
    if status != 200 {
        return Err(format!("answered {status}"));
    }
    Ok(idle)
}

/// Whether a fresh connection gets `200` to `GET /healthz`.
async fn answers(addr: SocketAddr, protocol: Protocol) -> bool {
    matches!(
        tokio::time::timeout(WAIT, open_one(addr, protocol)).await,
        Ok(Ok(_))
    )
}

/// The resident memory of a process (`VmRSS`), in bytes; 0 when it cannot be read.
fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .map_or(0, |kb: u64| kb * 1024)
}

/// `genhook serve` from `binary`: memory queue, no SL1, and timeouts that let idle connections
/// stay for the whole measurement.
async fn start_genhook(binary: &std::path::Path) -> Process {
    let long = "30m".to_owned();
    let site = crash_common::Site::new(
        "http://127.0.0.1:9/",
        &[
            ("queue_backend", "memory".to_owned()),
            ("max_worker_threads", "8".to_owned()),
            ("header_read_timeout", long.clone()),
            ("idle_timeout", long.clone()),
            ("http2_keep_alive_interval", long),
        ],
    );
    let server = crash_common::Server::start_with(
        Command::new(binary),
        &site.config,
        site.port,
        site.file("genhook.log"),
    )
    .await;
    Process::GenHook(server, site.dir)
}

/// The bare hyper server: this program re-run with [`BARE_SERVER`] set.
struct BareServer {
    child: Child,
    port: u16,
}

impl Drop for BareServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_bare() -> Process {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(BARE_SERVER, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().unwrap();
    Process::Bare(BareServer { child, port })
}

/// Runs as the bare hyper server until stdin closes (the bench ended): the same multi-threaded
/// runtime and auto builder as GenHook, answering `200 ok` to everything.
fn bare_server() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut out = std::io::stdout();
        writeln!(out, "{}", listener.local_addr().unwrap().port()).unwrap();
        out.flush().unwrap();
        std::thread::spawn(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            std::process::exit(0);
        });
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

/// Prints the table and the ratios against `bare-hyper` with the same protocol.
fn report(rows: &[Row], connections: u64) {
    const MIB: f64 = 1024.0 * 1024.0;
    println!(
        "\n{:<12} {:<4} {:>9} {:>9} {:>10} {:>9} {:>10} {:>9}",
        "server", "", "base MiB", "open MiB", "B/conn", "after MiB", "after/base", "vs bare"
    );
    let per_connection = |row: &Row| row.open.saturating_sub(row.base) as f64 / connections as f64;
    for row in rows {
        let bare = rows
            .iter()
            .find(|bare| bare.server == "bare-hyper" && bare.protocol == row.protocol)
            .map_or(f64::NAN, per_connection);
        println!(
            "{:<12} {:<4} {:>9.1} {:>9.1} {:>10.0} {:>9.1} {:>10.2} {:>8.2}x{}",
            row.server,
            row.protocol.name(),
            row.base as f64 / MIB,
            row.open as f64 / MIB,
            per_connection(row),
            row.after as f64 / MIB,
            row.after as f64 / row.base.max(1) as f64,
            per_connection(row) / bare,
            row.failure
                .as_deref()
                .map(|failure| format!("  FAILED: {failure}"))
                .unwrap_or_default()
        );
    }
}
