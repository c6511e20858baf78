//! The routes of the README's HTTP table: webhooks in, health, readiness, metrics, the API
//! description, and the admin API mount.

use std::time::SystemTime;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use genhook_core::stage::{ReceivedAt, SourceName};
use genhook_core::PipelineError;
use genhook_dispatch::DispatchError;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use tower::ServiceExt as _;

use super::respond::{error_response, json, reject, respond};
use super::AppState;
use super::ClientAddr;
use crate::refused::Refused;
use crate::stack::SourceRoute;
use genhook_core::redact::RedactionPolicy;
use genhook_core::stage::Ignored;

/// The OpenAPI description of the HTTP API, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");
const DOCS_PAGE: &str = include_str!("../../docs/api.html");

/// The router. `admin` is the admin API (mounted under `/admin`), `None` when no `admin_token`
/// is set: `/admin/...` then answers 404 saying so.
pub fn router(state: AppState, admin: Option<Router>) -> Router {
    let console = crate::console::page::router(admin.is_some());
    let admin = admin.unwrap_or_else(|| Router::new().fallback(admin_off));
    Router::new()
        .route("/webhook", post(webhook_detect))
        .route("/webhook/{source}", post(webhook_source).options(options))
        .route(
            "/webhook/{source}/{token}",
            post(webhook_token).options(options),
        )
        .route("/", get(predecessor_root))
        .route("/health", get(predecessor_health))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/docs", get(docs))
        .merge(console)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .nest("/admin", admin)
        .layer(axum::middleware::from_fn_with_state(
            state,
            close_while_draining,
        ))
}

