//! Issue 8, over real sockets: no secret a webhook carried is kept in a dead letter (admin API,
//! `genhook dlq show`, the disk store's files) and a replay still renders the same message; metric
//! labels stay bounded whatever event types senders invent; `dedup_by = body` answers a captured
//! body replayed under a fresh delivery id as a duplicate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::sl1_mock::{Answer, Sl1Mock};
use support::{eventually, TestGenHook};

const WAIT: Duration = Duration::from_secs(20);
const ADMIN: &str = "redaction-admin-token";

const MAPPINGS: &str = "\
[egrid]
event = eventType
*: eventType,subject::EG $eventType$ $subject$

[acme]
verify = token
token_header = X-Acme-Auth
secret = ACME-TOKEN-SECRET-7f3a
event = kind
*: kind,msg::Acme $kind$: $msg$

[meraki]
verify = meraki
secret = MERAKI-SHARED-SECRET-9b1c
*: alertType,networkName::Meraki $alertType$ on $networkName$

[basic]
verify = basic
username = hook
secret = BASIC-PASS-SECRET-2d4e
event = kind
*: kind::Basic $kind$

[github]
verify = github
secret = GITHUB-HMAC-SECRET-5e6f
*: action,repository{name}::GitHub $action$ on $repository.name$

[slack]
verify = slack
secret = SLACK-SIGNING-SECRET-1a2b
*: event{type,text}::Slack $event.type$: $event.text$
";

fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `haystack` holds `secret` in clear or base64-encoded (at any of the three alignments
/// a substring can take inside a longer base64 text, as in a stored body or a Basic header).
fn leaks(haystack: &[u8], secret: &str) -> bool {
    let contains = |needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    if contains(secret.as_bytes()) {
        return true;
    }
    (0..3).any(|shift| {
        let mut bytes = vec![b'x'; shift];
        bytes.extend_from_slice(secret.as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let start = if shift == 0 { 0 } else { 4 };
        let core = &encoded.as_bytes()[start..encoded.len() - 4];
        contains(core)
    })
}

fn binary(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_genhook"))
        .args(args)
        .env_remove("GENHOOK_ADMIN_TOKEN")
        .output()
        .unwrap()
}

async fn binary_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        binary(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap()
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_a_dead_letter_the_cli_or_the_store_and_replay_renders_the_same() {
    let sl1 = Sl1Mock::builder()
        .default_answer(Answer::status(400))
        .start()
        .await;
    let genhook = TestGenHook::builder()
        .mapping("secrets.ini", MAPPINGS)
        .sl1(&sl1.url())
        .set("queue_backend", "disk")
        .set("admin_token", ADMIN)
        .set("sl1_retry_attempts", 0)
        .set("sl1_breaker_threshold", 1000)
        .start()
        .await;
    let json = ("content-type", "application/json");
    let mut secrets: Vec<String> = Vec::new();

    // Event Grid with the SAS key and token, a bearer token and a cookie.
    let response = genhook
        .post(
            "/webhook/egrid",
            &[
                json,
                ("aeg-sas-key", "EG-SAS-KEY-SECRET-4a1b"),
                ("aeg-sas-token", "r=topic&e=1&s=EG-SAS-TOKEN-SECRET-5c2d"),
                ("authorization", "Bearer AUTH-BEARER-SECRET-8c9d"),
                ("cookie", "session=COOKIE-SECRET-3e4f"),
            ],
            r#"{"id":"eg-1","eventType":"Microsoft.Storage.BlobCreated","subject":"/blobs/a.txt","data":{}}"#,
        )
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    secrets.extend(
        [
            "EG-SAS-KEY-SECRET-4a1b",
            "EG-SAS-TOKEN-SECRET-5c2d",
            "AUTH-BEARER-SECRET-8c9d",
            "COOKIE-SECRET-3e4f",
        ]
        .map(String::from),
    );

    // A custom token_header, whose name says nothing about being a secret.
    let response = genhook
        .post(
            "/webhook/acme",
            &[json, ("x-acme-auth", "ACME-TOKEN-SECRET-7f3a")],
            r#"{"kind":"build","msg":"green"}"#,
        )
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    secrets.push("ACME-TOKEN-SECRET-7f3a".into());

    // Meraki's shared secret in the body.
    let meraki = r#"{"version":"0.1","sharedSecret":"MERAKI-SHARED-SECRET-9b1c","sentAt":"2026-01-01T00:00:00Z","organizationId":"1","networkName":"Main Office","alertId":"m-1","alertType":"Settings changed","alertTypeId":"settings_changed","alertData":{}}"#;
    let response = genhook.post("/webhook/meraki", &[json], meraki).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    secrets.push("MERAKI-SHARED-SECRET-9b1c".into());

    // HTTP Basic.
    let basic = base64::engine::general_purpose::STANDARD.encode("hook:BASIC-PASS-SECRET-2d4e");
    let response = genhook
        .post(
            "/webhook/basic",
            &[json, ("authorization", &format!("Basic {basic}"))],
            r#"{"kind":"alarm"}"#,
        )
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    secrets.extend(["BASIC-PASS-SECRET-2d4e".to_owned(), basic]);

    // A GitHub signature header; secret fields deep in the body, one behind a `\u` escape (the
    // one search for every secret name finds both; the body is read in identify's one pass).
    let body = r#"{"action":"opened","repository":{"name":"genhook"},"installation":{"app":{"client_secret":"GH-CLIENT-SECRET-0a9b"},"shared\u0053ecret":"GH-ESCAPED-SECRET-1c2d"}}"#;
    let signature = hmac_hex("GITHUB-HMAC-SECRET-5e6f", body.as_bytes());
    let response = genhook
        .post(
            "/webhook/github",
            &[
                json,
                ("x-github-event", "issues"),
                ("x-github-delivery", "gh-delivery-1"),
                ("x-hub-signature-256", &format!("sha256={signature}")),
            ],
            body,
        )
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    secrets.extend([
        signature,
        "GH-CLIENT-SECRET-0a9b".to_owned(),
        "GH-ESCAPED-SECRET-1c2d".to_owned(),
    ]);

    // Slack: a signature header and the verification token in the body.
    let body = r#"{"token":"SLACK-VERIFY-TOKEN-6d7e","team_id":"T1","type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","text":"hello"}}"#;
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let signature = hmac_hex(
        "SLACK-SIGNING-SECRET-1a2b",
        format!("v0:{timestamp}:{body}").as_bytes(),
    );
    let response = genhook
        .post(
            "/webhook/slack",
            &[
                json,
                ("x-slack-request-timestamp", &timestamp),
                ("x-slack-signature", &format!("v0={signature}")),
            ],
            body,
        )
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    secrets.extend([signature, "SLACK-VERIFY-TOKEN-6d7e".to_owned()]);

    // SL1 answers 400: every event is dead-lettered at once.
    let list = || async {
        genhook
            .client
            .get(genhook.url("/admin/dlq"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let mut listing = String::new();
    for _ in 0..200 {
        listing = list().await;
        let total = serde_json::from_str::<serde_json::Value>(&listing).unwrap()["total"].clone();
        if total == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed: serde_json::Value = serde_json::from_str(&listing).unwrap();
    assert_eq!(listed["total"], 6, "{listing}");
    let first_messages: Vec<String> = {
        let mut m: Vec<String> = sl1
            .requests()
            .iter()
            .filter_map(|r| r.message().map(str::to_owned))
            .collect();
        m.sort();
        m
    };
    assert_eq!(first_messages.len(), 6, "{first_messages:?}");

    // The admin API: the list and every dead letter in full (its body decoded too).
    let mut seen: Vec<u8> = listing.clone().into_bytes();
    let url = genhook.url("");
    let url = url.trim_end_matches('/');
    for letter in listed["dead_letters"].as_array().unwrap() {
        let id = letter["id"].as_str().unwrap();
        let shown = genhook
            .client
            .get(genhook.url(&format!("/admin/dlq/{id}")))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let value: serde_json::Value = serde_json::from_str(&shown).unwrap();
        let body = base64::engine::general_purpose::STANDARD
            .decode(value["event"]["body"].as_str().unwrap())
            .unwrap();
        match value["event"]["source"].as_str().unwrap() {
            "meraki" => {
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(body["sharedSecret"], "<redacted>");
                assert_eq!(body["alertId"], "m-1", "the rest of the body is kept");
            }
            "acme" => assert!(shown.contains(r#"["x-acme-auth","<redacted>"]"#), "{shown}"),
            "egrid" => assert!(shown.contains(r#"["aeg-sas-key","<redacted>"]"#), "{shown}"),
            "github" => {
                let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let installation = &body["installation"];
                assert_eq!(installation["app"]["client_secret"], "<redacted>");
                assert_eq!(installation["sharedSecret"], "<redacted>");
                assert_eq!(body["repository"]["name"], "genhook");
            }
            _ => {}
        }
        seen.extend_from_slice(shown.as_bytes());
        seen.extend_from_slice(&body);

        // `genhook dlq show ID`, the real binary against the running server.
        let output = binary_async(
            ["dlq", "--url", url, "--token", ADMIN, "show", id]
                .map(String::from)
                .to_vec(),
        )
        .await;
        assert!(output.status.success(), "{output:?}");
        seen.extend_from_slice(&output.stdout);
        seen.extend_from_slice(&output.stderr);
    }
    let output = binary_async(
        ["dlq", "--url", url, "--token", ADMIN, "list", "--json"]
            .map(String::from)
            .to_vec(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    seen.extend_from_slice(&output.stdout);

    // The disk store's files, byte for byte.
    let mut files = Vec::new();
    files_under(&genhook.dir().join("data"), &mut files);
    assert!(!files.is_empty());
    let mut stored = Vec::new();
    for file in &files {
        stored.extend(std::fs::read(file).unwrap());
    }
    // This check can see into the store: the message in clear, the body in base64.
    assert!(leaks(&stored, "Settings changed"), "message not found");
    assert!(leaks(&stored, "organizationId"), "body not found");

    for secret in &secrets {
        assert!(
            !leaks(&seen, secret),
            "`{secret}` shown by the admin API or the CLI"
        );
        assert!(!leaks(&stored, secret), "`{secret}` kept in {files:?}");
    }

    // SL1 is back: a replay renders every stored (redacted) event to the same message.
    sl1.set_default(Answer::created());
    let output = binary_async(
        ["dlq", "--url", url, "--token", ADMIN, "replay", "--all"]
            .map(String::from)
            .to_vec(),
    )
    .await;
    assert!(output.status.success(), "{output:?}");
    let mut replayed: Vec<String> = sl1
        .wait_for_accepted(6, WAIT)
        .await
        .iter()
        .filter_map(|r| r.message().map(str::to_owned))
        .collect();
    replayed.sort();
    assert_eq!(replayed, first_messages);
    assert!(first_messages.contains(&"Meraki Settings changed on Main Office".to_owned()));
}

/// The metrics once GenHook has settled `n` deliveries of `gen` (SL1 counts an alert when it
/// answers; GenHook records the delivery's latency a moment later, adding that histogram's series).
async fn settled(genhook: &TestGenHook, n: u32) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = genhook.metrics().await;
        let count = support::metric_value(
            &text,
            "genhook_delivery_latency_seconds_count",
            &["source=\"gen\""],
        );
        if count >= Some(f64::from(n)) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{count:?} of {n} deliveries settled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_event_types_add_no_metric_series() {
    let sl1 = Sl1Mock::start().await;
    let genhook = TestGenHook::builder()
        .mapping(
            "gen.ini",
            "[gen]\nevent = type\npush: type,n::push $n$\n*: type,n::any $type$ $n$\n",
        )
        .sl1(&sl1.url())
        .set("queue_max_size", 5000)
        .start()
        .await;
    let series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| !line.starts_with('#') && line.contains("source=\"gen\""))
            .map(|line| line.rsplit_once(' ').unwrap().0.to_owned())
            .collect()
    };
    for kind in ["push", "warm-up"] {
        let body = format!(r#"{{"type":"{kind}","n":0}}"#);
        assert_eq!(genhook.post("/webhook/gen", &[], body).await.status(), 202);
    }
    sl1.wait_for_accepted(2, WAIT).await;
    let before = series(&settled(&genhook, 2).await);
    assert!(
        before.iter().any(|s| s.contains("event=\"other\"")),
        "{before:?}"
    );
    assert!(before.iter().any(|s| s.contains("event=\"push\"")));

    for n in 0..500u32 {
        let kind = format!("rnd-{}-{n}", uuid::Uuid::new_v4().simple());
        let body = format!(r#"{{"type":"{kind}","n":{n}}}"#);
        assert_eq!(genhook.post("/webhook/gen", &[], body).await.status(), 202);
    }
    sl1.wait_for_accepted(502, WAIT).await;
    let text = settled(&genhook, 502).await;
    let after = series(&text);
    assert!(
        !text.contains("rnd-"),
        "an invented event type became a label"
    );
    assert!(
        after.len() <= before.len() + 2,
        "{} series before, {} after 500 random event types",
        before.len(),
        after.len()
    );
    // The log keeps the real type: the accepted answer names it.
    let response = genhook
        .post("/webhook/gen", &[], r#"{"type":"rnd-last","n":1}"#)
        .await;
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["event"], "rnd-last");
}

#[tokio::test]
async fn dedup_by_body_answers_a_replayed_body_under_a_fresh_delivery_id_as_a_duplicate() {
    let sl1 = Sl1Mock::start().await;
    let genhook = TestGenHook::builder()
        .mapping(
            "github.ini",
            "[github]\nverify = github\nsecret = gh-secret\ndedup_by = body\ndedup_window = 1h\n*: action::GitHub $action$\n",
        )
        .sl1(&sl1.url())
        .set("queue_backend", "disk")
        .start()
        .await;
    let send = |body: &'static str, delivery: &'static str| {
        let signature = format!("sha256={}", hmac_hex("gh-secret", body.as_bytes()));
        let genhook = &genhook;
        async move {
            genhook
                .post(
                    "/webhook/github",
                    &[
                        ("content-type", "application/json"),
                        ("x-github-event", "issues"),
                        ("x-github-delivery", delivery),
                        ("x-hub-signature-256", &signature),
                    ],
                    body,
                )
                .await
        }
    };
    let captured = r#"{"action":"opened"}"#;
    assert_eq!(send(captured, "delivery-1").await.status(), 202);
    let replayed = send(captured, "delivery-2-fresh").await;
    assert_eq!(replayed.status(), 200);
    let answer: serde_json::Value = replayed.json().await.unwrap();
    assert_eq!(answer["status"], "duplicate");
    assert_eq!(
        send(r#"{"action":"closed"}"#, "delivery-3").await.status(),
        202
    );
    assert!(eventually(WAIT, || sl1.accepted().len() == 2).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sl1.request_count(), 2, "the replayed body reached SL1");
}

#[test]
fn a_bad_dedup_by_is_a_file_line_error_of_genhook_check() {
    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir(&mappings).unwrap();
    std::fs::write(
        mappings.join("github.ini"),
        "[github]\nevent = header:X-GitHub-Event\ndedup_by = hash\n*: action::GitHub $action$\n",
    )
    .unwrap();
    let config = dir.path().join("genhook.ini");
    std::fs::write(&config, format!("mappings_dir = {}\n", mappings.display())).unwrap();
    let output = binary(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = format!(
        "{}:3: dedup_by: unknown value `hash`; expected delivery_id or body",
        mappings.join("github.ini").display()
    );
    assert!(stdout.contains(&expected), "{expected} not in:\n{stdout}");
}
