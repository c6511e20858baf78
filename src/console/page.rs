//! The console's page: the browser front end served at `/console` by `genhook serve` when an
//! `admin_token` is set (the mapping builder, live deliveries, refused requests, dead letters,
//! health and the SL1 event policy), a view and an editor over the same admin API the CLI uses.
//!
//! Its assets (plain HTML, CSS and ES modules, no build step) are compiled into the binary
//! (`assets.rs`); every answer carries a strict `Content-Security-Policy` (no inline script,
//! nothing from another origin), `X-Content-Type-Options: nosniff` and `X-Frame-Options: DENY`.
//! The page itself holds no secret: it asks for the admin token, keeps it in the tab's
//! `sessionStorage` and sends it as `Authorization: Bearer` on every admin call (no cookie, so
//! no cross-site request can use it).

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};

use super::assets;
use crate::server::respond::error_response;

/// The policy every console answer carries: scripts, styles and calls from this origin only,
/// no inline script, no framing, no plugin, forms posting nowhere else.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The console's routes (`/console`, `/console/`, `/console/{asset}`), to be merged into the
/// server's router when the admin API is on. `None` (no `admin_token`): the same paths answer
/// `404` with the usual JSON error.
pub fn router<S: Clone + Send + Sync + 'static>(on: bool) -> Router<S> {
    if on {
        Router::new()
            .route("/console", get(index))
            .route("/console/", get(index))
            .route("/console/{*path}", get(asset))
    } else {
        Router::new()
            .route("/console", get(off))
            .route("/console/", get(off))
            .route("/console/{*path}", get(off))
    }
}

async fn index() -> Response {
    asset(Path("index.html".to_owned())).await
}

async fn asset(Path(path): Path<String>) -> Response {
    match assets::find(&path) {
        Some(asset) => {
            let mut response = asset.body.into_response();
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
            // The assets change with the binary and carry no hash in their names: the browser
            // asks again each time (cheap, they are small), never shows a stale console.
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            secure(response)
        }
        None => secure(error_response(
            StatusCode::NOT_FOUND,
            "no such console file",
            None,
        )),
    }
}

async fn off() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "the console is off: set admin_token to turn it on",
        None,
    )
}

/// Adds the security headers every console answer carries.
fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        http::header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    );
    headers.insert(
        http::header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
