//! The console's admin routes over real sockets: `POST /admin/render` (the saved mapping, a
//! posted one with `genhook check`'s own diagnostics), the mapping files (`PUT` then a webhook
//! to the URL it answers, delivered to an SL1 mock; an invalid `PUT` leaves the file alone;
//! `DELETE`; names that would leave the directory; the first `PUT` on the built-in mappings,
//! which creates the directory with them) and `POST /admin/token`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use support::sl1_mock::Sl1Mock;
use support::{eventually, TestGenHook};

const TOKEN: &str = "c0nsole-admin";
const GITHUB: &str = "[github]\nevent = header:X-GitHub-Event\nalign = org:7\npush: ref,repository{name}::GitHub push to $ref$ in $repository.name$\n";
/// Line 3 has an error (an unclosed brace in the field list).
const BAD: &str =
    "[github]\nevent = header:X-GitHub-Event\npush: ref,repository{name::GitHub push to $ref$\n";

async fn call(
    genhook: &TestGenHook,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = genhook
        .client
        .request(method, genhook.url(path))
        .bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, value)
}

async fn started(sl1: Option<&Sl1Mock>) -> TestGenHook {
    let builder = TestGenHook::builder()
        .mapping("github.ini", GITHUB)
        .set("admin_token", TOKEN);
    match sl1 {
        Some(sl1) => builder.sl1(&sl1.url()).start().await,
        None => builder.start().await,
    }
}

/// PUTs the mapping `name`: taken with `200`; the answer.
async fn saved_mapping(genhook: &TestGenHook, name: &str, text: &str) -> Value {
    let path = format!("/admin/mappings/{name}");
    let (status, saved) = call(
        genhook,
        reqwest::Method::PUT,
        &path,
        Some(json!({ "text": text })),
    )
    .await;
    assert_eq!(status, 200, "{saved}");
    saved
}

/// PUTs an `acme` mapping with an error at line 3: refused with `422` at that line.
async fn put_invalid_acme(genhook: &TestGenHook) {
    let (status, refused) = call(
        genhook,
        reqwest::Method::PUT,
        "/admin/mappings/acme",
        Some(json!({ "text": BAD.replace("github", "acme") })),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["diagnostics"][0]["line"], 3, "{refused}");
}

fn push_payload() -> Value {
    json!({"ref": "refs/heads/main", "repository": {"name": "genhook"}, "token": "x"})
}

