//! Users of the Python predecessor switch without editing a file: its example
//! `webhook-config.ini` (tests/fixtures/predecessor/, verbatim) plus a second token for one
//! service loads, each token is its own route, and SL1 receives the predecessor's message form
//! (`service|token|message`, `-` for what could not be resolved) with its `aligned_resource`.
//! `GET /health` and `GET /` answer as the predecessor's did.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

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
    TestGenHook::builder()
        .sl1(&sl1.url())
        .mapping("webhook-config.ini", &format!("{EXAMPLE}{SECOND_TOKEN}"))
        .start()
        .await
}

#[tokio::test]
async fn the_predecessors_file_delivers_its_message_form_per_token() {
    let sl1 = Sl1Mock::start().await;
    let genhook = start(&sl1).await;
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
    assert_eq!(got, want);
    genhook.shutdown().await;
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
