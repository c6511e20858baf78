//! The admin API over the dead-letter queue (list, show, replay one or all matching, purge) and
//! the SL1 event policy of a source ([`policy`]).
//!
//! The server nests [`router`] under `/admin` (`Router::nest("/admin", admin::router(state))`),
//! and only when `admin_token` is set:
//!
//! | request | answer |
//! |---|---|
//! | `GET /admin/dlq?source=&event=&limit=` | `200 {"count", "dead_letters": [summary…]}` (limit default 100) |
//! | `GET /admin/dlq/{id}` | `200` the whole dead letter (headers, base64 body) or `404` |
//! | `POST /admin/dlq/{id}/replay` | `202 {"id","status":"queued"}`; `404`; `422` render failed; `503` queue full |
//! | `POST /admin/dlq/replay?source=&event=&limit=` | `200 {"replayed", "failed": [{"id","error"}]}` |
//! | `DELETE /admin/dlq?source=&event=&limit=` | `200 {"purged"}` |
//! | `POST /admin/sl1/policy` | the SL1 event policy of a source ([`policy`]) |
//!
//! Every request needs `Authorization: Bearer <admin_token>`, compared in constant time;
//! otherwise `401`. Every error is JSON `{"error": "..."}`.
//!
//! A replay takes the dead letter out, renders its stored raw body again with the **current**
//! mappings (the [`Rerender`] hook the server supplies), and enqueues the result, so fixing a
//! mapping and replaying delivers the corrected message. If rendering or enqueueing fails, the
//! event goes back to the dead-letter queue with the reason as its last error.

mod auth;
mod error;
mod handlers;
pub mod policy;
pub(crate) mod query;

use std::fmt;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use genhook_core::queue::{DeadLetters, Event, Queue};
use genhook_core::Secret;

pub(crate) use auth::require_bearer;
pub use error::AdminError;

/// Renders a stored event again with the current mappings: the new event (message, alert
/// fields, `render_error` cleared) or why it still cannot be rendered.
pub type Rerender = Arc<dyn Fn(Event) -> Result<Event, String> + Send + Sync>;

/// What the admin API works on.
#[derive(Clone)]
pub struct AdminState {
    /// The dead-letter queue.
    pub dead_letters: Arc<dyn DeadLetters>,
    /// The queue replayed events go to.
    pub queue: Arc<dyn Queue>,
    /// The bearer token (`admin_token`).
    pub token: Secret,
    /// Renders a dead letter again with the current mappings.
    pub rerender: Rerender,
}

impl fmt::Debug for AdminState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminState")
            .field("dead_letters", &self.dead_letters)
            .field("queue", &self.queue)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// The admin routes (`/dlq…`), to be nested under `/admin`, behind the bearer-token check.
pub fn router(state: AdminState) -> Router {
    let router = Router::new()
        .route("/dlq", get(handlers::list).delete(handlers::purge))
        .route("/dlq/replay", post(handlers::replay_all))
        .route("/dlq/{id}", get(handlers::show))
        .route("/dlq/{id}/replay", post(handlers::replay_one))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed);
    query::guarded(router, state.token.clone()).with_state(state)
}
