//! Users of the Python predecessor switch without editing a file: its example
//! `webhook-config.ini` (tests/fixtures/predecessor/, verbatim) plus a second token for one
//! service loads, each token is its own route, and SL1 receives the predecessor's message form
//! (`service|token|message`, `-` for what could not be resolved) with its `aligned_resource`.
//! `GET /health` and `GET /` answer as the predecessor's did.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use std::path::Path;
use std::process::{Command, Output};

use support::sl1_mock::Sl1Mock;
use support::TestGenHook;

/// The predecessor's example file, as published.
const EXAMPLE: &str = include_str!("fixtures/predecessor/webhook-config.ini");

/// A second GitHub token with its own alignment (none: the default), fields and template; the
/// payload posted to it has no `pull_request`, which the predecessor wrote `-`.
const SECOND_TOKEN: &str = "github_tokenB||action,issue{title},pull_request{title},repository{full_name}|GitHub $action$ in $repository.full_name$: issue \"$issue.title$\" pull request \"$pull_request.title$\"\n";

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn start(sl1: &Sl1Mock) -> TestGenHook {
    start_with(sl1, &format!("{EXAMPLE}{SECOND_TOKEN}")).await
}

async fn start_with(sl1: &Sl1Mock, webhook_config: &str) -> TestGenHook {
    TestGenHook::builder()
        .sl1(&sl1.url())
        .mapping("webhook-config.ini", webhook_config)
        .start()
        .await
}

/// Posts a payload to each token and returns what SL1 received: `(message, aligned_resource)`,
/// sorted.
async fn deliver(webhook_config: &str) -> Vec<(String, String)> {
    let sl1 = Sl1Mock::start().await;
    let genhook = start_with(&sl1, webhook_config).await;
    let json = [("content-type", "application/json")];
    let posts = [
        (
            "/webhook/github/token123",
            "github/pull_request.opened.json",
        ),
        ("/webhook/github/tokenB", "github/issues.opened.json"),
        (
            "/webhook/aws/token456",
            "aws/ec2-instance-state-change.json",
        ),
        ("/webhook/meraki/token789", "meraki/aps-went-down.json"),
    ];
    for (path, body) in posts {
        let response = genhook.post(path, &json, fixture(body)).await;
        let status = response.status();
        assert_eq!(status, 202, "{path}: {}", response.text().await.unwrap());
    }
    let requests = sl1.wait_for_accepted(4, Duration::from_secs(10)).await;
    let mut got: Vec<(String, String)> = requests
        .iter()
        .map(|r| {
            (
                r.message().unwrap().to_owned(),
                r.field("aligned_resource").unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    genhook.shutdown().await;
    got
}

/// What the predecessor sent SL1 for those four payloads.
fn predecessor_messages() -> Vec<(String, String)> {
    let mut want = vec![
        (
            "github|token123|GitHub opened on Hello-World: \"Update the README with new information.\" by Codertocat",
            "/api/organization/42",
        ),
        (
            "github|tokenB|GitHub opened in Codertocat/Hello-World: issue \"Spelling error in the README file\" pull request \"-\"",
            "/api/organization/0",
        ),
        (
            "aws|token456|AWS EC2 Instance State-change Notification from aws.ec2 in us-east-1: Instance i-abcd1111 state: pending",
            "/api/device/999",
        ),
        (
            "meraki|token789|Meraki critical: APs went down on device My access point (Serial: Q234-ABCD-5678) in network Main Office",
            "/api/device/24",
        ),
    ]
    .into_iter()
    .map(|(m, a)| (m.to_owned(), a.to_owned()))
    .collect::<Vec<_>>();
    want.sort();
    want
}

#[tokio::test]
async fn the_predecessors_file_delivers_its_message_form_per_token() {
    let got = deliver(&format!("{EXAMPLE}{SECOND_TOKEN}")).await;
    assert_eq!(got, predecessor_messages());
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_an_unknown_source() {
    let sl1 = Sl1Mock::start().await;
    let genhook = start(&sl1).await;
    let json = [("content-type", "application/json")];
    for path in [
        "/webhook/github/tokenC",
        "/webhook/github",
        "/webhook/github/token456",
    ] {
        let response = genhook
            .post(path, &json, fixture("github/issues.opened.json"))
            .await;
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unknown source `github`", "{path}");
    }
    genhook.shutdown().await;
}

#[tokio::test]
async fn health_and_root_answer_as_the_predecessor_did() {
    let sl1 = Sl1Mock::start().await;
    let genhook = start(&sl1).await;
    let health = genhook.get("/health").await;
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "healthy"}));
    let root = genhook.get("/").await;
    assert_eq!(root.status(), 200);
    let body: serde_json::Value = root.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"message": "GenHook API is running"})
    );
    genhook.shutdown().await;
}

/// The predecessor's production example settings, as published (placeholder credentials).
const APP_CONFIG: &str = include_str!("fixtures/predecessor/app-config.prod.ini.example");

fn genhook(dir: &Path, args: &[&str]) -> (bool, String) {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_genhook"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The predecessor's `backend/config/`: its settings and its webhooks file (with a second token).
fn predecessor_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app-config.ini"), APP_CONFIG).unwrap();
    std::fs::write(
        dir.path().join("webhook-config.ini"),
        format!("{EXAMPLE}{SECOND_TOKEN}"),
    )
    .unwrap();
    dir
}

