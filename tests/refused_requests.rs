//! The record of refused requests over real sockets: a bad signature, an unknown source and an
//! ignored payload each appear at `GET /admin/requests` with their reason, secrets masked; it
//! survives a restart on the same data directory; `genhook requests list|show` reads it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use serde_json::Value;
use support::{TestBuilder, TestGenHook};

const SIGNED_GITHUB: &str = "[github]\nverify = github\nsecret = s3cret\nevent = header:X-GitHub-Event\n*: action,repository{full_name}::GitHub $action$ on $repository.full_name$\n";
const AWS: &str = "aws: detail-type,source,region::AWS $detail-type$ from $source$ in $region$\n";
const TOKEN: &str = "adm1n-tok";

fn builder() -> TestBuilder {
    TestGenHook::builder()
        .mapping("github.ini", SIGNED_GITHUB)
        .mapping("aws.ini", AWS)
        .set("admin_token", TOKEN)
}

const WRONG_SIGNATURE: &str =
    "sha256=abababababababababababababababababababababababababababababababab";

/// Sends the three refusals; returns the record's list.
async fn refuse_three(genhook: &TestGenHook) -> Value {
    let body =
        r#"{"action":"opened","repository":{"full_name":"a/b"},"sharedSecret":"body-s3cret"}"#;
    let response = genhook
        .post(
            "/webhook/github",
            &[
                ("x-github-event", "issues"),
                ("x-hub-signature-256", WRONG_SIGNATURE),
                ("authorization", "Bearer header-s3cret"),
                ("content-type", "application/json"),
            ],
            body,
        )
        .await;
    assert_eq!(response.status(), 401);
    let response = genhook
        .post("/webhook/nosuch", &[("x-api-key", "k3y-s3cret")], "{}")
        .await;
    assert_eq!(response.status(), 404);
    let response = genhook
        .post(
            "/webhook/aws",
            &[("content-type", "application/json")],
            r#"{"unrelated":1,"client_secret":"body-s3cret"}"#,
        )
        .await;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "ignored", "{status} {answer}");
    let (status, list) = genhook.admin_get(TOKEN, "/admin/requests").await;
    assert_eq!(status, 200, "{list}");
    list
}

