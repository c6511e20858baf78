//! `GET /admin/stream`: the live feed of the records as server-sent events
//! (`text/event-stream`): `event: delivery` with a delivery's summary (each time an event
//! settles, `retrying` included), `event: refused` with a refused request as
//! `GET /admin/requests` shows it, and a `: keep-alive` comment every 15 s.
//!
//! A browser's `EventSource` cannot set headers, so besides `Authorization: Bearer`, the admin
//! token is also taken from `?token=` here (compared in constant time too; only the path is
//! logged, never the query). A listener that falls behind misses entries and gets an
//! `event: lagged` with how many. The stream ends when shutdown begins.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::Stream;
use genhook_core::Secret;
use serde::Deserialize;
use subtle::ConstantTimeEq as _;
use tokio::sync::broadcast::error::RecvError;

use crate::admin::AdminError;
use crate::journal::Feed;
use crate::server::AppState;

/// How often an idle stream carries a comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The route (`/stream`), to be merged into the admin router nested under `/admin`.
pub fn router(feed: Feed, app: AppState, token: Secret) -> Router {
    Router::new()
        .route("/stream", get(stream))
        .route_layer(axum::middleware::from_fn_with_state(
            token,
            bearer_or_query_token,
        ))
        .with_state((feed, app))
}

/// How often an open stream looks whether shutdown has begun (it then ends, so that the
/// connection can close).
const SHUTDOWN_CHECK: Duration = Duration::from_millis(250);

async fn stream(
    State((feed, app)): State<(Feed, AppState)>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = feed.subscribe();
    let events = futures_util::stream::unfold((receiver, app), |(mut receiver, app)| async move {
        let next = tokio::select! {
            next = receiver.recv() => next,
            () = shutting_down(&app) => return None,
        };
        let event = match next {
            Ok(entry) => Event::default().event(entry.kind).data(&*entry.data),
            Err(RecvError::Lagged(missed)) => Event::default()
                .event("lagged")
                .data(format!("{{\"missed\":{missed}}}")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), (receiver, app)))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

/// Resolves once shutdown has begun.
async fn shutting_down(app: &AppState) {
    while !app.is_shutting_down() {
        tokio::time::sleep(SHUTDOWN_CHECK).await;
    }
}

/// `?token=`.
#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// Lets the request through with the admin token as `Authorization: Bearer` or `?token=`.
async fn bearer_or_query_token(
    State(token): State<Secret>,
    request: Request,
    next: Next,
) -> Response {
    let from_query = Query::<TokenQuery>::try_from_uri(request.uri())
        .ok()
        .and_then(|Query(q)| q.token);
    match from_query {
        Some(presented)
            if !token.is_empty()
                && bool::from(presented.as_bytes().ct_eq(token.expose().as_bytes())) =>
        {
            next.run(request).await
        }
        Some(_) => AdminError::Unauthorized.into_response(),
        None => crate::admin::require_bearer(State(token), request, next).await,
    }
}
