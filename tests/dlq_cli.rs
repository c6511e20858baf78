//! The `genhook` binary's `dlq` commands as a user runs them, against a real admin API on
//! 127.0.0.1: `show` decodes the body (JSON, text, base64 only for other bytes), `purge` needs a
//! filter or `--all` (exit 2), `--output json` parses, `replay --all` goes in batches with a
//! summary, and shows its progress only when stderr is a terminal (a pseudo-terminal here).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod queue_common;

use std::process::{Command, Output};
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use genhook::admin::{router, AdminState};
use genhook::core::queue::{DeadLetters as _, Event, Priority, Queue as _};
use genhook::core::Secret;
use genhook::queue::memory::MemoryQueue;
use queue_common::event;
use serde_json::Value;

const TOKEN: &str = "tok";

/// An admin API over a memory queue, on its own runtime; a dead letter of source `broken`
/// does not render.
struct Server {
    runtime: tokio::runtime::Runtime,
    url: String,
    queue: Arc<MemoryQueue>,
}

impl Server {
    fn start(letters: Vec<Event>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let queue = Arc::new(MemoryQueue::new(100));
        let url = runtime.block_on(async {
            for letter in letters {
                queue.dead_letter(letter).await.unwrap();
            }
            let state = AdminState {
                dead_letters: queue.dead_letters(),
                queue: queue.clone(),
                token: Secret::new(TOKEN),
                rerender: Arc::new(|e: Event| {
                    if e.source == "broken" {
                        Err("no mapping line matches".to_owned())
                    } else {
                        Ok(e)
                    }
                }),
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let app = axum::Router::new().nest("/admin", router(state));
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            url
        });
        Self {
            runtime,
            url,
            queue,
        }
    }

    fn dead_letters(&self) -> usize {
        self.runtime
            .block_on(self.queue.dead_letters().count())
            .unwrap()
    }

    fn queued(&self) -> usize {
        self.queue.depth()
    }

    /// `genhook dlq --url URL ARGS…` with the token in the environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_genhook"));
        command
            .args(["dlq", "--url", &self.url])
            .args(args)
            .env("GENHOOK_ADMIN_TOKEN", TOKEN);
        command
    }

    fn dlq(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(output)))
}

fn with_body(id: &str, source: &str, body: &[u8]) -> Event {
    let mut letter = event(id, source, "push", Priority::Normal);
    letter.body = Bytes::copy_from_slice(body);
    letter
}