#[test]
fn the_predecessors_app_config_is_read_with_a_notice_per_key() {
    let from = predecessor_dir();
    let (ok, out) = genhook(from.path(), &["check", "--config", "app-config.ini"]);
    assert!(ok, "{out}");
    for notice in [
        "app-config.ini:7: warning: the predecessor's [server] host is GenHook's `server_host`",
        "app-config.ini:15: warning: the predecessor's [sl1] api_url is GenHook's `sl1_api_url`",
        "app-config.ini:34: warning: the predecessor's [threading] max_workers is GenHook's `max_worker_threads`",
        "app-config.ini:11: warning: the predecessor's [server] reload has no equivalent",
        "app-config.ini:42: warning: the predecessor's [webhook_logging] has no equivalent",
        "app-config.ini:54: warning: the predecessor's [sl1_graphql] has no equivalent",
        // The mappings are found beside it: seven services, eight routes (two GitHub tokens).
        "ok: 8 source(s)",
    ] {
        assert!(out.contains(notice), "{notice}\n{out}");
    }
    // Reported once per section, never as an error.
    assert_eq!(out.matches("[webhook_logging]").count(), 1, "{out}");
    assert!(!out.contains("error"), "{out}");
}

#[test]
fn the_predecessors_files_dropped_into_mappings_load_without_a_config_option() {
    let cwd = tempfile::tempdir().unwrap();
    let from = predecessor_dir();
    std::fs::rename(from.path(), cwd.path().join("mappings")).unwrap();
    let (ok, out) = genhook(cwd.path(), &["check"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("mappings/app-config.ini:15: warning: the predecessor's [sl1] api_url is GenHook's `sl1_api_url`"),
        "{out}"
    );
    assert!(out.contains("ok: 8 source(s)"), "{out}");
}

#[tokio::test]
async fn migrate_writes_a_config_check_accepts_and_that_delivers_the_same_messages() {
    let from = predecessor_dir();
    let to = tempfile::tempdir().unwrap();
    let target = to.path().join("genhook");
    let (ok, out) = genhook(from.path(), &["migrate", ".", target.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("1 mapping file(s)"), "{out}");
    let config = target.join("genhook.ini");
    let (ok, out) = genhook(to.path(), &["check", "--config", config.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("ok: 8 source(s)"), "{out}");
    assert!(!out.contains("the predecessor's"), "{out}");

    let env = genhook::config::env::from_pairs::<[(&str, &str); 0], &str, &str>([]);
    let loaded = genhook::config::Config::load(Some(&config), &env).unwrap();
    assert_eq!(loaded.server_port, 443);
    assert_eq!(loaded.max_worker_threads, 100);
    assert_eq!(loaded.queue_max_size, Some(20000));
    assert_eq!(loaded.sl1_timeout, Duration::from_secs(30));
    assert_eq!(
        loaded.mappings_dir,
        target.join("mappings").canonicalize().unwrap()
    );
    // Migrating twice never overwrites.
    let (ok, out) = genhook(from.path(), &["migrate", ".", target.to_str().unwrap()]);
    assert!(!ok && out.contains("exists already"), "{out}");

    let migrated = std::fs::read_to_string(target.join("mappings/webhook-config.ini")).unwrap();
    assert_eq!(deliver(&migrated).await, predecessor_messages());
}

#[test]
fn migrate_never_overwrites_an_edited_mapping_file() {
    let from = predecessor_dir();
    let to = tempfile::tempdir().unwrap();
    let mappings = to.path().join("mappings");
    std::fs::create_dir_all(&mappings).unwrap();
    let edited = "[webhooks]\ngithub = action::edited by hand\n";
    std::fs::write(mappings.join("webhook-config.ini"), edited).unwrap();
    let (ok, out) = genhook(from.path(), &["migrate", ".", to.path().to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("webhook-config.ini: exists already with other contents"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(mappings.join("webhook-config.ini")).unwrap(),
        edited
    );
    assert!(!to.path().join("genhook.ini").exists(), "nothing written");
}

#[test]
fn migrate_output_json_names_what_it_wrote_and_each_notice() {
    let from = predecessor_dir();
    let to = tempfile::tempdir().unwrap();
    let target = to.path().join("genhook");
    let output = Command::new(env!("CARGO_BIN_EXE_genhook"))
        .args(["migrate", ".", target.to_str().unwrap(), "--output", "json"])
        .current_dir(from.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let done: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        done["config"],
        target.join("genhook.ini").display().to_string(),
        "{done}"
    );
    assert_eq!(done["mappings"].as_array().unwrap().len(), 1, "{done}");
    let notices = done["notices"].as_array().unwrap();
    assert!(!notices.is_empty(), "{done}");
    for notice in notices {
        assert!(
            notice["file"].as_str().unwrap().ends_with(".ini"),
            "{notice}"
        );
        assert!(notice["line"].as_u64().is_some(), "{notice}");
        assert_eq!(notice["severity"], "warning", "{notice}");
        assert!(notice["message"].is_string(), "{notice}");
    }
}
