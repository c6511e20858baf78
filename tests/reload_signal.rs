//! SIGHUP reloads the mappings. The file is changed without changing its size or modification
//! time, so the directory watcher cannot see it: only the signal can make the new text count.
//! (Its own test binary: the signal goes to the whole process.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::sl1_mock::Sl1Mock;
use support::TestGenHook;

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
    let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
    std::fs::write(&file, "[shop]\nevent = type\n*: type,id::AFTER! $id$\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(modified)
        .unwrap();

    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
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
