//! The admin API over the record of recent deliveries, merged into `/admin` behind the same
//! bearer token:
//!
//! | request | answer |
//! |---|---|
//! | `GET /admin/deliveries?source=&status=&q=&limit=` | `200 {"count", "deliveries": [summary…]}`, newest first (limit default 100) |
//! | `GET /admin/deliveries/{id}` | `200` the delivery with headers, payload, alert and tries; `404`; `400` for an id that is not a number |

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use genhook_core::Secret;
use serde::Deserialize;
use serde_json::{json, Value};

use super::DeliveryLog;
use crate::admin::query::{entry_id, guarded, nonempty, read};
use crate::admin::AdminError;

const DEFAULT_LIMIT: usize = 100;

/// `?source=&status=&q=&limit=`.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    source: Option<String>,
    status: Option<String>,
    q: Option<String>,
    limit: Option<usize>,
}

/// The routes (`/deliveries…`), to be merged into the admin router nested under `/admin`.
pub fn router(log: Arc<DeliveryLog>, token: Secret) -> Router {
    let router = Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{id}", get(show));
    guarded(router, token).with_state(log)
}

async fn list(
    State(log): State<Arc<DeliveryLog>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let q = read(query)?;
    let deliveries = log.list(
        nonempty(q.source).as_deref(),
        nonempty(q.status).as_deref(),
        nonempty(q.q).as_deref(),
        q.limit.unwrap_or(DEFAULT_LIMIT),
    );
    Ok(Json(
        json!({ "count": deliveries.len(), "deliveries": deliveries }),
    ))
}

async fn show(
    State(log): State<Arc<DeliveryLog>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let id = entry_id(&id, "a delivery")?;
    match log.get(id) {
        Some(delivery) => Ok(Json(json!(&*delivery))),
        None => Err(AdminError::NotFound(format!("no delivery {id}"))),
    }
}
