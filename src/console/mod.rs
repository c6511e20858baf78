//! The console (issue 12): its page at `/console` ([`page`], the front end compiled into the
//! binary), and the admin routes it works through, merged into `/admin` beside the dead-letter
//! and refused-request routes, behind the same bearer token:
//!
//! | request | answer |
//! |---|---|
//! | `POST /admin/render` | a payload rendered by the server's offline pipeline, with the saved mapping or a posted one ([`render`]) |
//! | `GET /admin/mappings`, `GET/PUT/DELETE /admin/mappings/{name}` | the files of `mappings_dir`, validated as `genhook check` does before anything is written, then hot-reloaded ([`mappings`]) |
//! | `POST /admin/token` | `{"token"}`: a fresh URL token ([`mappings`]) |
//! | `GET /admin/deliveries[/{id}]` | the record of recent deliveries ([`crate::deliveries::api`]) |
//! | `GET /admin/health` | counts per source, queue, SL1 circuit and latency, the last hour by minute ([`crate::health::api`]) |
//! | `GET /admin/stream` | server-sent events: each new delivery and refusal ([`stream`]; `?token=` also accepted) |
//!
//! Every error is JSON `{"error": "..."}`; a mapping with problems is `422` with
//! `"diagnostics": [{"line", "message", "severity"}]` (line numbers in the posted text, plus
//! `"file"` for a problem in another file of the directory).
//!
//! `state.rs` holds [`ConsoleState`] and the one shape of a `422` for a mapping with problems;
//! this file only declares the modules and assembles the router (no file here imports one that
//! imports it).
//!
//! The console is a view over the same files and the same code as the command line: a mapping
//! is compiled by the [`Loader`](crate::loader::Loader) that `serve`, hot reload and `genhook check` use, and rendered
//! by the offline stack of `genhook render`.

mod assets;
pub mod mappings;
pub mod page;
pub mod render;
mod state;
pub mod stream;

use axum::routing::{get, post};
use axum::Router;
use genhook_core::Secret;

pub use state::{ConsoleState, ReloadHook};

/// The routes, to be merged into the admin router nested under `/admin`.
pub fn router(state: ConsoleState, token: Secret) -> Router {
    let deliveries = crate::deliveries::api::router(state.deliveries.clone(), token.clone());
    let stream = stream::router(state.feed.clone(), state.app.clone(), token.clone());
    let health = state
        .health
        .clone()
        .map(|health| crate::health::api::router(health, token.clone()));
    let routes = Router::new()
        .route("/render", post(render::render))
        .route("/mappings", get(mappings::list))
        .route(
            "/mappings/{name}",
            get(mappings::show)
                .put(mappings::save)
                .delete(mappings::delete),
        )
        .route("/token", post(mappings::new_token));
    crate::admin::query::guarded(routes, token)
        .with_state(state)
        .merge(deliveries)
        .merge(stream)
        .merge(health.unwrap_or_default())
}