#[tokio::test]
async fn render_uses_the_saved_mapping_and_answers_the_full_alert() {
    let genhook = started(None).await;
    let (status, answer) = call(
        &genhook,
        reqwest::Method::POST,
        "/admin/render",
        Some(json!({
            "source": "github",
            "headers": {"X-GitHub-Event": "push"},
            "payload": push_payload(),
        })),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["event"], "push");
    assert_eq!(
        answer["message"],
        "GitHub push to refs/heads/main in genhook"
    );
    assert_eq!(answer["alert"]["message"], answer["message"]);
    assert_eq!(answer["alert"]["aligned_resource"], "/api/organization/7");
    assert_eq!(answer["alert"]["force_ytype"], "0");

    // A payload given as its raw text renders the same.
    let (status, raw) = call(
        &genhook,
        reqwest::Method::POST,
        "/admin/render",
        Some(json!({"source": "github", "event": "push", "payload": push_payload().to_string()})),
    )
    .await;
    assert_eq!(status, 200, "{raw}");
    assert_eq!(raw["message"], answer["message"]);

    // No line for the event: 422 without diagnostics.
    let (status, none) = call(
        &genhook,
        reqwest::Method::POST,
        "/admin/render",
        Some(json!({"source": "github", "event": "issues", "payload": {}})),
    )
    .await;
    assert_eq!(status, 422, "{none}");
    assert_eq!(none["diagnostics"], json!([]));
    assert!(none["error"].as_str().unwrap().contains("issues"), "{none}");

    let (status, unknown) = call(
        &genhook,
        reqwest::Method::POST,
        "/admin/render",
        Some(json!({"source": "nosuch", "payload": {}})),
    )
    .await;
    assert_eq!(status, 404, "{unknown}");

    let (status, _) = call(&genhook, reqwest::Method::POST, "/admin/render", None).await;
    assert_eq!(status, 400);
    let unauthorized = genhook
        .client
        .post(genhook.url("/admin/render"))
        .json(&json!({"source": "github"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status(), 401);
}

#[tokio::test]
async fn a_posted_mapping_renders_and_its_problems_are_genhook_checks_at_their_line() {
    let genhook = started(None).await;
    let posted = GITHUB.replace("GitHub push", "Edited push");
    let (status, answer) = call(
        &genhook,
        reqwest::Method::POST,
        "/admin/render",
        Some(json!({"source": "github", "mapping": posted, "event": "push", "payload": push_payload()})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["message"],
        "Edited push to refs/heads/main in genhook"
    );

    let (status, answer) = call(
        &genhook,
        reqwest::Method::POST,
        "/admin/render",
        Some(
            json!({"source": "github", "mapping": BAD, "event": "push", "payload": push_payload()}),
        ),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
    let served: Vec<(u64, String)> = answer["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_u64().unwrap(),
                d["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(!served.is_empty());
    assert!(served.iter().all(|(line, _)| *line == 3), "{served:?}");
    assert_eq!(served, check_output(BAD));
}

/// What `genhook check` prints for a directory holding `text` as `github.ini`: `(line, message)`.
fn check_output(text: &str) -> Vec<(u64, String)> {
    let dir = tempfile::tempdir().unwrap();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir_all(&mappings).unwrap();
    std::fs::write(mappings.join("github.ini"), text).unwrap();
    let config = dir.path().join("genhook.ini");
    std::fs::write(&config, format!("mappings_dir = {}\n", mappings.display())).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_genhook"))
        .args(["check", "--config"])
        .arg(&config)
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let prefix = format!("{}:", mappings.join("github.ini").display());
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|rest| {
            let (line, message) = rest.split_once(": ").unwrap();
            (line.parse().unwrap(), message.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_saved_mapping_is_served_at_the_url_it_answers_and_can_be_deleted() {
    let sl1 = Sl1Mock::start().await;
    let genhook = started(Some(&sl1)).await;
    let (status, token) = call(&genhook, reqwest::Method::POST, "/admin/token", None).await;
    assert_eq!(status, 200);
    let token = token["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    let text = format!(
        "[acme]\ntoken = {token}\nevent = header:X-Acme-Event\n*: action,repo{{name}}::Acme $action$ on $repo.name$\n"
    );
    let saved = saved_mapping(&genhook, "acme", &text).await;
    assert_eq!(saved["sources"], json!(["acme"]));
    let url = format!("http://{}/webhook/acme/{token}", genhook.addr);
    assert_eq!(saved["urls"], json!([url]));
    assert_eq!(
        std::fs::read_to_string(genhook.mappings_dir().join("acme.ini")).unwrap(),
        text
    );

    let response = genhook
        .client
        .post(&url)
        .header("x-acme-event", "deploy")
        .header("content-type", "application/json")
        .body(r#"{"action":"deployed","repo":{"name":"rocket"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert!(
        eventually(Duration::from_secs(10), || sl1
            .requests()
            .iter()
            .any(|r| r.message() == Some("Acme deployed on rocket")))
        .await,
        "SL1 got {:?}",
        sl1.requests()
            .iter()
            .map(|r| r.message().map(str::to_owned))
            .collect::<Vec<_>>()
    );

    let (status, list) = call(&genhook, reqwest::Method::GET, "/admin/mappings", None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["mappings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme", "github"]);
    assert_eq!(
        list["mappings"][0]["url_paths"],
        json!([format!("/webhook/acme/{token}")])
    );
    let (status, shown) = call(&genhook, reqwest::Method::GET, "/admin/mappings/acme", None).await;
    assert_eq!(status, 200);
    assert_eq!(shown["text"], text);
    assert_eq!(shown["sources"], json!(["acme"]));

    // Invalid: 422 at its line, and the file keeps its text.
    put_invalid_acme(&genhook).await;
    assert_eq!(
        std::fs::read_to_string(genhook.mappings_dir().join("acme.ini")).unwrap(),
        text
    );

    let (status, deleted) = call(
        &genhook,
        reqwest::Method::DELETE,
        "/admin/mappings/acme",
        None,
    )
    .await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["deleted"], "acme");
    assert!(!genhook.mappings_dir().join("acme.ini").exists());
    let response = genhook
        .client
        .post(&url)
        .header("x-acme-event", "deploy")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (status, _) = call(&genhook, reqwest::Method::GET, "/admin/mappings/acme", None).await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &genhook,
        reqwest::Method::DELETE,
        "/admin/mappings/acme",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn names_that_could_leave_the_directory_are_refused() {
    let genhook = started(None).await;
    let outside = genhook.dir().join("outside.ini");
    // (A bare `..` never reaches the route: the client resolves it in the URL.)
    for name in [
        "..%2Foutside",
        "Acme",
        "a.b",
        "%2E%2E%2Foutside",
        "x%00",
        "app-config",
    ] {
        let path = format!("/admin/mappings/{name}");
        let (status, answer) = call(
            &genhook,
            reqwest::Method::PUT,
            &path,
            Some(json!({"text": GITHUB.replace("github", "x")})),
        )
        .await;
        assert_eq!(status, 400, "{name}: {answer}");
        let (status, _) = call(&genhook, reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 400, "{name}");
        let (status, _) = call(&genhook, reqwest::Method::DELETE, &path, None).await;
        assert_eq!(status, 400, "{name}");
    }
    assert!(!outside.exists());
    assert!(genhook.mappings_dir().join("github.ini").exists());
}

/// On the built-in mappings (no directory at `mappings_dir`), the first `PUT` creates the
/// directory with the built-in mappings exported into it beside the new file, so the sources
/// the operator was using stay served; an invalid one creates nothing.
#[tokio::test]
async fn saving_on_the_built_in_mappings_creates_the_directory_and_keeps_them() {
    const SLACK: &str = r#"{"type":"event_callback","event":{"type":"message","channel":"C1","user":"U1","text":"hi"}}"#;
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("not-yet").join("mappings");
    let genhook = TestGenHook::builder()
        .set("mappings_dir", missing.display())
        .set("admin_token", TOKEN)
        .start()
        .await;
    let json = [("content-type", "application/json")];
    let answer = genhook.post("/webhook/slack", &json, SLACK).await;
    assert_eq!(answer.status(), 202, "built-in slack before the save");
    // Before the save the console lists and opens the built-in mappings; deleting one is a
    // conflict with a hint, not a 404.
    let (status, list) = call(&genhook, reqwest::Method::GET, "/admin/mappings", None).await;
    assert_eq!(status, 200, "{list}");
    let listed = list["mappings"].as_array().unwrap();
    assert_eq!(listed.len(), genhook::bundled::FILES.len(), "{list}");
    let slack = listed.iter().find(|m| m["name"] == "slack").unwrap();
    assert_eq!(slack["built_in"], true, "{slack}");
    assert_eq!(slack["sources"], json!(["slack"]), "{slack}");
    let (status, shown) = call(
        &genhook,
        reqwest::Method::GET,
        "/admin/mappings/slack",
        None,
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["built_in"], true);
    let built_in_slack = genhook::bundled::FILES
        .iter()
        .find(|(name, _)| *name == "slack.ini")
        .unwrap()
        .1;
    assert_eq!(shown["text"], built_in_slack);
    let (status, refused) = call(
        &genhook,
        reqwest::Method::DELETE,
        "/admin/mappings/slack",
        None,
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("genhook mappings export"),
        "{refused}"
    );
    assert!(!missing.exists(), "a refused delete created the directory");

    put_invalid_acme(&genhook).await;
    assert!(!missing.exists(), "a refused save created the directory");

    let text = "[acme]\nevent = header:X-Acme-Event\n*: action::Acme $action$\n";
    let saved = saved_mapping(&genhook, "acme", text).await;
    assert_eq!(saved["reloaded"], true, "{saved}");
    let exported: Vec<String> = genhook::bundled::FILES
        .iter()
        .map(|(name, _)| name.trim_end_matches(".ini").to_owned())
        .collect();
    assert_eq!(saved["exported"], json!(exported));
    assert_eq!(
        std::fs::read_to_string(missing.join("acme.ini")).unwrap(),
        text
    );
    for (name, built_in) in genhook::bundled::FILES {
        assert_eq!(
            std::fs::read_to_string(missing.join(name)).unwrap(),
            *built_in,
            "{name}"
        );
    }

    let answer = genhook
        .post(
            "/webhook/acme",
            &[("content-type", "application/json"), ("x-acme-event", "go")],
            r#"{"action":"went"}"#,
        )
        .await;
    assert_eq!(answer.status(), 202, "the saved mapping is served");
    let answer = genhook.post("/webhook/slack", &json, SLACK).await;
    assert_eq!(answer.status(), 202, "the built-in slack is still served");
    let (status, list) = call(&genhook, reqwest::Method::GET, "/admin/mappings", None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        list["mappings"].as_array().unwrap().len(),
        exported.len() + 1
    );
    assert!(
        list["mappings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["built_in"] == false),
        "{list}"
    );
    genhook.shutdown().await;
}

#[tokio::test]
async fn saving_a_built_in_name_on_the_built_in_mappings_replaces_that_file_only() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("mappings");
    // (Written with a trailing slash: the directory is still created at that path.)
    let genhook = TestGenHook::builder()
        .set("mappings_dir", format!("{}/", missing.display()))
        .set("admin_token", TOKEN)
        .start()
        .await;
    let saved = saved_mapping(&genhook, "github", GITHUB).await;
    assert!(!saved["exported"]
        .as_array()
        .unwrap()
        .contains(&json!("github")));
    assert_eq!(
        std::fs::read_to_string(missing.join("github.ini")).unwrap(),
        GITHUB
    );
    assert!(missing.join("slack.ini").exists());
    assert!(!home.path().join(".mappings.genhook-new").exists());
    genhook.shutdown().await;
}