fn reasons(list: &Value) -> Vec<(String, String)> {
    list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn refusals_are_recorded_with_their_reason_and_secrets_masked() {
    let genhook = builder().start().await;
    let list = refuse_three(&genhook).await;
    assert_eq!(
        reasons(&list),
        [
            ("aws".to_owned(), "no_mapped_field".to_owned()),
            ("nosuch".to_owned(), "unknown_source".to_owned()),
            ("github".to_owned(), "bad_signature".to_owned()),
        ],
        "{list}"
    );
    let text = list.to_string();
    for secret in [
        "header-s3cret",
        "body-s3cret",
        "k3y-s3cret",
        "abababababababab",
    ] {
        assert!(!text.contains(secret), "{secret} kept: {text}");
    }
    let github = &list["requests"][2];
    assert_eq!(github["status"], 401);
    assert_eq!(github["client"], "127.0.0.1");
    assert!(github["payload"].as_str().unwrap().contains("<redacted>"));
    let id = github["id"].as_u64().unwrap();
    let (status, one) = genhook
        .admin_get(TOKEN, &format!("/admin/requests/{id}"))
        .await;
    assert_eq!((status, &one), (200, github));
    let (status, _) = genhook.admin_get(TOKEN, "/admin/requests/99999").await;
    assert_eq!(status, 404);
    let (_, filtered) = genhook
        .admin_get(TOKEN, "/admin/requests?reason=no_mapped_field&limit=5")
        .await;
    assert_eq!(
        reasons(&filtered),
        [("aws".to_owned(), "no_mapped_field".to_owned())]
    );
    // Behind the admin token.
    let response = genhook.get("/admin/requests").await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn the_record_survives_a_restart_and_the_cli_lists_and_shows_it() {
    let genhook = builder().start().await;
    let before = refuse_three(&genhook).await;
    let (_, dir) = genhook.shutdown().await;
    let genhook = builder().data_dir(dir).start().await;
    let (_, after) = genhook.admin_get(TOKEN, "/admin/requests").await;
    assert_eq!(after, before);

    let url = genhook.url("");
    let id = before["requests"][0]["id"].to_string();
    let (list, show, list_json, show_json) = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            let output = Command::new(env!("CARGO_BIN_EXE_genhook"))
                .args(["requests", "--url", &url])
                .args(args)
                .env("GENHOOK_ADMIN_TOKEN", TOKEN)
                .output()
                .unwrap();
            assert!(output.status.success(), "{output:?}");
            String::from_utf8(output.stdout).unwrap()
        };
        (
            run(&["list"]),
            run(&["show", &id]),
            run(&["list", "--reason", "unknown_source", "--output", "json"]),
            run(&["show", &id, "--output", "json"]),
        )
    })
    .await
    .unwrap();
    // Text: a table, newest first, then the count.
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 5, "{list}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ID", "TIME", "SOURCE", "REASON", "STATUS"],
        "{list}"
    );
    assert!(lines[1].contains("no_mapped_field"), "{list}");
    assert!(
        lines[2].contains("unknown_source") && lines[2].ends_with("  404"),
        "{list}"
    );
    assert!(
        lines[3].contains("bad_signature") && lines[3].ends_with("  401"),
        "{list}"
    );
    assert_eq!(lines[4], "3 shown");
    assert!(
        show.starts_with(&format!("id:      {}\n", before["requests"][0]["id"])),
        "{show}"
    );
    assert!(show.contains("reason:  no_mapped_field\n"), "{show}");
    assert!(show.contains("\npayload:\n"), "{show}");
    // JSON: the server's answers, parsed.
    let listed: Value = serde_json::from_str(&list_json).unwrap();
    assert_eq!(listed["count"], 1, "{listed}");
    assert_eq!(listed["requests"][0], before["requests"][1]);
    let shown: Value = serde_json::from_str(&show_json).unwrap();
    assert_eq!(shown, before["requests"][0]);
}

#[tokio::test]
async fn the_bound_holds_over_http() {
    let genhook = builder().start().await;
    let total = genhook::refused::CAPACITY + 5;
    for _ in 0..total {
        let response = genhook.post("/webhook/nosuch", &[], "{}").await;
        assert_eq!(response.status(), 404);
    }
    let (_, list) = genhook.admin_get(TOKEN, "/admin/requests?limit=5000").await;
    let requests = list["requests"].as_array().unwrap();
    assert_eq!(requests.len(), genhook::refused::CAPACITY);
    assert_eq!(requests[0]["id"], total);
    // The writer thread writes in batches: wait for the last one. The file was rotated to
    // `.1` at its 1 000th line: the two hold every refusal, the newest five in the file.
    let path = genhook.dir().join("data").join(genhook::refused::FILE);
    let rotated = path.with_file_name(format!("{}.1", genhook::refused::FILE));
    let lines = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_or(0, |text| text.lines().count())
    };
    let written = support::eventually(std::time::Duration::from_secs(10), || {
        lines(&path) + lines(&rotated) == total
    })
    .await;
    assert!(written, "{} + {} lines", lines(&rotated), lines(&path));
    assert_eq!(lines(&rotated), genhook::refused::CAPACITY);
    assert_eq!(lines(&path), 5);
}

#[tokio::test]
async fn a_body_too_large_is_recorded_without_its_payload() {
    let genhook = builder().set("max_body_size", "1KB").start().await;
    let big = format!(r#"{{"action":"{}"}}"#, "x".repeat(4096));
    let response = genhook
        .post("/webhook/github", &[("x-github-event", "issues")], big)
        .await;
    assert_eq!(response.status(), 413);
    let (_, list) = genhook.admin_get(TOKEN, "/admin/requests").await;
    let refused = &list["requests"][0];
    assert_eq!(refused["reason"], "too_large", "{list}");
    assert_eq!(refused["status"], 413);
    assert!(refused["payload"].is_null(), "{list}");
}
