//! The bearer-token check in front of every admin route, in constant time.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use genhook_core::Secret;
use subtle::ConstantTimeEq as _;

use super::AdminError;

/// Lets the request through only with `Authorization: Bearer <token>`.
pub(crate) async fn require_bearer(
    State(token): State<Secret>,
    request: Request,
    next: Next,
) -> Response {
    let presented = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(presented)
            if !token.is_empty()
                && bool::from(presented.as_bytes().ct_eq(token.expose().as_bytes())) =>
        {
            next.run(request).await
        }
        _ => AdminError::Unauthorized.into_response(),
    }
}
