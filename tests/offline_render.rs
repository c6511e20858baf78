//! The offline pipeline (`genhook render`, `render --verify`, the dead-letter replay) runs the
//! source's own built stages, as `serve` does: a registered stage or the source's `verify`
//! scheme shows up offline exactly as it does when serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use genhook::core::{BuildContext, BuildError, LayerFactory, PipelineLayer, WebhookRequest};
use genhook::mapping::Fields;
use genhook::render::{RenderProblem, Verify};
use serde_json::Value;
use support::golden;
use support::sl1_mock::Sl1Mock;
use support::TestGenHook;
use tower::util::{BoxCloneSyncServiceLayer, MapRequestLayer};

const WAIT: Duration = Duration::from_secs(10);
const ADMIN: &str = "adm1n-t0ken";

/// A consumer's stage between `extract` and `template`: upper-cases every extracted string.
#[derive(Clone, Copy)]
struct Shout;

impl LayerFactory for Shout {
    fn name(&self) -> &'static str {
        "shout"
    }

    fn build(&self, _cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        Ok(BoxCloneSyncServiceLayer::new(MapRequestLayer::new(
            |mut request: WebhookRequest| {
                if let Some(fields) = request.extensions().get::<Fields>().cloned() {
                    let shouted = shout(&fields.value);
                    request.extensions_mut().insert(Fields {
                        line: fields.line,
                        value: Arc::new(shouted),
                    });
                }
                request
            },
        )))
    }
}

fn shout(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(text.to_uppercase()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| (key.clone(), shout(value)))
                .collect(),
        ),
        other => other.clone(),
    }
}

const SHOP_BODY: &str = r#"{"type":"paid","id":"a-17"}"#;

/// A service with `Shout` registered and `mapping` as its only file, delivering to an SL1 mock.
async fn with_shout(mapping: &str) -> (TestGenHook, Sl1Mock) {
    let sl1 = Sl1Mock::start().await;
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", mapping)
        .sl1(&sl1.url())
        .set("admin_token", ADMIN)
        .customize(|builder| builder.register_layer(Shout).unwrap())
        .start()
        .await;
    (genhook, sl1)
}

async fn render_offline(
    genhook: &TestGenHook,
    verify: Verify,
    body: &str,
) -> Result<Vec<String>, RenderProblem> {
    let stacks = genhook.running().state().stacks();
    let stack = stacks.route("shop").unwrap().offline(verify);
    stack
        .render(http::HeaderMap::new(), body.to_owned().into(), None)
        .await
        .map(|all| all.into_iter().map(|rendered| rendered.message).collect())
}

#[tokio::test]
async fn a_registered_stage_renders_offline_as_it_delivers_when_serving() {
    let (genhook, sl1) = with_shout(
        "[shop]\nlayers = identify, extract, shout, template, dispatch\nevent = type\n*: type,id::Order $id$ $type$\n",
    )
    .await;
    let response = genhook.post("/webhook/shop", &[], SHOP_BODY).await;
    assert_eq!(response.status(), 202);
    let delivered = sl1.wait_for_accepted(1, WAIT).await;
    assert_eq!(delivered[0].message(), Some("Order A-17 PAID"));
    assert_eq!(
        render_offline(&genhook, Verify::Skip, SHOP_BODY).await,
        Ok(vec!["Order A-17 PAID".to_owned()])
    );
}

#[tokio::test]
async fn a_replay_renders_through_the_registered_stage() {
    let (genhook, sl1) = with_shout(
        "[shop]\nlayers = identify, extract, shout, template, dispatch\nevent = type\n*: type,id::Order {{truncate id type}}\n",
    )
    .await;
    let response = genhook.post("/webhook/shop", &[], SHOP_BODY).await;
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], "dead_lettered", "{answer}");

    std::fs::write(
        genhook.mappings_dir().join("shop.ini"),
        "[shop]\nlayers = identify, extract, shout, template, dispatch\nevent = type\n*: type,id::Order $id$ $type$\n",
    )
    .unwrap();
    assert!(genhook.running().reload());
    let replay = genhook.replay_all(ADMIN).await;
    assert!(
        replay.status().is_success(),
        "{}",
        replay.text().await.unwrap()
    );
    let delivered = sl1.wait_for_accepted(1, WAIT).await;
    assert_eq!(delivered[0].message(), Some("Order A-17 PAID"));
}

