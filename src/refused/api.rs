//! The admin API over the record of refused requests, merged into `/admin` beside the
//! dead-letter routes and behind the same bearer token:
//!
//! | request | answer |
//! |---|---|
//! | `GET /admin/requests?source=&reason=&limit=` | `200 {"count", "requests": [refusal…]}`, newest first (limit default 100) |
//! | `GET /admin/requests/{id}` | `200` the refusal, `404` when not kept, `400` for an id that is not a number |

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use genhook_core::Secret;
use serde::Deserialize;

use super::RefusedLog;
use crate::admin::AdminError;

const DEFAULT_LIMIT: usize = 100;

/// `?source=&reason=&limit=`.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    source: Option<String>,
    reason: Option<String>,
    limit: Option<usize>,
}

/// The routes (`/requests…`), to be merged into the admin router nested under `/admin`.
pub fn router(log: Arc<RefusedLog>, token: Secret) -> Router {
    Router::new()
        .route("/requests", get(list))
        .route("/requests/{id}", get(show))
        .route_layer(axum::middleware::from_fn_with_state(
            token,
            crate::admin::require_bearer,
        ))
        .with_state(log)
}

async fn list(
    State(log): State<Arc<RefusedLog>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return AdminError::BadRequest(e.body_text()).into_response(),
    };
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let requests = log.list(
        nonempty(&q.source).as_deref(),
        nonempty(&q.reason).as_deref(),
        q.limit.unwrap_or(DEFAULT_LIMIT),
    );
    Json(serde_json::json!({ "count": requests.len(), "requests": requests })).into_response()
}

async fn show(State(log): State<Arc<RefusedLog>>, Path(id): Path<String>) -> Response {
    let Ok(number) = id.parse::<u64>() else {
        return AdminError::BadRequest(format!("`{id}` is not a refused request's id"))
            .into_response();
    };
    match log.get(number) {
        Some(refusal) => Json(refusal).into_response(),
        None => AdminError::NotFound(format!("no refused request {number}")).into_response(),
    }
}
