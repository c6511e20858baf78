//! SIGHUP reloads the mappings and the configuration file. The file is changed without changing its size or modification
//! time, so the directory watcher cannot see it: only the signal can make the new text count.
//! (Its own test binary: the signal goes to the whole process.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use genhook::stack::Stacks;
use support::sl1_mock::Sl1Mock;
use support::{eventually, TestGenHook};

/// How long a reload may take on a busy machine.
const RELOAD_LIMIT: Duration = Duration::from_secs(30);

/// Writes `text` over `file` and puts its modification time back, so a watcher cannot notice:
/// only SIGHUP can make the change count. Keep the length too (the size is watched as well).
fn rewrite_unnoticed(file: &std::path::Path, text: impl AsRef<[u8]>) {
    let modified = std::fs::metadata(file).unwrap().modified().unwrap();
    std::fs::write(file, text).unwrap();
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

/// Sends SIGHUP to this test process (GenHook runs in it).
fn sighup_this_process() {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits until a reload swapped the stacks that were in use as `before`.
async fn reloaded_since(genhook: &TestGenHook, before: &Arc<Stacks>) {
    assert!(
        eventually(RELOAD_LIMIT, || !Arc::ptr_eq(
            before,
            &genhook.running().state().stacks()
        ))
        .await,
        "no reload within {RELOAD_LIMIT:?}"
    );
}

/// Waits until the reload watcher runs (it listens for SIGHUP from its first step on): a file
/// that only the watcher can notice is added to the mappings directory (not a `.ini`, so the
/// mappings stay the same), and the watcher's reload is awaited.
async fn wait_for_the_watcher(genhook: &TestGenHook) {
    let before = genhook.running().state().stacks();
    std::fs::write(genhook.mappings_dir().join("watcher-probe.txt"), "seen").unwrap();
    reloaded_since(genhook, &before).await;
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_mappings() {
    let sl1 = Sl1Mock::start().await;
    let genhook = TestGenHook::builder()
        .mapping(
            "shop.ini",
            "[shop]\nevent = type\n*: type,id::before $id$\n",
        )
        .sl1(&sl1.url())
        .set("reload", "true")
        .start()
        .await;
    wait_for_the_watcher(&genhook).await;

    let file = genhook.mappings_dir().join("shop.ini");
    rewrite_unnoticed(&file, "[shop]\nevent = type\n*: type,id::AFTER! $id$\n");

    let before = genhook.running().state().stacks();
    sighup_this_process();
    reloaded_since(&genhook, &before).await;

    // A reload that began before the rewrite (a second one of the watcher's probe, or the other
    // test's SIGHUP) may be the one that swapped the stacks: one webhook at a time until the
    // new line renders; once it does, every later one does too.
    let deadline = std::time::Instant::now() + RELOAD_LIMIT;
    let mut sent = 0;
    loop {
        sent += 1;
        let body = format!(r#"{{"type":"t","id":"{sent}"}}"#);
        assert_eq!(genhook.post("/webhook/shop", &[], body).await.status(), 202);
        let delivered = sl1.wait_for_accepted(sent, RELOAD_LIMIT).await;
        let message = delivered[sent - 1].message().map(str::to_owned);
        if message == Some(format!("AFTER! {sent}")) {
            break;
        }
        assert_eq!(message, Some(format!("before {sent}")), "alert {sent}");
        assert!(
            std::time::Instant::now() < deadline,
            "the old mapping still renders {RELOAD_LIMIT:?} after SIGHUP"
        );
    }
    let body = format!(r#"{{"type":"t","id":"{}"}}"#, sent + 1);
    assert_eq!(genhook.post("/webhook/shop", &[], body).await.status(), 202);
    let delivered = sl1.wait_for_accepted(sent + 1, RELOAD_LIMIT).await;
    assert_eq!(
        delivered[sent].message(),
        Some(format!("AFTER! {}", sent + 1).as_str())
    );
}

/// SIGHUP reloads the configuration file: the next alert carries the new SL1 credentials. The
/// file keeps its size and modification time, so only the signal can make the change count.
#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_the_sl1_credentials() {
    let sl1 = Sl1Mock::start().await;
    let genhook = TestGenHook::builder()
        .mapping("bank.ini", "[bank]\nevent = type\n*: type,id::bank $id$\n")
        .sl1(&sl1.url())
        .set("reload", "true")
        .start()
        .await;
    wait_for_the_watcher(&genhook).await;
    assert_eq!(
        genhook
            .post("/webhook/bank", &[], r#"{"type":"t","id":"1"}"#)
            .await
            .status(),
        202
    );
    let first = sl1.wait_for_accepted(1, Duration::from_secs(10)).await;
    assert_eq!(
        first[0].basic_auth(),
        Some(("em7admin".to_owned(), "em7pass".to_owned()))
    );

    // Same lengths: the file's size does not change.
    let file = genhook.dir().join("genhook.ini");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("sl1_username = em7admin", "sl1_username = rotated1")
        .replace("sl1_password = em7pass", "sl1_password = s3cret7");
    rewrite_unnoticed(&file, text);

    sighup_this_process();
    // The configuration file is read before the mappings are swapped. (A reload that began
    // before the rewrite — a second one of the watcher's probe, or the other test's SIGHUP —
    // may finish first with the old file, so wait for the new name rather than any reload.)
    assert!(
        eventually(RELOAD_LIMIT, || genhook
            .running()
            .config()
            .sl1_username
            .as_deref()
            == Some("rotated1"))
        .await,
        "the new sl1_username not loaded within {RELOAD_LIMIT:?} of SIGHUP"
    );

    // ...and the new SL1 client is built just after: one webhook at a time until an alert
    // carries the new credentials; once one does, every later one does too.
    let old = Some(("em7admin".to_owned(), "em7pass".to_owned()));
    let new = Some(("rotated1".to_owned(), "s3cret7".to_owned()));
    let deadline = std::time::Instant::now() + RELOAD_LIMIT;
    let mut sent = 1;
    loop {
        sent += 1;
        let body = format!(r#"{{"type":"t","id":"{sent}"}}"#);
        assert_eq!(genhook.post("/webhook/bank", &[], body).await.status(), 202);
        let alerts = sl1.wait_for_accepted(sent, RELOAD_LIMIT).await;
        let auth = alerts[sent - 1].basic_auth();
        if auth == new {
            break;
        }
        assert_eq!(auth, old, "alert {sent}");
        assert!(
            std::time::Instant::now() < deadline,
            "SL1 still gets the old credentials {RELOAD_LIMIT:?} after the reload"
        );
    }
    let body = format!(r#"{{"type":"t","id":"{}"}}"#, sent + 1);
    assert_eq!(genhook.post("/webhook/bank", &[], body).await.status(), 202);
    let alerts = sl1.wait_for_accepted(sent + 1, RELOAD_LIMIT).await;
    assert_eq!(alerts[sent].basic_auth(), new);
}
