//! Offline rendering: identify → extract → template on one stored or given payload, without a
//! server. `genhook render` prints its result; the admin API's replay uses it to render a dead
//! letter again with the mappings in use now.

use std::sync::Arc;

use genhook_core::queue::Event;
use genhook_core::{BuildContext, LayerFactory};
use genhook_mapping::{CompiledSource, RenderError};

use crate::server::AppState;
use crate::stack::SourceRoute;
use http::HeaderMap;

/// A payload rendered offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The event type used to pick the mapping line.
    pub event: String,
    /// The message.
    pub message: String,
}

/// Why a payload could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderProblem {
    /// The body is not JSON (or a form holding JSON) in UTF-8.
    #[error("{0}")]
    BadBody(String),
    /// The source's identify settings do not validate.
    #[error("{0}")]
    BadSettings(String),
    /// No mapping line of the source matches the event type.
    #[error("no mapping for event `{event}` of source `{source_name}`")]
    NoMapping {
        /// The source.
        source_name: String,
        /// The event type.
        event: String,
    },
    /// The template failed.
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// Renders one payload with a source's mapping. `event` overrides the event type found in the
/// headers and payload.
///
/// # Errors
/// A body that does not parse, no matching line, or a failing template.
pub fn render_payload(
    source: &CompiledSource,
    headers: &HeaderMap,
    body: &[u8],
    event: Option<&str>,
) -> Result<Rendered, RenderProblem> {
    let payload = genhook_identify::parse_body(headers, body)
        .map_err(|error| RenderProblem::BadBody(error.to_string()))?;
    let event = match event {
        Some(event) => event.to_owned(),
        None => {
            let settings = genhook_identify::IdentifySettings::for_source(source.name(), |key| {
                source.setting(key)
            })
            .map_err(|problems| {
                RenderProblem::BadSettings(
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            genhook_identify::event_type(&settings, headers, &payload).unwrap_or_default()
        }
    };
    let Some(line) = source.select(&event) else {
        return Err(RenderProblem::NoMapping {
            source_name: source.name().to_owned(),
            event,
        });
    };
    let fields = line.extract(&payload);
    let message = line.render(&fields)?;
    Ok(Rendered { event, message })
}

/// Renders a dead letter again with the mappings in use now (admin replay).
pub fn rerender_hook(state: AppState) -> Arc<dyn Fn(Event) -> Result<Event, String> + Send + Sync> {
    Arc::new(move |mut event: Event| {
        let stacks = state.stacks();
        let route = stacks
            .route(&event.source)
            .ok_or_else(|| format!("source `{}` has no mapping any more", event.source))?;
        let mut headers = http::HeaderMap::new();
        for (name, value) in &event.headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::try_from(name.as_str()),
                http::HeaderValue::try_from(value.as_str()),
            ) {
                headers.append(name, value);
            }
        }
        let rendered =
            crate::render::render_payload(&route.source, &headers, &event.body, Some(&event.event))
                .map_err(|problem| problem.to_string())?;
        event.alert.message = rendered.message;
        event.render_error = None;
        Ok(event)
    })
}

/// Checks a payload's signature offline with the source's `verify` settings.
///
/// # Errors
/// The verifier's public reason.
pub fn verify_offline(
    route: &SourceRoute,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<(), String> {
    use tower::{Layer as _, ServiceExt as _};
    let resources = http::Extensions::new();
    let cx = BuildContext::new(&route.source, &resources);
    let layer = genhook_verify::VerifyFactory::new()
        .build(&cx)
        .map_err(|problems| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })?;
    let leaf = genhook_core::PipelineService::new(tower::service_fn(|_request| async {
        Ok::<_, genhook_core::PipelineError>(genhook_core::json_response(
            http::StatusCode::OK,
            &serde_json::Value::Null,
        ))
    }));
    let service = layer.layer(leaf);
    let mut request = http::Request::new(bytes::Bytes::copy_from_slice(body));
    *request.method_mut() = http::Method::POST;
    *request.headers_mut() = headers.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime
        .block_on(service.oneshot(request))
        .map(|_| ())
        .map_err(|error| error.public_reason().to_owned())
}
