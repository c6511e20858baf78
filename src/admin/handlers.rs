//! The admin handlers.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use std::time::Duration;

use genhook_core::queue::{Accepted, Claim, DeadLetter, DeadLetterFilter, Event, QueueError};
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
    let q = super::query::read(query)?;
    Ok(DeadLetterFilter {
        source: super::query::nonempty(q.source),
        event: super::query::nonempty(q.event),
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

/// How long a replayed dead letter's claim is kept: a second replay of the same dead letter
/// within it (after a crash between queueing it and removing it, or a concurrent replay) is
/// recognised and does not queue it twice.
const REPLAY_WINDOW: Duration = Duration::from_secs(72 * 3600);

/// Replays one dead letter: render again, queue it, then remove it from the DLQ.
///
/// The dead letter is removed only once its fresh copy is durably queued, so a crash in between
/// leaves it in the DLQ (never lost). The copy is queued with a claim on the dead letter's id and
/// time, so replaying that dead letter again only removes it ([`Replayed::Already`]). A render
/// failure puts the dead letter back with the reason as its last error.
async fn replay(state: &AdminState, id: &str) -> Result<Replayed, AdminError> {
    let letter = state
        .dead_letters
        .get(id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no dead letter {id}")))?;
    let claim = Claim {
        key: format!("dlq-replay:{id}:{}", letter.dead_at_ms),
        window: REPLAY_WINDOW,
    };
    let original = letter.event;
    let mut fresh = match (state.rerender)(original.clone()) {
        Ok(event) => event,
        Err(reason) => {
            if state.dead_letters.take(id).await?.is_some() {
                put_back(state, original, format!("render failed: {reason}")).await?;
            }
            return Err(AdminError::RenderFailed(reason));
        }
    };
    fresh.attempts = 0;
    fresh.last_error = None;
    let outcome = match state.queue.accept(fresh.clone(), Some(claim)).await {
        Ok(Accepted::Duplicate) => Replayed::Already(fresh),
        Ok(_) => Replayed::Queued(fresh),
        Err(error) => {
            return Err(match error {
                QueueError::Full | QueueError::Closed | QueueError::Unavailable(_) => {
                    AdminError::QueueRefused(error)
                }
                other => AdminError::Storage(other),
            })
        }
    };
    if let Err(error) = state.dead_letters.take(id).await {
        // Queued all the same: the next replay of this dead letter only removes it.
        tracing::warn!(id, %error, "Dead letter replayed but not yet removed from the DLQ.");
    }
    if let Replayed::Queued(event) = &outcome {
        tracing::info!(id, source = %event.source, "Dead letter replayed.");
    }
    Ok(outcome)
}

/// What a replay did.
#[derive(Debug)]
enum Replayed {
    /// Rendered again and queued.
    Queued(Event),
    /// It had been queued by an earlier replay (interrupted before the dead letter was removed,
    /// or concurrent): now only removed from the DLQ.
    Already(Event),
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
    // Idempotent: a dead letter an interrupted replay had queued already is answered the same.
    let (Replayed::Queued(event) | Replayed::Already(event)) = replay(&state, &id).await?;
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
            Ok(Replayed::Queued(_)) => replayed.push(id),
            // Replayed meanwhile by a concurrent replay: not ours to report.
            Ok(Replayed::Already(_)) | Err(AdminError::NotFound(_)) => {}
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
