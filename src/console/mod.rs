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
//! The console is a view over the same files and the same code as the command line: a mapping
//! is compiled by the [`Loader`] that `serve`, hot reload and `genhook check` use, and rendered
//! by the offline stack of `genhook render`.

mod assets;
pub mod mappings;
pub mod page;
pub mod render;
pub mod stream;

use std::fmt;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use genhook_core::{Diagnostic, Secret};
use http::StatusCode;
use serde_json::{json, Value};

use crate::loader::Loader;
use crate::server::AppState;

/// Reloads the mappings now, as the watcher would; whether the new ones were taken.
pub type ReloadHook = Arc<dyn Fn() -> bool + Send + Sync>;

/// What the console's routes work on. Cheap to clone.
#[derive(Clone)]
pub struct ConsoleState {
    /// The loader of the mappings directory (the registry and resources `serve` uses).
    pub loader: Loader,
    /// The server's state: the stacks in use.
    pub app: AppState,
    /// Triggers the hot reload after a mapping file was written or deleted.
    pub reload: ReloadHook,
    /// `https` when the server serves TLS, else `http` (for the URLs it answers with).
    pub scheme: &'static str,
    /// One change of the mappings directory at a time.
    pub(crate) writing: Arc<tokio::sync::Mutex<()>>,
    /// The record of recent deliveries.
    pub deliveries: Arc<crate::deliveries::DeliveryLog>,
    /// The live feed of the records (`GET /admin/stream`).
    pub feed: crate::journal::Feed,
    /// What `GET /admin/health` reads (`None`: the route is not served).
    pub health: Option<crate::health::api::HealthState>,
}

impl ConsoleState {
    /// The state over a loader, the server's state and the reload hook.
    pub fn new(loader: Loader, app: AppState, reload: ReloadHook, tls: bool) -> Self {
        Self {
            loader,
            app,
            reload,
            scheme: if tls { "https" } else { "http" },
            writing: Arc::default(),
            deliveries: crate::deliveries::DeliveryLog::in_memory(),
            feed: crate::journal::Feed::default(),
            health: None,
        }
    }
}

impl fmt::Debug for ConsoleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleState")
            .field("loader", &self.loader)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// The routes, to be merged into the admin router nested under `/admin`.
pub fn router(state: ConsoleState, token: Secret) -> Router {
    let deliveries = crate::deliveries::api::router(state.deliveries.clone(), token.clone());
    let stream = stream::router(state.feed.clone(), state.app.clone(), token.clone());
    let health = state
        .health
        .clone()
        .map(|health| crate::health::api::router(health, token.clone()));
    Router::new()
        .route("/render", post(render::render))
        .route("/mappings", get(mappings::list))
        .route(
            "/mappings/{name}",
            get(mappings::show)
                .put(mappings::save)
                .delete(mappings::delete),
        )
        .route("/token", post(mappings::new_token))
        .route_layer(axum::middleware::from_fn_with_state(
            token,
            crate::admin::require_bearer,
        ))
        .with_state(state)
        .merge(deliveries)
        .merge(stream)
        .merge(health.unwrap_or_default())
}

/// `422` for a mapping with problems: every diagnostic, errors and warnings, line numbers as
/// in `file` (a problem in another file names it).
pub(crate) fn invalid_mapping(
    file: &std::path::Path,
    error: &str,
    diagnostics: &[Diagnostic],
) -> Response {
    let diagnostics: Vec<Value> = diagnostics
        .iter()
        .map(|d| diagnostic_json(file, d))
        .collect();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "error": error, "diagnostics": diagnostics })),
    )
        .into_response()
}

/// One diagnostic as the console shows it.
pub(crate) fn diagnostic_json(file: &std::path::Path, diagnostic: &Diagnostic) -> Value {
    let mut value = json!({
        "line": diagnostic.span.line,
        "message": diagnostic.message,
        "severity": if diagnostic.is_error() { "error" } else { "warning" },
    });
    if *diagnostic.span.file != *file {
        value["file"] = json!(diagnostic
            .span
            .file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default());
    }
    value
}

/// How many errors, in words, for the `error` of a `422`.
pub(crate) fn problems_text(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    format!("the mapping has {errors} error(s)")
}
