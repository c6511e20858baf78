//! `POST /admin/sl1/policy`: the SL1 event policy of a source, the same code as `genhook sl1
//! policy create` ([`crate::policy`]), for the console.
//!
//! Body `{"source", "token"?, "severity", "dry_run"?}`. Answers: a dry run `200 {"dry_run":
//! true, "name", "request"}` (the exact request, credentials not shown, nothing sent); created
//! `201 {"id", "name", "request"}`; `400` a body that is not that JSON, `404` unknown source,
//! `422` bad severity or messages with nothing to match, `503` no SL1 URL configured, `502`
//! SL1 failed or refused (its reason in `error`). The sources are the mappings in use (a
//! reload shows at once); the SL1 URL, credentials and TLS settings are those GenHook started
//! with.

use std::fmt;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use genhook_core::Secret;
use genhook_mapping::CompiledSource;
use http::StatusCode;
use serde_json::{json, Value};

use super::AdminError;
use crate::config::Config;
use crate::policy::{PolicyRequest, Prepared};

/// The sources served under a name in the mappings in use (one, or one per token of a
/// predecessor service).
pub type SourceLookup = Arc<dyn Fn(&str) -> Vec<Arc<CompiledSource>> + Send + Sync>;

/// What the policy route works with.
#[derive(Clone)]
pub struct PolicyState {
    /// The configuration (SL1 URL, credentials, TLS).
    pub config: Arc<Config>,
    /// The sources.
    pub sources: SourceLookup,
}

impl fmt::Debug for PolicyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The route `/sl1/policy`, to be merged into the admin router, behind the same bearer token.
pub fn router(state: PolicyState, token: Secret) -> Router {
    Router::new()
        .route(
            "/sl1/policy",
            post(create).fallback(super::handlers::method_not_allowed),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            token,
            super::auth::require_bearer,
        ))
        .with_state(state)
}

async fn create(
    State(state): State<PolicyState>,
    body: Result<Json<PolicyRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AdminError> {
    let Json(request) = body.map_err(|e| AdminError::BadRequest(e.body_text()))?;
    let sources = (state.sources)(&request.source);
    let sources: Vec<&CompiledSource> = sources.iter().map(|source| &**source).collect();
    let prepared = Prepared::new(&state.config, &sources, &request).map_err(AdminError::Policy)?;
    let name = prepared.policy.name.clone();
    if request.dry_run {
        return Ok((
            StatusCode::OK,
            Json(json!({ "dry_run": true, "name": name, "request": prepared.preview() })),
        ));
    }
    let id = prepared
        .send(&state.config)
        .await
        .map_err(AdminError::Policy)?;
    tracing::info!(policy = %name, id = %id, "Created the SL1 event policy.");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "name": name, "request": prepared.preview() })),
    ))
}
