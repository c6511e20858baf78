//! A consumer's own stage, registered by name through the builder, runs exactly where a
//! mapping's `layers =` line puts it — and a line that breaks its needs is refused at load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use genhook::core::stage::{EventType, Verified};
use genhook::core::{
    BuildContext, BuildError, Capability, LayerFactory, PipelineLayer, WebhookRequest,
};
use genhook::mapping::Fields;
use support::TestGenHook;
use tower::util::{BoxCloneSyncServiceLayer, MapRequestLayer};

/// What the probe saw of the stage outputs when a request went through it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    verified: bool,
    event: Option<String>,
    extracted: bool,
}

#[derive(Clone, Default)]
struct Probe {
    seen: Arc<Mutex<Vec<Seen>>>,
    requires: &'static [Capability],
}

impl LayerFactory for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn requires(&self) -> &'static [Capability] {
        self.requires
    }

    fn build(&self, _cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        let seen = self.seen.clone();
        Ok(BoxCloneSyncServiceLayer::new(MapRequestLayer::new(
            move |request: WebhookRequest| {
                seen.lock().unwrap().push(Seen {
                    verified: request.extensions().get::<Verified>().is_some(),
                    event: request
                        .extensions()
                        .get::<EventType>()
                        .map(ToString::to_string),
                    extracted: request.extensions().get::<Fields>().is_some(),
                });
                request
            },
        )))
    }
}

const BODY: &str = r#"{"type":"order.paid","id":"o-1"}"#;

async fn seen_with(layers: &str) -> Vec<Seen> {
    let probe = Probe::default();
    let seen = probe.seen.clone();
    let mapping =
        format!("[shop]\nlayers = {layers}\nevent = type\n*: type,id::Shop $type$ $id$\n");
    let genhook = TestGenHook::builder()
        .mapping("shop.ini", &mapping)
        .customize(move |builder| builder.register_layer(probe).unwrap())
        .start()
        .await;
    let response = genhook.post("/webhook/shop", &[], BODY).await;
    assert_eq!(response.status(), 202);
    let seen = seen.lock().unwrap().clone();
    seen
}

#[tokio::test]
async fn a_custom_layer_runs_at_its_configured_position() {
    // Between identify and extract: it sees the event type, not yet the extracted fields.
    assert_eq!(
        seen_with("verify, identify, probe, extract, template, dispatch").await,
        vec![Seen {
            verified: true,
            event: Some("order.paid".into()),
            extracted: false
        }]
    );
    // First: it sees nothing yet.
    assert_eq!(
        seen_with("probe, verify, identify, extract, template, dispatch").await,
        vec![Seen {
            verified: false,
            event: None,
            extracted: false
        }]
    );
    // After extract: it sees everything before it.
    assert_eq!(
        seen_with("verify, identify, extract, probe, template, dispatch").await,
        vec![Seen {
            verified: true,
            event: Some("order.paid".into()),
            extracted: true
        }]
    );
}

#[tokio::test]
async fn an_order_that_breaks_a_custom_layers_needs_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.ini");
    std::fs::write(&file, "[shop]\nevent = type\nlayers = probe, verify, identify, extract, template, dispatch, nope\n*: type::Shop $type$\n").unwrap();
    let mut registry = genhook::stack::builtin_registry();
    registry
        .register(Probe {
            requires: &[Capability::IDENTIFIED],
            ..Probe::default()
        })
        .unwrap();
    let queue = Arc::new(genhook::queue::memory::MemoryQueue::new(10));
    let mut resources = http::Extensions::new();
    resources.insert::<Arc<dyn genhook::core::queue::Queue>>(queue);
    let loader = genhook::loader::Loader::new(dir.path(), registry, resources, Arc::new(|_| None));
    let problems: Vec<String> = loader
        .load()
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    let at = format!("{}:3", file.display());
    assert_eq!(
        problems,
        vec![
            format!("{at}: `dispatch` ends the stack: it must be the last layer"),
            format!("{at}: `probe` needs `identified` from an earlier layer"),
            format!("{at}: unknown layer `nope` (known: dispatch, extract, identify, probe, rate_limit, template, verify)"),
        ]
    );
}

#[tokio::test]
async fn registering_a_name_twice_is_an_error() {
    let mut registry = genhook::stack::builtin_registry();
    assert!(registry.register(Probe::default()).is_ok());
    let error = registry.register(Probe::default()).err().unwrap();
    assert_eq!(
        error.to_string(),
        "a layer named `probe` is registered already"
    );
}
