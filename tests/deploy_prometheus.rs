//! `deploy/prometheus/genhook-rules.yml` and `deploy/grafana/genhook-dashboard.json` against the
//! real server: `promtool check rules` and the rules' unit tests (`promtool test rules`, from
//! Debian's `prometheus` package, which scripts/setup installs; skipped with a message when it is
//! missing, a failure under CI=true), then a real `genhook serve` given traffic (accepted, refused,
//! retried, delivered to the SL1 mock, dead-lettered, a connection beyond `max_connections`)
//! whose `/metrics` must export every metric name the rules and the dashboard use, each with its
//! `# HELP` and `# TYPE` lines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

mod crash_common;
mod support;
mod tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crash_common::{free_port, Server};
use support::sl1_mock::{Answer, Sl1Mock};
use support::{post_json, scrape_metrics};
use tools::{installed, repo};

fn rules() -> PathBuf {
    repo().join("deploy/prometheus/genhook-rules.yml")
}

fn dashboard() -> PathBuf {
    repo().join("deploy/grafana/genhook-dashboard.json")
}

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(repo().join("deploy/prometheus"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_rules_and_their_unit_tests_pass() {
    if !installed("promtool", "scripts/setup installs Debian's prometheus") {
        return;
    }
    let checked = promtool(&["check", "rules", "genhook-rules.yml"]);
    assert!(checked.contains("SUCCESS: 8 rules found"), "{checked}");
    let tested = promtool(&["test", "rules", "genhook-rules.test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn the_rules_cover_every_alert_the_runbook_explains() {
    let text = std::fs::read_to_string(rules()).unwrap();
    let runbook = std::fs::read_to_string(repo().join("docs/RUNBOOK.md")).unwrap();
    for alert in [
        "GenHookInstanceDown",
        "GenHookWebhooksRefused",
        "GenHookSL1Errors",
        "GenHookDeliveryLatencyHigh",
        "GenHookQueueGrowing",
        "GenHookDeadLetters",
        "GenHookCircuitOpen",
        "GenHookStorageUnavailable",
    ] {
        assert!(
            text.contains(&format!("- alert: {alert}\n")),
            "no {alert} rule"
        );
        assert!(
            runbook.contains(alert),
            "the runbook does not explain {alert}"
        );
    }
}

#[test]
fn the_dashboard_is_grafana_json_with_queries() {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dashboard()).unwrap()).unwrap();
    assert_eq!(json["uid"], "genhook");
    let panels = json["panels"].as_array().unwrap();
    assert!(panels.len() >= 10, "{} panels", panels.len());
    for panel in panels {
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {} has no query", panel["title"]);
        for target in targets {
            assert!(target["expr"].as_str().is_some_and(|e| !e.is_empty()));
        }
    }
}

/// The `genhook_*` names a file uses.
fn names_used(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    // Split at every character a metric name cannot hold; keep the words that are GenHook's.
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("genhook_"))
        .map(str::to_owned)
        .collect()
}

/// The series names of a Prometheus text page (histograms as `_bucket`, `_sum`, `_count`).
fn series_names(page: &str) -> BTreeSet<String> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| line.split(['{', ' ']).next().unwrap().to_owned())
        .collect()
}

const MAPPING: &str = "[shop]\nevent = type\ntoken = t0ken\n*: type,id::Shop $type$ $id$\n\
                       [signed]\nverify = shopify\nsecret = s3cret\nevent = type\n*: type::Signed $type$\n";

/// POSTs an order numbered `id` to `path`.
async fn post(client: &reqwest::Client, port: u16, path: &str, id: usize) -> u16 {
    post_json(
        client,
        port,
        path,
        format!(r#"{{"type":"order","id":"{id}"}}"#),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_the_rules_and_the_dashboard_use_is_exported_after_traffic() {
    // SL1: the first alert taken, the second after one retry, the third refused for good.
    let sl1 = Sl1Mock::builder()
        .answers([
            Answer::created(),
            Answer::status(500),
            Answer::created(),
            Answer::status(400),
        ])
        .start()
        .await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    std::fs::write(mappings.join("shop.ini"), MAPPING).unwrap();
    let config = dir.path().join("genhook.ini");
    std::fs::write(
        &config,
        format!(
            "server_host = 127.0.0.1\nserver_port = {port}\nmappings_dir = {}\ndata_dir = {}\n\
             queue_backend = disk\nsl1_api_url = {}\nsl1_username = u\nsl1_password = p\n\
             sl1_timeout = 5s\nmax_connections = 4\nlog_level = warn\nreload = false\n",
            mappings.display(),
            dir.path().join("data").display(),
            sl1.url()
        ),
    )
    .unwrap();
    let server = Server::start(&config, port, dir.path().join("genhook.log")).await;
    let client = reqwest::Client::new();

    // Accepted and delivered, one at a time so that each meets its scripted answer.
    for (id, delivered) in [(1, 1), (2, 3), (3, 4)] {
        assert_eq!(post(&client, port, "/webhook/shop/t0ken", id).await, 202);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while sl1.request_count() < delivered {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Refused: no signature.
    assert_eq!(post(&client, port, "/webhook/signed", 9).await, 401);
    // A connection beyond max_connections: closed at once (the others held open meanwhile).
    let held: Vec<std::net::TcpStream> = (0..4)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let mut extra = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut byte = [0u8; 1];
    let _ = std::io::Read::read(&mut extra, &mut byte);
    drop(held);
    drop(extra);

    // Until the dead letter is counted and the refused connection too.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let page = loop {
        let page = scrape_metrics(&client, port).await;
        if page.contains("genhook_dlq_size 1") && page.contains("genhook_connections_refused_total")
        {
            break page;
        }
        assert!(tokio::time::Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let exported = series_names(&page);
    let mut used = names_used(&rules());
    used.extend(names_used(&dashboard()));
    assert!(used.len() >= 15, "{used:?}");
    let missing: Vec<&String> = used
        .iter()
        .filter(|name| !exported.contains(*name))
        .collect();
    assert!(missing.is_empty(), "not exported: {missing:?}\n{page}");

    // Every metric has its # HELP and # TYPE lines.
    let typed: Vec<&str> = page
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split(' ').next())
        .collect();
    assert!(typed.len() >= 15, "{page}");
    for name in typed {
        assert!(
            page.lines()
                .any(|line| line.starts_with(&format!("# HELP {name} "))),
            "no # HELP for {name}:\n{page}"
        );
    }
    for name in exported.iter().filter(|name| name.starts_with("genhook_")) {
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| page.contains(&format!("# TYPE {base} histogram")))
            .unwrap_or(name);
        assert!(
            page.contains(&format!("# TYPE {base} ")),
            "no # TYPE for {name}"
        );
    }
}
