//! Reloading the configuration file (what SIGHUP and the file watcher run, called directly here:
//! the signal itself is tested in `reload_signal.rs`), and the per-source `max_concurrent`
//! section key, over real sockets with the SL1 mock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use support::sl1_mock::{Answer, Sl1Mock};
use support::TestGenHook;

const SHOP: &str = "[shop]\nevent = type\n*: type,id::shop $id$\n";

/// Sets `key = value` in the test's configuration file (replacing the line if there is one).
fn set_key(genhook: &TestGenHook, key: &str, value: &str) {
    let file = config_file(genhook);
    let text = std::fs::read_to_string(&file).expect("config file readable");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| !line.starts_with(&format!("{key} =")))
        .map(str::to_owned)
        .collect();
    lines.push(format!("{key} = {value}"));
    std::fs::write(&file, lines.join("\n") + "\n").expect("config file writable");
}

fn config_file(genhook: &TestGenHook) -> std::path::PathBuf {
    genhook.dir().join("genhook.ini")
}

fn body_of(size: usize) -> String {
    let padding = "x".repeat(size);
    format!(r#"{{"type":"t","id":"7","padding":"{padding}"}}"#)
}

/// A GenHook with the `shop` mapping, delivering to `sl1`, with these extra settings.
async fn shop(sl1: &Sl1Mock, settings: &[(&str, &str)]) -> TestGenHook {
    let mut builder = TestGenHook::builder()
        .mapping("shop.ini", SHOP)
        .sl1(&sl1.url());
    for (key, value) in settings {
        builder = builder.set(key, value);
    }
    builder.start().await
}

async fn post_shop(genhook: &TestGenHook, body: String) -> u16 {
    genhook
        .post("/webhook/shop", &[], body)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_lower_max_body_size_is_applied_at_reload() {
    let sl1 = Sl1Mock::start().await;
    let genhook = shop(&sl1, &[("max_body_size", "4000")]).await;
    assert_eq!(post_shop(&genhook, body_of(2000)).await, 202);

    set_key(&genhook, "max_body_size", "1000");
    let report = genhook.running().reload_report();
    assert_eq!(report.config, Some(true), "{report:?}");
    assert!(report.restart_needed.is_empty(), "{report:?}");

    assert_eq!(post_shop(&genhook, body_of(2000)).await, 413);
    assert_eq!(post_shop(&genhook, body_of(10)).await, 202);
}

#[tokio::test]
async fn new_sl1_credentials_are_used_for_the_next_alert_after_reload() {
    let sl1 = Sl1Mock::start().await;
    let genhook = shop(&sl1, &[]).await;
    assert_eq!(post_shop(&genhook, body_of(1)).await, 202);
    let first = sl1.wait_for_accepted(1, Duration::from_secs(10)).await;
    assert_eq!(
        first[0].basic_auth(),
        Some(("em7admin".to_owned(), "em7pass".to_owned()))
    );

    set_key(&genhook, "sl1_username", "rotated");
    set_key(&genhook, "sl1_password", "n3w-s3cret");
    assert!(genhook.running().reload(), "a valid config was refused");

    assert_eq!(post_shop(&genhook, body_of(1)).await, 202);
    let both = sl1.wait_for_accepted(2, Duration::from_secs(10)).await;
    assert_eq!(
        both[1].basic_auth(),
        Some(("rotated".to_owned(), "n3w-s3cret".to_owned()))
    );
}

#[tokio::test]
async fn a_broken_config_file_is_refused_and_the_old_one_keeps_working() {
    let sl1 = Sl1Mock::start().await;
    let genhook = shop(&sl1, &[("max_body_size", "4000")]).await;

    // A valid change and a broken line together: nothing of the file is taken.
    set_key(&genhook, "max_body_size", "100");
    set_key(&genhook, "sl1_username", "someone-else");
    set_key(&genhook, "sl1_timeout", "banana");
    let report = genhook.running().reload_report();
    assert_eq!(report.config, Some(false), "{report:?}");
    assert!(report.mappings, "the mappings are fine and still taken");
    assert!(!genhook.running().reload());
    assert_eq!(genhook.running().config().max_body_size, 4000);

    assert_eq!(post_shop(&genhook, body_of(2000)).await, 202);
    let delivered = sl1.wait_for_accepted(1, Duration::from_secs(10)).await;
    assert_eq!(
        delivered[0].basic_auth(),
        Some(("em7admin".to_owned(), "em7pass".to_owned()))
    );

    // Fixed: taken.
    set_key(&genhook, "sl1_timeout", "2s");
    assert!(genhook.running().reload());
    assert_eq!(post_shop(&genhook, body_of(2000)).await, 413);
}

#[tokio::test]
async fn a_restart_only_key_is_reported_and_keeps_its_running_value() {
    let sl1 = Sl1Mock::start().await;
    let genhook = shop(&sl1, &[]).await;
    let port = genhook.addr.port();
    // A port nothing listens on (ours is busy, so ask for the next one along).
    set_key(&genhook, "server_port", &(port.wrapping_add(1)).to_string());
    set_key(&genhook, "queue_max_size", "3");
    let report = genhook.running().reload_report();
    assert_eq!(report.config, Some(true), "{report:?}");
    assert_eq!(report.restart_needed, ["server_port", "queue_max_size"]);
    assert_eq!(genhook.running().local_addr().port(), port);

    // Still served on the old port, and the queue still holds more than 3.
    for _ in 0..5 {
        assert_eq!(post_shop(&genhook, body_of(1)).await, 202);
    }
    assert!(genhook.running().backend().queue.capacity() > 3);
    sl1.wait_for_accepted(5, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_section_max_concurrent_limits_that_source_only() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::created().delay(Duration::from_millis(150)))
        .start()
        .await;
    let genhook = TestGenHook::builder()
        .mapping(
            "github.ini",
            "[github]\nmax_concurrent = 1\nevent = type\n*: type,id::github $id$\n",
        )
        .mapping("shop.ini", SHOP)
        .sl1(&sl1.url())
        // The section key wins over the configuration's key.
        .set("github_max_concurrent", "8")
        .set("max_worker_threads", "8")
        .start()
        .await;

    for n in 0..6 {
        let body = format!(r#"{{"type":"t","id":"{n}"}}"#);
        assert_eq!(
            genhook.post("/webhook/github", &[], body).await.status(),
            202
        );
    }
    sl1.wait_for_accepted(6, Duration::from_secs(10)).await;
    assert_eq!(sl1.max_in_flight(), 1, "github has max_concurrent = 1");

    // Another source goes in parallel.
    for n in 0..6 {
        assert_eq!(
            post_shop(&genhook, format!(r#"{{"type":"t","id":"{n}"}}"#)).await,
            202
        );
    }
    sl1.wait_for_accepted(12, Duration::from_secs(10)).await;
    assert!(sl1.max_in_flight() > 1, "shop is not limited");
}

#[tokio::test]
async fn a_mapping_reload_applies_a_new_section_max_concurrent() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::created().delay(Duration::from_millis(150)))
        .start()
        .await;
    let genhook = TestGenHook::builder()
        .mapping(
            "github.ini",
            "[github]\nevent = type\n*: type,id::github $id$\n",
        )
        .sl1(&sl1.url())
        .set("max_worker_threads", "8")
        .start()
        .await;
    let file = genhook.mappings_dir().join("github.ini");
    std::fs::write(
        &file,
        "[github]\nmax_concurrent = 1\nevent = type\n*: type,id::github $id$\n",
    )
    .unwrap();
    assert!(genhook.running().reload());

    for n in 0..6 {
        let body = format!(r#"{{"type":"t","id":"{n}"}}"#);
        assert_eq!(
            genhook.post("/webhook/github", &[], body).await.status(),
            202
        );
    }
    sl1.wait_for_accepted(6, Duration::from_secs(10)).await;
    assert_eq!(
        sl1.max_in_flight(),
        1,
        "max_concurrent = 1 after the reload"
    );

    // A bad value is refused with its line, and the limit in use stays.
    std::fs::write(
        &file,
        "[github]\nmax_concurrent = -3\nevent = type\n*: type,id::github $id$\n",
    )
    .unwrap();
    assert!(!genhook.running().reload());
    let problems = genhook::app::Validation::run(Some(&config_file(&genhook))).problems;
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        text.iter().any(|p| p
            .ends_with("github.ini:2: bad max_concurrent `-3` (expected a positive whole number)")),
        "{text:?}"
    );
}

#[tokio::test]
async fn log_level_is_live_when_the_host_can_set_it_and_restart_only_otherwise() {
    use genhook::config::LogLevel;
    use std::sync::{Arc, Mutex};

    let sl1 = Sl1Mock::start().await;
    let seen: Arc<Mutex<Vec<LogLevel>>> = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", SHOP)
        .sl1(&sl1.url())
        .customize(move |builder| {
            builder.log_level_setter(Arc::new(move |level| record.lock().unwrap().push(level)))
        })
        .start()
        .await;
    set_key(&genhook, "log_level", "debug");
    let report = genhook.running().reload_report();
    assert_eq!(report.config, Some(true), "{report:?}");
    assert!(report.restart_needed.is_empty(), "{report:?}");
    assert_eq!(seen.lock().unwrap().last(), Some(&LogLevel::Debug));

    // A library host that handed over no setter: the change waits for a restart, and says so.
    let plain = shop(&sl1, &[]).await;
    set_key(&plain, "log_level", "debug");
    assert_eq!(
        plain.running().reload_report().restart_needed,
        ["log_level"]
    );
}
