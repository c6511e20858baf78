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
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use genhook_core::Secret;
use serde::Deserialize;

use super::DeliveryLog;
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
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/{id}", get(show))
        .route_layer(axum::middleware::from_fn_with_state(
            token,
            crate::admin::require_bearer,
        ))
        .with_state(log)
}

async fn list(
    State(log): State<Arc<DeliveryLog>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return AdminError::BadRequest(e.body_text()).into_response(),
    };
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let deliveries = log.list(
        nonempty(&q.source).as_deref(),
        nonempty(&q.status).as_deref(),
        nonempty(&q.q).as_deref(),
        q.limit.unwrap_or(DEFAULT_LIMIT),
    );
    Json(serde_json::json!({ "count": deliveries.len(), "deliveries": deliveries })).into_response()
}

async fn show(State(log): State<Arc<DeliveryLog>>, Path(id): Path<String>) -> Response {
    let Ok(number) = id.parse::<u64>() else {
        return AdminError::BadRequest(format!("`{id}` is not a delivery's id")).into_response();
    };
    match log.get(number) {
        Some(delivery) => Json(delivery).into_response(),
        None => AdminError::NotFound(format!("no delivery {number}")).into_response(),
    }
}
