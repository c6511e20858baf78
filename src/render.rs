//! Offline rendering: one payload through a source's [`OfflineStack`], the same built stages as
//! the stack `serve` runs, up to the one that renders (see [`crate::stack`]'s offline pipeline).
//! `genhook render` prints its result ([`render_blocking`]); the admin API's replay renders a dead
//! letter again with the stacks in use now ([`rerender_hook`]).
//!
//! [`OfflineStack`]: crate::stack::OfflineStack

use std::sync::Arc;

use bytes::Bytes;
use futures_util::FutureExt as _;
use genhook_core::queue::Event;
use http::HeaderMap;

use crate::admin::Rerender;
use crate::server::AppState;
use crate::stack::SourceRoute;
pub use crate::stack::{RenderProblem, RenderedPayload as Rendered, Verify, VERIFY};

/// Renders one payload with a source's offline stack, on a runtime of its own (blocking: for
/// the command line). `event` overrides the event type found in the headers and payload.
///
/// # Errors
/// The runtime cannot start (as text), or why the payload did not render.
pub fn render_blocking(
    route: &SourceRoute,
    verify: Verify,
    headers: HeaderMap,
    body: Vec<u8>,
    event: Option<&str>,
) -> Result<Result<Vec<Rendered>, RenderProblem>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let stack = route.offline(verify);
    Ok(runtime.block_on(stack.render(headers, Bytes::from(body), event)))
}

/// Renders a dead letter again with the stacks in use now (admin replay): its stored headers
/// and raw body through its source's offline stack, for its stored event type.
///
/// The offline stages answer without waiting (identify, extract, template), so the replay
/// renders inline; a consumer's stage that waits makes the replay refuse, with that reason.
pub fn rerender_hook(state: AppState) -> Rerender {
    Arc::new(move |mut event: Event| {
        let stacks = state.stacks();
        let route = stacks
            .route(&event.source)
            .ok_or_else(|| format!("source `{}` has no mapping any more", event.source))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &event.headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::try_from(name.as_str()),
                http::HeaderValue::try_from(value.as_str()),
            ) {
                headers.append(name, value);
            }
        }
        let stack = route.offline(Verify::Skip);
        let rendered = stack
            .render(headers, event.body.clone(), Some(&event.event))
            .now_or_never()
            .ok_or("a stage of the source's stack did not answer at once")?
            .map_err(|problem| problem.to_string())?;
        let [rendered] = <[Rendered; 1]>::try_from(rendered).map_err(|all| {
            format!(
                "the dead letter renders into {} messages, not one",
                all.len()
            )
        })?;
        event.alert.message = rendered.message;
        event.render_error = None;
        Ok(event)
    })
}