/// While shutting down, HTTP/1 answers carry `Connection: close`: a keep-alive client then opens
/// a new connection for its next request, which a load balancer can send to another instance.
/// (HTTP/2 has no such header; its connections end with the server's graceful stop.)
async fn close_while_draining(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let http1 = request.version() < http::Version::HTTP_2;
    let mut response = next.run(request).await;
    if http1 && state.is_shutting_down() {
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

async fn webhook_source(
    State(state): State<AppState>,
    Path(source): Path<String>,
    request: Request,
) -> Response {
    webhook(&state, &source, None, request).await
}

async fn webhook_token(
    State(state): State<AppState>,
    Path((source, token)): Path<(String, String)>,
    request: Request,
) -> Response {
    webhook(&state, &source, Some(&token), request).await
}

/// `POST /webhook`: the source is identified from the headers, or (only when they cannot tell)
/// from the payload; its stack then verifies the signature before anything is kept parsed.
async fn webhook_detect(State(state): State<AppState>, request: Request) -> Response {
    // No source is known before the body is read: a refusal is counted under none.
    let _in_flight = match state.admit_webhook() {
        Ok(admitted) => admitted,
        Err(refused) => return refused_at_door("", request.version(), refused),
    };
    let (parts, body) = request.into_parts();
    // Held until the answer is ready: the body's bytes count in max_inflight_body_bytes.
    let (body, _reserved) = match read_body(&state, body).await {
        Ok(read) => read,
        Err(response) => {
            record_too_large(
                &state,
                "",
                RedactionPolicy::default_ref(),
                &parts,
                &response,
            );
            return response;
        }
    };
    let stacks = state.stacks();
    let Some(route) = super::detect::source_for(&stacks, &parts.headers, &body) else {
        let refused = Refused {
            source: "",
            reason: UNKNOWN_SOURCE,
            status: StatusCode::NOT_FOUND,
            client: client(&parts),
            headers: &parts.headers,
            body: Some(&body),
            policy: RedactionPolicy::default_ref(),
        };
        state.refused().record(&refused);
        return error_response(
            StatusCode::NOT_FOUND,
            "unknown sender: no source matches these headers and payload; post to /webhook/{source}",
            None,
        );
    };
    if route.source.token().is_some() {
        record_unknown(&state, route.source.name(), &parts);
        return unknown_source(route.source.name());
    }
    run_stack(&state, route.clone(), parts, body).await
}

async fn webhook(
    state: &AppState,
    source: &str,
    token: Option<&str>,
    request: Request,
) -> Response {
    let stacks = state.stacks();
    // A source with a URL token is served at /webhook/{source}/{token} only; the answer for a
    // wrong or missing token is the same as for an unknown source, so tokens cannot be probed.
    let Some(route) = stacks.route_for(source, token) else {
        let (parts, _body) = request.into_parts();
        record_unknown(state, source, &parts);
        return unknown_source(source);
    };
    let route = route.clone();
    drop(stacks);
    // Held until the answer is ready: shutdown waits for it before draining the queue, and it
    // holds the webhook's queue slot. Refused here, the body is never read.
    let _in_flight = match state.admit_webhook() {
        Ok(admitted) => admitted,
        Err(refused) => return refused_at_door(route.source.name(), request.version(), refused),
    };
    let (parts, body) = request.into_parts();
    match read_body(state, body).await {
        // The reservation is held until the answer is ready.
        Ok((body, _reserved)) => run_stack(state, route, parts, body).await,
        Err(response) => {
            record_too_large(
                state,
                route.source.name(),
                &route.redaction,
                &parts,
                &response,
            );
            response
        }
    }
}

const UNKNOWN_SOURCE: &str = "unknown_source";

fn client(parts: &http::request::Parts) -> Option<std::net::SocketAddr> {
    parts.extensions.get::<ClientAddr>().map(|addr| addr.0)
}

/// Records a body refused as over `max_body_size` (`413`; not a `503` of the body budget), its
/// payload not kept.
fn record_too_large(
    state: &AppState,
    source: &str,
    policy: &RedactionPolicy,
    parts: &http::request::Parts,
    response: &Response,
) {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        state.refused().record(&Refused {
            source,
            reason: "too_large",
            status: response.status(),
            client: client(parts),
            headers: &parts.headers,
            body: None,
            policy,
        });
    }
}

/// Records a request for an unknown source or token; its body is never read.
fn record_unknown(state: &AppState, source: &str, parts: &http::request::Parts) {
    state.refused().record(&Refused {
        source,
        reason: UNKNOWN_SOURCE,
        status: StatusCode::NOT_FOUND,
        client: client(parts),
        headers: &parts.headers,
        body: None,
        policy: RedactionPolicy::default_ref(),
    });
}

/// Records a refusal of the stack (a 4xx; load shedding and internal faults are not refusals
/// of the request) or an answer that ignored the webhook.
fn record_outcome(
    state: &AppState,
    route: &SourceRoute,
    headers: &http::HeaderMap,
    client: Option<std::net::SocketAddr>,
    body: &Bytes,
    result: &Result<genhook_core::WebhookResponse, PipelineError>,
) {
    let (status, reason) = match result {
        Err(error) if error.status().is_client_error() => (error.status(), error.metric_reason()),
        Ok(answer) => match answer.extensions().get::<Ignored>() {
            Some(Ignored(reason)) => (answer.status(), *reason),
            None => return,
        },
        _ => return,
    };
    state.refused().record(&Refused {
        source: route.source.name(),
        reason,
        status,
        client,
        headers,
        body: Some(body),
        policy: &route.redaction,
    });
}

async fn run_stack(
    state: &AppState,
    route: SourceRoute,
    parts: http::request::Parts,
    body: Bytes,
) -> Response {
    let name = route.source.name().to_owned();
    let headers = parts.headers.clone();
    let client = client(&parts);
    let kept = body.clone();
    let mut request = http::Request::from_parts(parts, body);
    request
        .extensions_mut()
        .insert(SourceName::new(name.as_str()));
    request
        .extensions_mut()
        .insert(ReceivedAt(SystemTime::now()));
    let result = route.stack.clone().oneshot(request).await;
    if let Ok(answer) = &result {
        if answer.status() == StatusCode::ACCEPTED && answer.extensions().get::<Ignored>().is_none()
        {
            state.health().received(&name);
        }
    }
    record_outcome(state, &route, &headers, client, &kept, &result);
    respond(&name, result)
}

/// Reads the whole body within `max_body_size` (413) and `max_inflight_body_bytes` (503).
async fn read_body(
    state: &AppState,
    body: Body,
) -> Result<(Bytes, super::body::Reservation), Response> {
    super::body::read(body, state.max_body_size(), state.body_budget()).await
}

async fn options(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
    request: Request,
) -> Response {
    let source = params.first().map(|(_, v)| v.as_str()).unwrap_or_default();
    let stacks = state.stacks();
    if stacks.route(source).is_none() {
        return unknown_source(source);
    }
    super::detect::options_response(&stacks, &request).unwrap_or_else(|| {
        let mut response = StatusCode::OK.into_response();
        response.headers_mut().insert(
            http::header::ALLOW,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        response
    })
}

async fn healthz() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))
}

