//! Offline rendering: identify → extract → template on one stored or given payload, without a
//! server. `genhook render` prints its result; the admin API's replay uses it to render a dead
//! letter again with the mappings in use now.

use genhook_mapping::{CompiledSource, RenderError};
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
