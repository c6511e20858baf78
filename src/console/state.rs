//! [`ConsoleState`]: what the console's routes work on, and the one shape of a `422` for a
//! mapping with problems.

use std::fmt;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::Json;
use genhook_core::Diagnostic;
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
