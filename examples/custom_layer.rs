//! Embedding GenHook with a stage of your own.
//!
//! The `audit` stage below tags every webhook it sees with an `X-Audited-By` header on the
//! request and logs the source and event type. Registered by name through the builder, it can be
//! named on any mapping's `layers =` line, e.g.:
//!
//! ```ini
//! [github]
//! layers = verify, identify, audit, extract, template, dispatch
//! ```
//!
//! Run it with `cargo run --example custom_layer` (it serves the mappings of `./mappings` on the
//! built-in defaults, like `genhook serve`).

use genhook::app::GenHook;
use genhook::config::{env, Config};
use genhook::core::stage::{EventType, SourceName};
use genhook::core::{
    BuildContext, BuildError, Capability, LayerFactory, PipelineLayer, WebhookRequest,
};
use tower::util::{BoxCloneSyncServiceLayer, MapRequestLayer};

/// The `audit` stage: needs the event type, so it must come after `identify`.
struct AuditFactory;

impl LayerFactory for AuditFactory {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn requires(&self) -> &'static [Capability] {
        &[Capability::IDENTIFIED]
    }

    fn provides(&self) -> &'static [Capability] {
        const AUDITED: Capability = Capability::custom("audited");
        &[AUDITED]
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        let source = cx.source_name().to_owned();
        Ok(BoxCloneSyncServiceLayer::new(MapRequestLayer::new(
            move |mut request: WebhookRequest| {
                let event = request
                    .extensions()
                    .get::<EventType>()
                    .map(EventType::to_string);
                tracing::info!(%source, event = event.as_deref().unwrap_or("?"), "Audited.");
                request.headers_mut().insert(
                    "x-audited-by",
                    http::HeaderValue::from_static("audit-example"),
                );
                let _ = request.extensions().get::<SourceName>();
                request
            },
        )))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::load(None, &env::lookup).map_err(|problems| {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let running = GenHook::builder(config)
        .register_layer(AuditFactory)?
        .start()
        .await?;
    tracing::info!(addr = %running.local_addr(), "Serving with the audit stage.");
    running.run_until(genhook::app::shutdown_signal()).await;
    Ok(())
}
