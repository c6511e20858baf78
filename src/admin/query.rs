//! What the admin routes share besides the bearer check: reading a `?…` query (400 with its
//! reason), a filter given empty counts as not given, an entry's numeric id from the path, and
//! putting a router behind the admin token.

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use axum::Router;
use genhook_core::Secret;

use super::AdminError;

/// The query, or `400` with why it does not parse.
pub(crate) fn read<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, AdminError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| AdminError::BadRequest(e.body_text()))
}

/// A filter's value: `None` when absent or empty (`?source=` filters nothing).
pub(crate) fn nonempty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// The numeric id of a record's entry (`what` names its kind in the `400`).
pub(crate) fn entry_id(id: &str, what: &str) -> Result<u64, AdminError> {
    id.parse()
        .map_err(|_| AdminError::BadRequest(format!("`{id}` is not {what}'s id")))
}

/// `router` behind `Authorization: Bearer <admin_token>`.
pub(crate) fn guarded<S>(router: Router<S>, token: Secret) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.route_layer(axum::middleware::from_fn_with_state(
        token,
        super::require_bearer,
    ))
}
