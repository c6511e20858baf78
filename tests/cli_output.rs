//! `--output json` of the `genhook` binary's offline commands, run as a script runs them: `check`
//! (each problem an object with file, line, severity and message, whatever the exit status) and
//! `render` (the messages with their event type); stdout is exactly one JSON document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};
use support::genhook_command as genhook;

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_output_json_lists_every_problem_as_an_object_and_keeps_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    std::fs::write(
        dir.path().join("genhook.ini"),
        "queue_backend = memory\nserver_port = 99999\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("mappings/m.ini"),
        "[shop]\nevent = type\nverify = none\npaid: type,id::Paid $type$\n",
    )
    .unwrap();
    let output = genhook(dir.path(), &["check", "--output", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["errors"], 1, "{report}");
    assert_eq!(report["warnings"], 1, "{report}");
    let diagnostics = report["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 2, "{report}");
    let file = Path::new(".").join("mappings").join("m.ini");
    assert_eq!(
        diagnostics[0],
        json!({
            "file": file.display().to_string(),
            "line": 4,
            "severity": "warning",
            "message": "field `id` is declared but no template uses it",
        })
    );
    let port = diagnostics
        .iter()
        .find(|d| d["line"] == 2)
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(port["file"], "genhook.ini");
    assert_eq!(port["severity"], "error");
    assert!(
        port["message"].as_str().unwrap().starts_with("server_port"),
        "{port}"
    );

    // Fixed: ok, exit 0, the warnings still there (queue_backend's too, now the file is valid).
    std::fs::write(dir.path().join("genhook.ini"), "queue_backend = memory\n").unwrap();
    let output = genhook(dir.path(), &["check", "--output", "json"]);
    assert!(output.status.success());
    let report = json(&output);
    assert_eq!(
        (
            &report["ok"],
            &report["errors"],
            &report["warnings"],
            &report["sources"]
        ),
        (&json!(true), &json!(0), &json!(2), &json!(1)),
        "{report}"
    );
    // The default stays the FILE:LINE: message lines.
    let output = genhook(dir.path(), &["check"]);
    let text = String::from_utf8(output.stdout).unwrap();
    let last = text.lines().last().unwrap_or_default();
    assert!(last.starts_with("ok: 1 source(s) from directory"), "{text}");
}

#[test]
fn check_output_json_reports_what_it_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the mappings directory should be: it cannot be read (a path with nothing
    // there would serve the built-in mappings).
    std::fs::write(dir.path().join("nowhere"), "not a directory").unwrap();
    std::fs::write(dir.path().join("genhook.ini"), "mappings_dir = nowhere\n").unwrap();
    let output = genhook(dir.path(), &["check", "--output", "json"]);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&output);
    assert_eq!(report["errors"], 1, "{report}");
    assert_eq!(report["diagnostics"][0]["file"], "nowhere", "{report}");
    assert_eq!(report["diagnostics"][0]["line"], 0, "{report}");
    assert_eq!(report["diagnostics"][0]["severity"], "error", "{report}");
}

#[test]
fn render_output_json_gives_each_message_with_its_event() {
    let output = genhook(
        repo(),
        &[
            "render",
            "--source",
            "github",
            "--header",
            "X-GitHub-Event: pull_request",
            "--output",
            "json",
            "tests/fixtures/github/pull_request.opened.json",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rendered = json(&output);
    assert_eq!(rendered["source"], "github", "{rendered}");
    let messages = rendered["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{rendered}");
    assert_eq!(messages[0]["event"], "pull_request", "{rendered}");
    assert!(
        messages[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("GitHub pull_request opened in Codertocat/Hello-World #2"),
        "{rendered}"
    );
}

#[test]
fn render_output_json_that_fails_prints_no_json_and_exits_1() {
    let output = genhook(
        repo(),
        &["render", "--source", "nosuch", "--output", "json", "-"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unknown source `nosuch`"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
