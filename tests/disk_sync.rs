//! The disk queue's promise, watched on the real `genhook serve` under `strace`: a webhook is
//! answered `202` only after an `fdatasync`/`fsync` of `queue.redb` that began after its event
//! was written to the file (so the event survives a power cut, not only a SIGKILL, which leaves
//! the page cache intact), and concurrent webhooks share those syncs (group commit).
//!
//! Needs `strace` (scripts/setup installs it): without it the test prints "skipped: no strace",
//! except under `CI=true`, where its absence is a failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

mod crash_common;
mod support;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crash_common::{Server, Site};
use support::sl1_mock::Sl1Mock;

/// Webhooks sent, and how many at once.
const WEBHOOKS: usize = 240;
const CONCURRENCY: usize = 24;

/// The syscalls watched: the store's writes and syncs, and the answers written to sockets.
const TRACED: &str = "trace=fsync,fdatasync,sync_file_range,msync,pwrite64,pwritev,pwritev2,\
                      write,writev,sendto,sendmsg";

fn strace_available() -> bool {
    let found = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "strace is required under CI=true (scripts/setup installs it)"
        );
        println!("skipped: no strace");
    }
    found
}

/// `genhook serve --config CONFIG` under `strace -f`, writing the trace to `trace`: the
/// [`Server`] is strace, which runs GenHook as its child.
struct Traced(Server);

impl Traced {
    async fn start(site: &Site, trace: &Path) -> Self {
        let mut strace = Command::new("strace");
        strace
            .args(["-f", "-qq", "--seccomp-bpf", "-yy", "-s", "1048576"])
            .args(["-e", TRACED, "-e", "signal=none", "-o"])
            .arg(trace)
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_genhook"));
        let log = site.file("genhook.log");
        Self(Server::start_with(strace, &site.config, site.port, log).await)
    }

    /// SIGKILLs the traced GenHook (strace's child), then waits for strace to end.
    fn stop(&mut self) {
        let pid = self.0.child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for child in children.split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", child]).status();
        }
        let _ = self.0.child.wait();
    }
}

impl Drop for Traced {
    /// A failed test leaves no GenHook behind strace (the inner [`Server`] then reaps strace).
    fn drop(&mut self) {
        self.stop();
    }
}

/// One system call of the trace: where its entry and its exit are (line numbers of the one
/// trace file, which strace writes in the order the calls entered and returned), its name and
/// its text (arguments and result).
#[derive(Debug)]
struct Call {
    entry: usize,
    exit: usize,
    name: String,
    text: String,
}

/// Reads `strace -f -o FILE` output, joining `<unfinished ...>` entries with their
/// `<... NAME resumed>` exits.
fn parse(trace: &str) -> Vec<Call> {
    let mut calls = Vec::new();
    let mut pending: HashMap<String, (usize, String, String)> = HashMap::new();
    for (index, line) in trace.lines().enumerate() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(resumed) = rest.strip_prefix("<... ") {
            if let Some((entry, name, text)) = pending.remove(pid) {
                calls.push(Call {
                    entry,
                    exit: index,
                    name,
                    text: format!("{text}{resumed}"),
                });
            }
            continue;
        }
        let Some((name, _)) = rest.split_once('(') else {
            continue;
        };
        if rest.ends_with("<unfinished ...>") {
            pending.insert(pid.to_owned(), (index, name.to_owned(), rest.to_owned()));
        } else {
            calls.push(Call {
                entry: index,
                exit: index,
                name: name.to_owned(),
                text: rest.to_owned(),
            });
        }
    }
    calls.sort_by_key(|c| c.entry);
    calls
}

fn on_store(call: &Call) -> bool {
    call.text.contains("queue.redb>")
}

fn is_store_sync(call: &Call) -> bool {
    matches!(call.name.as_str(), "fsync" | "fdatasync")
        && on_store(call)
        && call.text.ends_with("= 0")
}

fn is_store_write(call: &Call) -> bool {
    call.name.starts_with("pwrite") && on_store(call)
}

/// A write to a connection accepted on `port`: GenHook answering (not delivering to SL1, whose
/// alerts carry the event id too).
fn is_answer(call: &Call, port: u16) -> bool {
    matches!(
        call.name.as_str(),
        "write" | "writev" | "sendto" | "sendmsg"
    ) && socket_of(call).contains(&format!("<TCP:[127.0.0.1:{port}->"))
}

