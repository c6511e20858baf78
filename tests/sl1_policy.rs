//! `genhook sl1 policy create` and `POST /admin/sl1/policy` against an SL1 GraphQL mock on a real
//! socket: the exact mutation and variables, Basic auth, the dry run that sends nothing, SL1's
//! error answers and a refused severity.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{json, Value};
use support::sl1_mock::{Answer, Sl1Mock, TestPki};
use support::TestGenHook;

const PASSWORD: &str = "s3cret-pw";

/// The predecessor's mutation for `github|tok123|` messages at severity 3, written out in full.
const GITHUB_MUTATION: &str = r#"mutation CreateEventPolicy {
  eventPolicyCreate(
    message: "%I"
    messageMatch: false
    identifierPattern: ".*\\|.*\\|(.*)"
    enabled: true
    identifierResultFormat: ""
    multiMatch: false
    name: "GENHOOK_github"
    regularExpression1: "tok123"
    regularExpression2: ""
    regularExpressionSearch: true
    severity: 3
    source: 6
  ) {
    id
  }
}"#;

const MAPPINGS: &str = "\
[github]
message_prefix = github|tok123|
pull_request: action::GitHub PR $action$
push: ref::GitHub push $ref$

[stripe]
charge.*: type::Stripe (live) $type$
*: type::Stripe (live) event $type$

[bare]
*: text::$text$
";

fn created(id: &str) -> Answer {
    Answer::ok().body(format!(
        r#"{{"data":{{"eventPolicyCreate":{{"id":"{id}"}}}}}}"#
    ))
}

/// A directory with `genhook.ini` (these extra lines) and `mappings/`.
fn setup(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    std::fs::write(dir.path().join("mappings/sources.ini"), MAPPINGS).unwrap();
    std::fs::write(
        dir.path().join("genhook.ini"),
        format!("mappings_dir = mappings\nsl1_username = em7admin\nsl1_timeout = 5s\n{extra}"),
    )
    .unwrap();
    dir
}

/// `genhook sl1 policy create ARGS…` in `dir`.
async fn genhook(dir: &Path, args: &[&str]) -> Output {
    let dir = dir.to_owned();
    let args: Vec<String> = ["sl1", "policy", "create"]
        .iter()
        .chain(args)
        .map(|a| (*a).to_owned())
        .collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_genhook"))
            .args(&args)
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GENHOOK_SL1_PASSWORD", PASSWORD)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_no_credentials(output: &Output) {
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    let basic = base64_of(&format!("em7admin:{PASSWORD}"));
    assert!(!all.contains(PASSWORD), "{all}");
    assert!(!all.contains(&basic), "{all}");
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test]
async fn creates_the_predecessors_policy_at_the_derived_url_with_basic_auth() {
    let sl1 = Sl1Mock::builder().answer(created("17")).start().await;
    // No sl1_graphql_url: derived from sl1_api_url (…/api/alert → …/gql).
    let dir = setup(&format!("sl1_api_url = {}\n", sl1.url()));
    let out = genhook(dir.path(), &["--source", "github", "--severity", "3"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "17");
    assert!(text(&out.stderr).contains("GENHOOK_github (id 17)"));
    assert_no_credentials(&out);

    let requests = sl1.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, http::Method::POST);
    assert_eq!(request.path, "/gql");
    assert_eq!(
        request.basic_auth(),
        Some(("em7admin".to_owned(), PASSWORD.to_owned()))
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("user-agent"),
        Some(concat!("GenHook/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(
        request.json,
        Some(json!({ "query": GITHUB_MUTATION, "variables": {} }))
    );
}

#[tokio::test]
async fn output_json_prints_the_created_policy_or_the_dry_runs_request() {
    let sl1 = Sl1Mock::builder().answer(created("17")).start().await;
    let dir = setup(&format!("sl1_api_url = {}\n", sl1.url()));
    let create = ["--source", "github", "--severity", "3", "--output", "json"];
    let out = genhook(dir.path(), &[&create[..], &["--dry-run"]].concat()).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dry["dry_run"], json!(true), "{dry}");
    assert_eq!(dry["name"], "GENHOOK_github", "{dry}");
    assert_eq!(dry["request"]["method"], "POST", "{dry}");
    assert_eq!(
        dry["request"]["body"],
        json!({ "query": GITHUB_MUTATION, "variables": {} })
    );
    assert_no_credentials(&out);
    assert!(sl1.requests().is_empty(), "a dry run sends nothing");

    let out = genhook(dir.path(), &create).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created, json!({"id": "17", "name": "GENHOOK_github"}));
    assert_no_credentials(&out);
    assert_eq!(sl1.requests().len(), 1);
}