#[tokio::test]
async fn the_offline_stack_runs_the_served_stages_up_to_template() {
    let (genhook, _sl1) = with_shout(
        "[shop]\nlayers = verify, rate_limit, identify, extract, template, shout, dispatch\nverify = none\nevent = type\n*: type,id::Order $id$ $type$\n",
    )
    .await;
    let stacks = genhook.running().state().stacks();
    let route = stacks.route("shop").unwrap();
    // Up to `template`: a stage after it (here `shout`) and `dispatch` do not run offline, nor
    // `rate_limit`; `verify` runs only when asked.
    assert_eq!(
        route.offline(Verify::Skip).stages(),
        ["identify", "extract", "template"]
    );
    assert_eq!(
        route.offline(Verify::Check).stages(),
        ["verify", "identify", "extract", "template"]
    );
    drop(stacks);
    assert_eq!(
        render_offline(&genhook, Verify::Check, SHOP_BODY).await,
        Ok(vec!["Order a-17 paid".to_owned()])
    );
}

#[tokio::test]
async fn render_verify_runs_the_sources_own_verify_scheme() {
    let (genhook, _sl1) = with_shout(
        "[shop]\nverify = meraki\nsecret = s3cret\nevent = type\n*: type,id::Order $id$ $type$\n",
    )
    .await;
    let good = r#"{"type":"paid","id":"a-17","sharedSecret":"s3cret"}"#;
    let bad = r#"{"type":"paid","id":"a-17","sharedSecret":"guess"}"#;
    assert_eq!(
        render_offline(&genhook, Verify::Check, good).await,
        Ok(vec!["Order a-17 paid".to_owned()])
    );
    match render_offline(&genhook, Verify::Check, bad).await {
        Err(RenderProblem::Rejected { stage, .. }) => assert_eq!(stage, "verify"),
        other => panic!("expected verify to refuse, got {other:?}"),
    }
    // Without --verify the scheme is left out, as before.
    assert_eq!(
        render_offline(&genhook, Verify::Skip, bad).await,
        Ok(vec!["Order a-17 paid".to_owned()])
    );
}

#[tokio::test]
async fn an_answer_without_a_message_is_put_down_to_the_stage_that_gave_it() {
    let (genhook, _sl1) =
        with_shout("[shop]\nevent = type\nunmapped = ignore\npaid: type,id::Order $id$ $type$\n")
            .await;
    // `extract` answers 202 ignored when serving: offline, that is no mapping for the event.
    assert_eq!(
        render_offline(&genhook, Verify::Skip, r#"{"type":"refunded"}"#).await,
        Err(RenderProblem::NoMapping {
            source_name: "shop".to_owned(),
            event: "refunded".to_owned(),
        })
    );
    match render_offline(&genhook, Verify::Skip, "not json").await {
        Err(RenderProblem::Rejected { stage, reason }) => {
            assert_eq!(stage, "identify");
            assert!(reason.starts_with("body is not valid JSON"), "{reason}");
        }
        other => panic!("expected identify to refuse, got {other:?}"),
    }
}

#[tokio::test]
async fn every_golden_payload_renders_offline_to_its_expected_message() {
    // The shipped mappings, through the same offline stack `render` and replay use: what
    // `golden_http` sees delivered over HTTP, and GitHub's ping (a handshake when serving)
    // renders with its line.
    let genhook = golden::with_shipped_mappings(TestGenHook::builder())
        .start()
        .await;
    let stacks = genhook.running().state().stacks();
    let mut failures = Vec::new();
    for entry in golden::manifest() {
        let source = entry["source"].as_str().unwrap();
        let fixture = entry["fixture"].as_str().unwrap();
        let mut want: Vec<String> = match &entry["expected"] {
            Value::Array(items) => items
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect(),
            other => vec![other.as_str().unwrap().to_owned()],
        };
        let mut headers = http::HeaderMap::new();
        for (name, value) in golden::headers(&entry) {
            headers.append(
                http::HeaderName::try_from(name).unwrap(),
                http::HeaderValue::try_from(value).unwrap(),
            );
        }
        let stack = stacks.route(source).unwrap().offline(Verify::Skip);
        match stack
            .render(headers, golden::body(&entry).into(), None)
            .await
        {
            Ok(rendered) => {
                let mut got: Vec<String> = rendered.into_iter().map(|r| r.message).collect();
                got.sort();
                want.sort();
                if got != want {
                    failures.push(format!(
                        "{fixture}:\n  expected {want:?}\n  got      {got:?}"
                    ));
                }
            }
            Err(problem) => failures.push(format!("{fixture}: {problem}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
