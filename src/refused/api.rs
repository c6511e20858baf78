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
use axum::routing::get;
use axum::{Json, Router};
use genhook_core::Secret;
use serde::Deserialize;
use serde_json::{json, Value};

use super::RefusedLog;
use crate::admin::query::{entry_id, guarded, nonempty, read};
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
    let router = Router::new()
        .route("/requests", get(list))
        .route("/requests/{id}", get(show));
    guarded(router, token).with_state(log)
}

async fn list(
    State(log): State<Arc<RefusedLog>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let q = read(query)?;
    let requests = log.list(
        nonempty(q.source).as_deref(),
        nonempty(q.reason).as_deref(),
        q.limit.unwrap_or(DEFAULT_LIMIT),
    );
    Ok(Json(
        json!({ "count": requests.len(), "requests": requests.iter().map(|entry| &**entry).collect::<Vec<_>>() }),
    ))
}

async fn show(
    State(log): State<Arc<RefusedLog>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let id = entry_id(&id, "a refused request")?;
    match log.get(id) {
        Some(refusal) => Ok(Json(json!(&*refusal))),
        None => Err(AdminError::NotFound(format!("no refused request {id}"))),
    }
}
