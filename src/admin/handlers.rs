//! The admin handlers.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use genhook_core::queue::{DeadLetter, DeadLetterFilter, Event, QueueError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{AdminError, AdminState};

/// The list's default page size.
const DEFAULT_LIMIT: usize = 100;

/// `?source=&event=&limit=`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct FilterQuery {
    source: Option<String>,
    event: Option<String>,
    limit: Option<usize>,
}

fn filter(
    query: Result<Query<FilterQuery>, QueryRejection>,
    default_limit: Option<usize>,
) -> Result<DeadLetterFilter, AdminError> {
    let Query(q) = query.map_err(|e| AdminError::BadRequest(e.body_text()))?;
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    Ok(DeadLetterFilter {
        source: nonempty(q.source),
        event: nonempty(q.event),
        limit: q.limit.or(default_limit),
    })
}

fn summary(letter: &DeadLetter) -> Value {
    let e = &letter.event;
    json!({
        "id": e.id,
        "source": e.source,
        "event": e.event,
        "delivery_id": e.delivery_id,
        "priority": e.priority,
        "attempts": e.attempts,
        "last_error": e.last_error,
        "render_error": e.render_error,
        "received_at_ms": e.received_at_ms,
        "dead_at_ms": letter.dead_at_ms,
        "message": e.alert.message,
    })
}

/// `GET /dlq`.
pub(super) async fn list(
    State(state): State<AdminState>,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let filter = filter(query, Some(DEFAULT_LIMIT))?;
    let letters = state.dead_letters.list(&filter).await?;
    let total = state.dead_letters.count().await?;
    Ok(Json(json!({
        "count": letters.len(),
        "total": total,
        "dead_letters": letters.iter().map(summary).collect::<Vec<_>>(),
    })))
}

/// `GET /dlq/{id}`.
pub(super) async fn show(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<Json<DeadLetter>, AdminError> {
    state
        .dead_letters
        .get(&id)
        .await?
        .map(Json)
        .ok_or_else(|| AdminError::NotFound(format!("no dead letter {id}")))
}

/// Replays one dead letter: take, render again, enqueue; back to the DLQ if either fails.
async fn replay(state: &AdminState, id: &str) -> Result<Event, AdminError> {
    let letter = state
        .dead_letters
        .take(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no dead letter {id}")))?;
    let original = letter.event;
    let mut fresh = match (state.rerender)(original.clone()) {
        Ok(event) => event,
        Err(reason) => {
            put_back(state, original, format!("render failed: {reason}")).await?;
            return Err(AdminError::RenderFailed(reason));
        }
    };
    fresh.attempts = 0;
    fresh.last_error = None;
    match state.queue.enqueue(fresh.clone()).await {
        Ok(()) => {
            tracing::info!(id, source = %fresh.source, "Dead letter replayed.");
            Ok(fresh)
        }
        Err(error) => {
            put_back(state, original, format!("replay refused: {error}")).await?;
            Err(match error {
                QueueError::Full | QueueError::Closed | QueueError::Unavailable(_) => {
                    AdminError::QueueRefused(error)
                }
                other => AdminError::Storage(other),
            })
        }
    }
}

async fn put_back(state: &AdminState, mut event: Event, reason: String) -> Result<(), AdminError> {
    event.last_error = Some(reason);
    state
        .queue
        .dead_letter(event)
        .await
        .map_err(AdminError::Storage)
}

/// `POST /dlq/{id}/replay`.
pub(super) async fn replay_one(
    State(state): State<AdminState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, AdminError> {
    let event = replay(&state, &id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({"id": event.id, "source": event.source, "event": event.event, "status": "queued"}),
        ),
    ))
}

/// `POST /dlq/replay`: every dead letter matching the filter.
pub(super) async fn replay_all(
    State(state): State<AdminState>,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let filter = filter(query, None)?;
    let letters = state.dead_letters.list(&filter).await?;
    let mut replayed = Vec::new();
    let mut failed = Vec::new();
    for letter in letters {
        let id = letter.event.id;
        match replay(&state, &id).await {
            Ok(_) => replayed.push(id),
            // Taken meanwhile by a concurrent replay: not ours to report.
            Err(AdminError::NotFound(_)) => {}
            Err(AdminError::Storage(cause)) => return Err(AdminError::Storage(cause)),
            Err(error) => failed.push(json!({"id": id, "error": error.to_string()})),
        }
    }
    Ok(Json(json!({
        "replayed": replayed.len(),
        "ids": replayed,
        "failed": failed,
    })))
}

/// `DELETE /dlq`: every dead letter matching the filter.
pub(super) async fn purge(
    State(state): State<AdminState>,
    query: Result<Query<FilterQuery>, QueryRejection>,
) -> Result<Json<Value>, AdminError> {
    let filter = filter(query, None)?;
    let purged = state.dead_letters.purge(&filter).await?;
    tracing::warn!(purged, source = ?filter.source, event = ?filter.event, "Dead letters purged.");
    Ok(Json(json!({ "purged": purged })))
}

/// Unknown admin route.
pub(super) async fn not_found() -> AdminError {
    AdminError::NotFound("no such admin route".into())
}

/// Known route, wrong method.
pub(super) async fn method_not_allowed() -> AdminError {
    AdminError::MethodNotAllowed
}
