//! The four example lines of the original plan (the README's mapping examples) load verbatim from one file and render the expected messages;
//! the predecessor's `[webhooks]` files load with their tokens and alignments.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use genhook_mapping::{LoadOptions, MappingSet};
use serde_json::json;

const DESIGN: &str = r#"github: action,pull_request{title,user{login}},repository{name}::GitHub $action$ on $repository.name$: "$pull_request.title$" by $pull_request.user.login$
stripe: type,data{object{amount,currency,status}}::Stripe $type$: Payment of $data.object.amount$ $data.object.currency$ status: $data.object.status$
slack: event{type,user,text}::Slack $event.type$ from user $event.user$: "$event.text$"
aws: detail-type,source,region,detail{instance-id,state}::AWS $detail-type$ from $source$ in $region$: Instance $detail.instance-id$ state: $detail.state$
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

fn options() -> LoadOptions<'static> {
    LoadOptions {
        env: &no_env,
        extra_keys: &["verify", "secret", "event"],
    }
}

fn render(set: &MappingSet, source: &str, event: &str, payload: serde_json::Value) -> String {
    let line = set.source(source).unwrap().select(event).unwrap();
    line.render(&line.extract(&payload)).unwrap()
}

#[test]
fn design_lines_load_and_render() {
    let loaded = MappingSet::parse_str(Path::new("design.ini"), DESIGN, &options()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let set = loaded.mappings;
    let names: Vec<_> = set.sources().map(|s| s.name().to_owned()).collect();
    assert_eq!(names, ["aws", "github", "slack", "stripe"]);

    let github = json!({
        "action": "opened",
        "pull_request": {"title": "Fix the bug", "user": {"login": "octocat", "id": 1}, "body": "x"},
        "repository": {"name": "Hello-World", "full_name": "octocat/Hello-World"}
    });
    assert_eq!(
        render(&set, "github", "pull_request", github),
        r#"GitHub opened on Hello-World: "Fix the bug" by octocat"#
    );
    let stripe = json!({"type": "payment_intent.succeeded", "data": {"object": {"amount": 2000, "currency": "usd", "status": "succeeded"}}});
    assert_eq!(
        render(&set, "stripe", "payment_intent.succeeded", stripe),
        "Stripe payment_intent.succeeded: Payment of 2000 usd status: succeeded"
    );
    let slack = json!({"event": {"type": "message", "user": "U123", "text": "hi <there> & you"}});
    assert_eq!(
        render(&set, "slack", "message", slack),
        r#"Slack message from user U123: "hi <there> & you""#
    );
    let aws = json!({
        "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
        "region": "us-east-1", "detail": {"instance-id": "i-0abc", "state": "stopped"}
    });
    assert_eq!(
        render(&set, "aws", "EC2 Instance State-change Notification", aws),
        "AWS EC2 Instance State-change Notification from aws.ec2 in us-east-1: Instance i-0abc state: stopped"
    );
}

#[test]
fn missing_fields_render_empty_or_missing_text() {
    let text = format!("{DESIGN}\n[slack]\nmissing = ?\n");
    let set = MappingSet::parse_str(Path::new("m.ini"), &text, &options())
        .unwrap()
        .mappings;
    assert_eq!(
        render(&set, "slack", "x", json!({"event": {"type": "t"}})),
        r#"Slack t from user ?: "?""#
    );
    assert_eq!(
        render(&set, "github", "x", json!({})),
        r#"GitHub  on : "" by "#
    );
}

#[test]
fn legacy_webhooks_files_load_with_token_and_alignment() {
    let text = "[webhooks]\n\
        github_abc123|org:42|action,repository{name}|GitHub $action$ on $repository.name$\n\
        stripe/tok_9|device:7|type|Stripe $type$ | done\n\
        slack:xyz||event{type}|Slack $event.type$\n\
        meraki||alertType|Meraki $alertType$\n";
    let set = MappingSet::parse_str(Path::new("legacy.ini"), text, &options())
        .unwrap()
        .mappings;
    let github = set.source("github").unwrap();
    assert_eq!(github.token(), Some("abc123"));
    assert_eq!(
        github.aligned_resource().as_deref(),
        Some("/api/organization/42")
    );
    let line = github.select("anything").unwrap();
    let payload = json!({"action": "closed", "repository": {"name": "r"}});
    assert_eq!(
        line.render(&line.extract(&payload)).unwrap(),
        "github|abc123|GitHub closed on r"
    );

    let stripe = set.source("stripe").unwrap();
    assert_eq!(stripe.token(), Some("tok_9"));
    assert_eq!(stripe.aligned_resource().as_deref(), Some("/api/device/7"));
    let line = stripe.select("charge.failed").unwrap();
    assert_eq!(
        line.render(&line.extract(&json!({"type": "t"}))).unwrap(),
        "stripe|tok_9|Stripe t | done"
    );

    let slack = set.source("slack").unwrap();
    assert_eq!(slack.token(), Some("xyz"));
    assert_eq!(slack.aligned_resource(), None);
    let meraki = set.source("meraki").unwrap();
    assert_eq!(meraki.token(), None);
}

#[test]
fn legacy_services_take_several_tokens_and_written_settings_win_over_its_defaults() {
    let text = "[webhooks]\n\
        github_a|org:1|action|A $action$ $missing_here$\n\
        github_b||action|B $action$\n\
        [jira]\n\
        missing = ?\n\
        message_prefix =\n\
        [webhooks]\n\
        jira_t||webhookEvent,user|J $webhookEvent$ $user$\n";
    let loaded = MappingSet::parse_str(Path::new("legacy.ini"), text, &options());
    let errors = loaded.as_ref().err().cloned().unwrap_or_default();
    assert!(
        errors
            .iter()
            .any(|d| d.to_string().contains("$missing_here$")),
        "{errors:?}"
    );
    let text = text.replace(" $missing_here$", "");
    let set = MappingSet::parse_str(Path::new("legacy.ini"), &text, &options())
        .unwrap()
        .mappings;
    let keyed: Vec<(&str, &str, Option<&str>)> = set
        .keyed()
        .map(|(key, source)| (key, source.name(), source.token()))
        .collect();
    assert_eq!(
        keyed,
        [
            ("github", "github", Some("a")),
            ("github#2", "github", Some("b")),
            ("jira", "jira", Some("t")),
        ]
    );
    let second = set.keyed().nth(1).unwrap().1;
    assert_eq!(second.aligned_resource(), None);
    let line = second.select("push").unwrap();
    assert_eq!(line.render(&json!({})).unwrap(), "github|b|B -");
    // The section's `missing` and empty `message_prefix` win over the legacy defaults.
    let line = set.source("jira").unwrap().select("x").unwrap();
    let fields = line.extract(&json!({"webhookEvent": "e"}));
    assert_eq!(line.render(&fields).unwrap(), "J e ?");
}
