//! SIGHUP reloads the mappings and the configuration file. The file is changed without changing its size or modification
//! time, so the directory watcher cannot see it: only the signal can make the new text count.
//! (Its own test binary: the signal goes to the whole process.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::sl1_mock::Sl1Mock;
use support::TestGenHook;

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
    // Let the watcher install its SIGHUP handler.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let file = genhook.mappings_dir().join("shop.ini");
    rewrite_unnoticed(&file, "[shop]\nevent = type\n*: type,id::AFTER! $id$\n");

    sighup_this_process();
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(
        genhook
            .post("/webhook/shop", &[], r#"{"type":"t","id":"7"}"#)
            .await
            .status(),
        202
    );
    let delivered = sl1.wait_for_accepted(1, Duration::from_secs(10)).await;
    assert_eq!(delivered[0].message(), Some("AFTER! 7"));
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
    tokio::time::sleep(Duration::from_millis(500)).await;
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
    tokio::time::sleep(Duration::from_millis(800)).await;

    assert_eq!(
        genhook
            .post("/webhook/bank", &[], r#"{"type":"t","id":"2"}"#)
            .await
            .status(),
        202
    );
    let both = sl1.wait_for_accepted(2, Duration::from_secs(10)).await;
    assert_eq!(
        both[1].basic_auth(),
        Some(("rotated1".to_owned(), "s3cret7".to_owned()))
    );
}