#[tokio::test]
async fn the_dry_run_prints_the_exact_request_and_sends_nothing() {
    let sl1 = Sl1Mock::builder()
        .default_answer(created("1"))
        .start()
        .await;
    let url = format!("http://{}/graphql", sl1.addr());
    let dir = setup(&format!("sl1_graphql_url = {url}\n"));
    let out = genhook(
        dir.path(),
        &["--source", "github", "--severity", "3", "--dry-run"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let (head, body) = stdout.split_once("\n\n").unwrap();
    assert_eq!(
        head,
        format!(
            "POST {url}\nContent-Type: application/json\nAccept: application/json\n\
             Authorization: Basic (sl1_username:sl1_password, not shown)"
        )
    );
    let body: Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(body, json!({ "query": GITHUB_MUTATION, "variables": {} }));
    assert!(text(&out.stderr).contains("nothing sent"));
    assert_no_credentials(&out);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(sl1.request_count(), 0);
}

#[tokio::test]
async fn a_source_without_the_prefix_is_matched_on_its_fixed_beginning() {
    let dir = setup("");
    let out = genhook(
        dir.path(),
        &["--source", "stripe", "--severity", "0", "--dry-run"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let (head, body) = stdout.split_once("\n\n").unwrap();
    assert!(
        head.starts_with("POST (sl1_graphql_url and sl1_api_url unset)"),
        "{head}"
    );
    let body: Value = serde_json::from_str(body.trim()).unwrap();
    let query = body["query"].as_str().unwrap();
    assert!(query.contains(r#"identifierPattern: "^(.*)""#), "{query}");
    assert!(
        query.contains(r#"regularExpression1: "^Stripe \\(live\\) ""#),
        "{query}"
    );
    assert!(query.contains(r#"name: "GENHOOK_stripe""#), "{query}");
    assert!(query.contains("severity: 0\n"), "{query}");

    // A token for messages that carry none is refused, as is a source with no fixed start.
    let out = genhook(
        dir.path(),
        &[
            "--source",
            "stripe",
            "--token",
            "x",
            "--severity",
            "1",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no `service|token|` prefix"),
        "{}",
        text(&out.stderr)
    );
    let out = genhook(
        dir.path(),
        &["--source", "bare", "--severity", "1", "--dry-run"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("message_prefix = bare|"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn sl1_errors_are_clear_and_exit_1() {
    let sl1 = Sl1Mock::builder()
        .answer(Answer::ok().body(r#"{"errors":[{"message":"Policy name already exists"}]}"#))
        .answer(Answer::status(500).body("internal trouble"))
        .start()
        .await;
    let dir = setup(&format!("sl1_graphql_url = http://{}/gql\n", sl1.addr()));
    let args = ["--source", "github", "--severity", "4"];
    let out = genhook(dir.path(), &args).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("SL1 refused the event policy: Policy name already exists"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let out = genhook(dir.path(), &args).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("SL1's GraphQL API answered 500: internal trouble"),
        "{}",
        text(&out.stderr)
    );
    assert_no_credentials(&out);
    sl1.stop();
    // Nothing listening: a connection error, still exit 1.
    let out = genhook(dir.path(), &args).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot reach SL1's GraphQL API"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn a_bad_severity_or_source_is_refused_before_anything_is_sent() {
    let sl1 = Sl1Mock::builder()
        .default_answer(created("1"))
        .start()
        .await;
    let dir = setup(&format!("sl1_graphql_url = http://{}/gql\n", sl1.addr()));
    for severity in ["5", "-1"] {
        let out = genhook(dir.path(), &["--source", "github", "--severity", severity]).await;
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains(&format!("severity {severity} is not 0-4")),
            "{}",
            text(&out.stderr)
        );
    }
    let out = genhook(dir.path(), &["--source", "nope", "--severity", "1"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown source `nope`"));
    assert_eq!(sl1.request_count(), 0);
}

#[tokio::test]
async fn the_admin_route_runs_the_same_code_behind_the_token() {
    let sl1 = Sl1Mock::builder().answer(created("99")).start().await;
    let genhook = TestGenHook::builder()
        .mapping("sources.ini", MAPPINGS)
        .set("admin_token", "adm1n")
        .set("sl1_graphql_url", format!("http://{}/gql", sl1.addr()))
        .set("sl1_username", "em7admin")
        .set("sl1_password", PASSWORD)
        .start()
        .await;
    let url = genhook.url("/admin/sl1/policy");
    let post = |body: Value, token: &str| {
        genhook
            .client
            .post(&url)
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let github = json!({ "source": "github", "severity": 3 });

    let answer = post(github.clone(), "wrong").await.unwrap();
    assert_eq!(answer.status(), 401);

    let mut dry = github.clone();
    dry["dry_run"] = json!(true);
    let answer = post(dry, "adm1n").await.unwrap();
    assert_eq!(answer.status(), 200);
    let preview: Value = answer.json().await.unwrap();
    assert_eq!(preview["dry_run"], json!(true));
    assert_eq!(preview["name"], json!("GENHOOK_github"));
    assert_eq!(
        preview["request"]["body"],
        json!({ "query": GITHUB_MUTATION, "variables": {} })
    );
    assert!(!preview.to_string().contains(PASSWORD));
    assert_eq!(sl1.request_count(), 0);

    let answer = post(github, "adm1n").await.unwrap();
    assert_eq!(answer.status(), 201);
    let created: Value = answer.json().await.unwrap();
    assert_eq!(created["id"], json!("99"));
    let requests = sl1.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].json,
        Some(json!({ "query": GITHUB_MUTATION, "variables": {} }))
    );
    assert_eq!(
        requests[0].basic_auth(),
        Some(("em7admin".to_owned(), PASSWORD.to_owned()))
    );

    let answer = post(json!({ "source": "github", "severity": 7 }), "adm1n")
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let error: Value = answer.json().await.unwrap();
    assert!(error["error"]
        .as_str()
        .unwrap()
        .contains("severity 7 is not 0-4"));
    let answer = post(json!({ "source": "nope", "severity": 1 }), "adm1n")
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    let answer = post(json!({ "severity": 1 }), "adm1n").await.unwrap();
    assert_eq!(answer.status(), 400);
    // SL1 now answers the mock's default (201 `{}`): no id, 502 with the reason.
    let answer = post(json!({ "source": "github", "severity": 1 }), "adm1n")
        .await
        .unwrap();
    assert_eq!(answer.status(), 502);
    let error: Value = answer.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("answered 201"),
        "{error}"
    );
    genhook.shutdown().await;
}

#[tokio::test]
async fn a_predecessor_file_with_two_tokens_needs_the_token_named() {
    let dir = setup("");
    std::fs::write(
        dir.path().join("mappings/webhook-config.ini"),
        "[webhooks]\n\
         meraki_tokA|org:1|alertType|Meraki $alertType$\n\
         meraki_tokB|org:2|alertType|Meraki B $alertType$\n",
    )
    .unwrap();
    let create = |token: Option<&'static str>| {
        let mut args = vec!["--source", "meraki", "--severity", "2"];
        args.extend(token.map(|t| ["--token", t]).into_iter().flatten());
        args.push("--dry-run");
        let dir = dir.path().to_owned();
        async move { genhook(&dir, &args).await }
    };
    let out = create(None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("carry 2 tokens: say which with --token"),
        "{}",
        text(&out.stderr)
    );
    let out = create(Some("tokC")).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(!text(&out.stderr).contains("tokC"), "a token is not echoed");
    let out = create(Some("tokB")).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let body: Value = serde_json::from_str(stdout.split_once("\n\n").unwrap().1.trim()).unwrap();
    let query = body["query"].as_str().unwrap();
    assert!(
        query.contains(r#"identifierPattern: ".*\\|.*\\|(.*)""#),
        "{query}"
    );
    assert!(query.contains(r#"regularExpression1: "tokB""#), "{query}");
    assert!(query.contains(r#"name: "GENHOOK_meraki""#), "{query}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_sl1s_own_certificate_in_sl1_ca_file() {
    let own = TestPki::self_signed_ca(&["127.0.0.1", "localhost"]);
    let sl1 = Sl1Mock::builder()
        .tls(own.identity())
        .answer(created("5"))
        .start()
        .await;
    let url = format!("https://localhost:{}/gql", sl1.addr().port());
    let dir = setup(&format!("sl1_graphql_url = {url}\n"));
    let args = ["--source", "github", "--severity", "1"];
    // Not trusted without sl1_ca_file: nothing is created.
    let out = genhook(dir.path(), &args).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    std::fs::write(dir.path().join("sl1.pem"), &own.ca_pem).unwrap();
    let ini = dir.path().join("genhook.ini");
    let mut config = std::fs::read_to_string(&ini).unwrap();
    config.push_str("sl1_ca_file = sl1.pem\n");
    std::fs::write(&ini, config).unwrap();
    let out = genhook(dir.path(), &args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "5");
    let accepted = sl1.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].path, "/gql");
}