/// The socket (`fd<TCP:[…]`) a call wrote to.
fn socket_of(call: &Call) -> &str {
    call.text
        .split_once('(')
        .and_then(|(_, args)| args.split_once(">,"))
        .map_or("", |(socket, _)| socket)
}

/// Sends the webhooks `CONCURRENCY` at a time; the event ids of those answered 202.
async fn flood(port: u16) -> Vec<String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let ids = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let senders: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (client, ids, next) = (client.clone(), Arc::clone(&ids), Arc::clone(&next));
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= WEBHOOKS {
                        return;
                    }
                    let response = client
                        .post(format!("http://127.0.0.1:{port}/webhook/crash"))
                        .header("content-type", "application/json")
                        .body(format!("{{\"n\": {n}}}"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 202, "webhook {n}");
                    let body: serde_json::Value = response.json().await.unwrap();
                    ids.lock()
                        .unwrap()
                        .push(body["id"].as_str().unwrap().to_owned());
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let ids = ids.lock().unwrap().clone();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_202_follows_an_fsync_of_its_event_and_concurrent_webhooks_share_syncs() {
    if !strace_available() {
        return;
    }
    // SL1 holds every delivery: no acknowledgement writes to the store during the flood, so the
    // only syncs are the enqueues'.
    let sl1 = Sl1Mock::holding().await;
    let site = Site::new(
        &sl1.url(),
        &[
            ("queue_backend", "disk".into()),
            ("sl1_timeout", "300s".into()),
            ("max_worker_threads", "2".into()),
        ],
    );
    let trace_file = site.file("strace.txt");
    let mut server = Traced::start(&site, &trace_file).await;
    let ids = flood(server.0.port).await;
    server.stop();
    assert_eq!(ids.len(), WEBHOOKS);

    let trace = std::fs::read_to_string(&trace_file).unwrap();
    let calls = parse(&trace);
    let syncs: Vec<&Call> = calls.iter().filter(|c| is_store_sync(c)).collect();
    let store_writes: Vec<&Call> = calls.iter().filter(|c| is_store_write(c)).collect();
    let answers: Vec<&Call> = calls.iter().filter(|c| is_answer(c, site.port)).collect();
    assert!(
        !syncs.is_empty(),
        "no fsync/fdatasync of queue.redb in the trace"
    );

    // For each 202: the store write holding its event, the sync that followed it, the answer.
    let mut covering: HashSet<usize> = HashSet::new();
    for id in &ids {
        let written = store_writes
            .iter()
            .find(|c| c.text.contains(id.as_str()))
            .unwrap_or_else(|| panic!("event {id} was never written to queue.redb"));
        let body = answers
            .iter()
            .find(|c| c.text.contains(id.as_str()))
            .unwrap_or_else(|| panic!("the 202 of {id} is not in the trace"));
        // The status line may go out in a write of its own, just before the body's.
        let socket = socket_of(body);
        let answered = answers
            .iter()
            .filter(|c| c.entry <= body.entry && socket_of(c) == socket)
            .filter(|c| c.text.contains("HTTP/1.1 202"))
            .map(|c| c.entry)
            .max()
            .unwrap_or_else(|| panic!("no `HTTP/1.1 202` written for {id}: {}", body.text));
        let synced = syncs
            .iter()
            .find(|s| s.entry > written.exit)
            .unwrap_or_else(|| panic!("event {id} was written but never synced"));
        assert!(
            synced.exit < answered,
            "event {id}: answered 202 (trace line {}) before the sync of its write (line {}) \
             returned (line {})",
            answered + 1,
            written.exit + 1,
            synced.exit + 1,
        );
        covering.insert(synced.entry);
    }
    println!(
        "{} webhooks answered 202 after {} syncs of queue.redb ({} covering their events)",
        ids.len(),
        syncs.len(),
        covering.len()
    );
    // Group commit: concurrent webhooks wait for the same sync (fewer syncs than 202s).
    assert!(
        covering.len() < ids.len(),
        "every webhook had a sync of its own ({} syncs for {} webhooks): no group commit",
        covering.len(),
        ids.len()
    );
}