#[test]
fn show_prints_a_json_body_as_json_text_as_text_and_only_other_bytes_as_base64() {
    let binary = [0xff_u8, 0xfe, 0x00, 0x80];
    let server = Server::start(vec![
        with_body("j", "github", br#"{"action":"opened","number":7}"#),
        with_body("t", "github", "plain text, ünïcode".as_bytes()),
        with_body("b", "github", &binary),
    ]);

    let output = server.dlq(&["show", "j", "--output", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = json(&output);
    assert_eq!(shown["event"]["id"], "j");
    assert_eq!(shown["event"]["body_encoding"], "json");
    assert_eq!(
        shown["event"]["body"],
        serde_json::json!({"action": "opened", "number": 7})
    );
    assert_eq!(shown["event"]["headers"][0][0], "x-test");

    let shown = json(&server.dlq(&["show", "t", "--output", "json"]));
    assert_eq!(shown["event"]["body_encoding"], "text");
    assert_eq!(shown["event"]["body"], "plain text, ünïcode");

    let shown = json(&server.dlq(&["show", "b", "--output", "json"]));
    assert_eq!(shown["event"]["body_encoding"], "base64");
    assert_eq!(
        shown["event"]["body"],
        base64::engine::general_purpose::STANDARD.encode(binary)
    );

    // The default, for people: fields, headers, the body pretty-printed.
    let output = server.dlq(&["show", "j"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("id:"), "{text}");
    assert!(text.contains("  x-test: 1\n"), "{text}");
    assert!(text.contains("github push j\n"), "the message: {text}");
    assert!(
        text.contains("body (json):\n{\n  \"action\": \"opened\",\n  \"number\": 7\n}\n"),
        "{text}"
    );
    let text = stdout(&server.dlq(&["show", "t"]));
    assert!(
        text.ends_with("body (text):\nplain text, ünïcode\n"),
        "{text}"
    );

    let output = server.dlq(&["show", "nope", "--output", "json"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
    assert!(stderr(&output).contains("404"), "{}", stderr(&output));
}

#[test]
fn purge_without_a_filter_refuses_with_exit_2_unless_all() {
    let server = Server::start(vec![
        event("a1", "github", "push", Priority::Normal),
        event("a2", "github", "push", Priority::Normal),
        event("b1", "stripe", "charge", Priority::Normal),
    ]);
    let output = server.dlq(&["purge"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--all"), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let output = server.dlq(&["purge", "--source", ""]);
    assert_eq!(output.status.code(), Some(2), "an empty filter is none");
    assert_eq!(server.dead_letters(), 3, "nothing deleted");
    // --all and a filter contradict each other.
    let output = server.dlq(&["purge", "--all", "--source", "github"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(server.dead_letters(), 3);

    let output = server.dlq(&["purge", "--source", "github"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "purged 2\n");
    assert_eq!(server.dead_letters(), 1);

    let output = server.dlq(&["purge", "--all", "--output", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(json(&output), serde_json::json!({"purged": 1}));
    assert_eq!(server.dead_letters(), 0);
}

#[test]
fn list_is_a_table_by_default_and_json_with_output_json() {
    let mut failed = event("a1", "github", "push", Priority::Normal);
    failed.attempts = 12;
    failed.last_error = Some("SL1 answered 503".into());
    let server = Server::start(vec![
        failed,
        event("b1", "stripe", "charge.succeeded", Priority::Normal),
    ]);
    let output = server.dlq(&["list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(
        lines[0],
        "ID  SOURCE  EVENT             ATTEMPTS  LAST ERROR"
    );
    assert_eq!(
        lines[1],
        "a1  github  push                    12  SL1 answered 503"
    );
    assert_eq!(lines[2], "b1  stripe  charge.succeeded         0  -");
    assert_eq!(lines[3], "2 shown, 2 in the dead-letter queue");

    for flag in [&["--output", "json"][..], &["--json"]] {
        let output = server.dlq(&[&["list", "--source", "stripe"][..], flag].concat());
        assert!(output.status.success(), "{}", stderr(&output));
        let list = json(&output);
        assert_eq!(list["count"], 1, "{list}");
        assert_eq!(list["dead_letters"][0]["id"], "b1", "{list}");
    }
    // The output flag also before the action.
    let output = server.dlq(&["--output", "json", "list"]);
    assert_eq!(json(&output)["count"], 2);
    let output = server.dlq(&["list", "--output", "yaml"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an unknown form is a usage error"
    );
}

#[test]
fn replay_one_prints_what_was_queued_in_either_form() {
    let server = Server::start(vec![
        event("a1", "github", "push", Priority::Normal),
        event("a2", "github", "push", Priority::Normal),
    ]);
    let output = server.dlq(&["replay", "a1"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "replayed a1 (queued)\n");
    let output = server.dlq(&["replay", "a2", "--output", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let answer = json(&output);
    assert_eq!(
        (&answer["id"], &answer["status"]),
        (&"a2".into(), &"queued".into())
    );
    assert_eq!(server.queued(), 2);
    // --batch belongs to --all.
    assert_eq!(
        server.dlq(&["replay", "a1", "--batch", "2"]).status.code(),
        Some(2)
    );
}

/// Five that replay and one that cannot.
fn six_letters() -> Vec<Event> {
    let mut letters: Vec<Event> = (1..=5)
        .map(|n| event(&format!("g{n}"), "github", "push", Priority::Normal))
        .collect();
    letters.insert(2, event("x1", "broken", "push", Priority::Normal));
    letters
}

#[test]
fn replay_all_goes_in_batches_and_sums_up_in_json() {
    let server = Server::start(six_letters());
    let output = server.dlq(&["replay", "--all", "--batch", "2", "--output", "json"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "one failed: {}",
        stderr(&output)
    );
    let summary = json(&output);
    assert_eq!(summary["replayed"], 5, "{summary}");
    assert_eq!(
        summary["ids"],
        serde_json::json!(["g1", "g2", "g3", "g4", "g5"]),
        "{summary}"
    );
    assert_eq!(summary["failed"][0]["id"], "x1", "{summary}");
    assert!(
        summary["failed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no mapping line matches"),
        "{summary}"
    );
    assert_eq!(summary["failed"].as_array().unwrap().len(), 1, "{summary}");
    assert!(summary["batches"].as_u64().unwrap() >= 3, "{summary}");
    // Not a terminal: no progress lines, only the summary.
    assert_eq!(stderr(&output), "");
    assert_eq!(server.queued(), 5);
    assert_eq!(server.dead_letters(), 1);
}

#[test]
fn replay_all_sums_up_in_text_with_the_failures_as_a_table() {
    let server = Server::start(six_letters());
    let output = server.dlq(&["replay", "--all", "--batch", "4"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("replayed 5, 1 failed ("), "{text}");
    assert_eq!(lines[1], "FAILED ID  ERROR", "{text}");
    assert!(lines[2].starts_with("x1         "), "{text}");
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(stderr(&output), "");

    // Nothing left that renders: nothing replayed, and a clean exit when nothing failed.
    let server = Server::start(vec![event("g1", "github", "push", Priority::Normal)]);
    let output = server.dlq(&["replay", "--all", "--source", "stripe"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "replayed 0, 0 failed (1 batch(es))\n");
}

#[cfg(unix)]
#[test]
fn replay_all_shows_progress_when_stderr_is_a_terminal() {
    use std::io::Read as _;
    use std::process::Stdio;

    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};

    let server = Server::start(
        (1..=5)
            .map(|n| event(&format!("g{n}"), "github", "push", Priority::Normal))
            .collect(),
    );
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let terminal = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let mut command = server.command(&["replay", "--all", "--batch", "2"]);
    command.stdout(Stdio::piped()).stderr(Stdio::from(terminal));
    let child = command.spawn().unwrap();
    // Only the child keeps the terminal open, so reading ends when it exits.
    drop(command);
    let reader = std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let mut seen = Vec::new();
        let mut buffer = [0_u8; 1024];
        // Linux answers EIO once the last holder of the terminal closed it.
        while let Ok(n @ 1..) = master.read(&mut buffer) {
            seen.extend_from_slice(&buffer[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let output = child.wait_with_output().unwrap();
    let progress = reader.join().unwrap();
    assert!(output.status.success(), "{progress}");
    for step in ["replayed 2…", "replayed 4…", "replayed 5…"] {
        assert!(progress.contains(step), "{step} missing in {progress:?}");
    }
    assert_eq!(
        stdout(&output),
        "replayed 5, 0 failed (3 batch(es))\n",
        "the summary on stdout, the progress only on the terminal"
    );
}

#[test]
fn replay_all_that_the_server_stops_part_way_sums_up_what_was_done_and_exits_1() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    // A server whose first batch replays two and whose second fails as a store would.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let url = runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/admin/dlq/replay",
            axum::routing::post(move || {
                let call = seen.fetch_add(1, Ordering::SeqCst);
                async move {
                    if call == 0 {
                        (
                            axum::http::StatusCode::OK,
                            axum::Json(
                                serde_json::json!({"replayed": 2, "ids": ["a", "b"], "failed": []}),
                            ),
                        )
                    } else {
                        (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            axum::Json(serde_json::json!({"error": "storage unavailable"})),
                        )
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });
    let output = Command::new(env!("CARGO_BIN_EXE_genhook"))
        .args(["dlq", "--url", &url, "replay", "--all", "--batch", "2"])
        .env("GENHOOK_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "replayed 2, 0 failed (1 batch(es))\n");
    assert!(
        stderr(&output).contains(
            "replay stopped: server answered 503 Service Unavailable: storage unavailable"
        ),
        "{}",
        stderr(&output)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
