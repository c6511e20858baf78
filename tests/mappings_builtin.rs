//! The default mappings built into the binary: served when `mappings_dir` does not exist (a
//! directory always wins, also when it appears later), reported by `genhook check`, and
//! written out by `genhook mappings export DIR [--force]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use support::{genhook_command as genhook, TestGenHook};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SLACK: &str = r#"{"type":"event_callback","event":{"type":"message","channel":"C1","user":"U1","text":"hi"}}"#;

#[tokio::test]
async fn a_missing_mappings_dir_serves_the_built_in_mappings_until_a_directory_appears() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("not-yet");
    let genhook = TestGenHook::builder()
        .set("mappings_dir", missing.display())
        .start()
        .await;
    let json = [("content-type", "application/json")];
    let answer = genhook.post("/webhook/slack", &json, SLACK).await;
    assert_eq!(answer.status(), 202, "{}", answer.text().await.unwrap());
    let answer = genhook
        .post("/webhook/shop", &json, r#"{"type":"t"}"#)
        .await;
    assert_eq!(answer.status(), 404);

    // The operator's own directory wins at the next reload, even with one file.
    std::fs::create_dir(&missing).unwrap();
    std::fs::write(
        missing.join("shop.ini"),
        "[shop]\nevent = type\n*: type::Shop $type$\n",
    )
    .unwrap();
    assert!(genhook.running().reload(), "the reload was refused");
    let answer = genhook
        .post("/webhook/shop", &json, r#"{"type":"t"}"#)
        .await;
    assert_eq!(answer.status(), 202);
    let answer = genhook.post("/webhook/slack", &json, SLACK).await;
    assert_eq!(answer.status(), 404);
    genhook.shutdown().await;
}

#[tokio::test]
async fn a_mappings_directory_that_disappears_never_turns_the_built_in_ones_on() {
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", "[shop]\nevent = type\n*: type::Shop $type$\n")
        .start()
        .await;
    std::fs::remove_dir_all(genhook.mappings_dir()).unwrap();
    assert!(!genhook.running().reload(), "the reload was taken");
    let json = [("content-type", "application/json")];
    let answer = genhook
        .post("/webhook/shop", &json, r#"{"type":"t"}"#)
        .await;
    assert_eq!(answer.status(), 202, "the mappings in use are kept");
    let answer = genhook.post("/webhook/slack", &json, SLACK).await;
    assert_eq!(answer.status(), 404, "no built-in source was turned on");
    genhook.shutdown().await;
}

#[test]
fn check_says_which_mappings_it_checked() {
    let dir = tempfile::tempdir().unwrap();
    let output = genhook(dir.path(), &["check"]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert_eq!(
        text(&output.stdout),
        "ok: 8 source(s) from the built-in mappings (mappings_dir ./mappings does not exist)\n"
    );

    std::fs::create_dir(dir.path().join("mappings")).unwrap();
    let output = genhook(dir.path(), &["check"]);
    assert_eq!(
        text(&output.stdout),
        "ok: 0 source(s) from directory ./mappings\n",
        "an empty directory still wins"
    );
}

#[test]
fn export_writes_the_built_in_files_and_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let output = genhook(dir.path(), &["mappings", "export", "out"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&repo).unwrap() {
        let name = entry.unwrap().file_name();
        let exported = std::fs::read(dir.path().join("out").join(&name)).unwrap();
        assert_eq!(
            exported,
            std::fs::read(repo.join(&name)).unwrap(),
            "{name:?}"
        );
        names.push(name);
    }
    assert_eq!(text(&output.stdout).lines().count(), names.len());

    // An edited file is kept: nothing is written, the reason names it.
    let edited = dir.path().join("out/github.ini");
    std::fs::write(&edited, "; mine\n").unwrap();
    std::fs::remove_file(dir.path().join("out/jira.ini")).unwrap();
    let output = genhook(dir.path(), &["mappings", "export", "out"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("out/github.ini: exists (--force overwrites it)"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), "; mine\n");
    assert!(
        !dir.path().join("out/jira.ini").exists(),
        "a refused export wrote a file"
    );

    let output = genhook(dir.path(), &["mappings", "export", "--force", "out"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_ne!(std::fs::read_to_string(&edited).unwrap(), "; mine\n");
    assert!(dir.path().join("out/jira.ini").exists());
    // What was exported is what the server runs: check accepts it from the directory.
    std::fs::write(dir.path().join("genhook.ini"), "mappings_dir = out\n").unwrap();
    let output = genhook(dir.path(), &["check"]);
    assert!(output.status.success(), "{}", text(&output.stdout));
    assert_eq!(text(&output.stdout), "ok: 8 source(s) from directory out\n");
}