/// `GET /health` as the Python predecessor answered it: load-balancer checks written for it keep
/// passing.
async fn predecessor_health() -> Response {
    json(StatusCode::OK, &serde_json::json!({ "status": "healthy" }))
}

/// `GET /` as the Python predecessor answered it.
async fn predecessor_root() -> Response {
    json(
        StatusCode::OK,
        &serde_json::json!({ "message": "GenHook API is running" }),
    )
}

async fn readyz(State(state): State<AppState>) -> Response {
    let queue = state.queue();
    let body = serde_json::json!({
        "queue_depth": queue.depth(),
        // No count bound (`queue_max_size` unset): null.
        "queue_capacity": (queue.capacity() != usize::MAX).then_some(queue.capacity()),
        "queue_bytes": queue.bytes(),
        "queue_max_bytes": queue.max_bytes(),
        "queue_backend": queue.backend(),
        "queue_available": queue.is_available(),
        "shutting_down": state.is_shutting_down(),
    });
    if state.is_ready() {
        json(
            StatusCode::OK,
            &serde_json::json!({ "status": "ready", "detail": body }),
        )
    } else {
        let reason = if state.is_shutting_down() {
            "shutting down".to_owned()
        } else if !queue.is_available() {
            match queue.unavailable_reason() {
                Some(fault) => format!("queue storage is unavailable: {fault}"),
                None => "queue storage is unavailable".to_owned(),
            }
        } else {
            "queue is full".to_owned()
        };
        let mut response = error_response(StatusCode::SERVICE_UNAVAILABLE, &reason, None);
        response.extensions_mut().insert(body);
        response
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    // Gauges read at scrape time: always current, and nothing to update on the hot path.
    let queue = state.queue();
    metrics::gauge!(genhook_core::metrics::QUEUE_DEPTH, "backend" => queue.backend())
        .set(queue.depth() as f64);
    metrics::gauge!(genhook_core::metrics::QUEUE_BYTES, "backend" => queue.backend())
        .set(queue.bytes() as f64);
    metrics::gauge!(genhook_core::metrics::QUEUE_AVAILABLE, "backend" => queue.backend())
        .set(if queue.is_available() { 1.0 } else { 0.0 });
    match state.metrics() {
        Some(handle) => {
            let mut response = handle.render().into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        None => error_response(StatusCode::NOT_FOUND, "metrics are off", None),
    }
}

async fn openapi() -> Response {
    let mut response = OPENAPI.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

async fn docs() -> Html<&'static str> {
    Html(DOCS_PAGE)
}

async fn admin_off() -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        "the admin API is off: set admin_token to turn it on",
        None,
    )
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "no such endpoint", None)
}

async fn method_not_allowed() -> Response {
    error_response(StatusCode::METHOD_NOT_ALLOWED, "method not allowed", None)
}

fn unknown_source(source: &str) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        &format!("unknown source `{source}`"),
        None,
    )
}

/// A webhook refused at the door (503 + `Retry-After`, the dispatch stage's reason), its body
/// unread: an HTTP/1 connection cannot carry another request after it, so it is closed.
fn refused_at_door(source: &str, version: http::Version, refused: DispatchError) -> Response {
    let mut response = reject(source, &PipelineError::from(refused));
    if version < http::Version::HTTP_2 {
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
