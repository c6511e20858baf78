//! The `direct` baseline: GenHook's job for the bench's one source, written by hand as a fair,
//! lean program, with nothing GenHook does beyond the job itself.
//!
//! Per request, on the same hyper server as `bare-hyper` (the `hyper-util` auto builder, HTTP/1):
//! read the body; check `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the source's
//! secret, compared in constant time with `subtle`); parse the body with `serde_json` into
//! borrowed structs holding only the fields the mapping's `pull_request` line renders; render the
//! same line with `format!`; `POST` it to SL1 (`/api/alert`, Basic auth, the JSON fields GenHook
//! sends) with one pooled `reqwest::Client`; answer `202` only once SL1 accepted it, `502`
//! otherwise. Its 202 therefore means "delivered", which is more than GenHook's (queued), and it
//! keeps nothing: no queue, no retry, no de-duplication, no dead letters, no metrics.
//!
//! What GenHook delivers per second is read against what this program delivers per second.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::github::SECRET;
use crate::servers::{self, Running};

/// The fields of a `pull_request` delivery the message needs; strings borrowed from the body
/// (owned only when JSON escapes had to be undone).
#[derive(Deserialize)]
struct PullRequestEvent<'a> {
    #[serde(borrow)]
    action: Cow<'a, str>,
    number: u64,
    #[serde(borrow)]
    pull_request: PullRequest<'a>,
    #[serde(borrow)]
    repository: Repository<'a>,
    #[serde(borrow)]
    sender: Sender<'a>,
}

#[derive(Deserialize)]
struct PullRequest<'a> {
    #[serde(borrow)]
    title: Cow<'a, str>,
    #[serde(borrow)]
    head: Branch<'a>,
    #[serde(borrow)]
    base: Branch<'a>,
}

#[derive(Deserialize)]
struct Branch<'a> {
    #[serde(borrow, rename = "ref")]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Repository<'a> {
    #[serde(borrow)]
    full_name: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Sender<'a> {
    #[serde(borrow)]
    login: Cow<'a, str>,
}

/// The body of SL1's `POST /api/alert`, with the fields (and defaults) GenHook sends.
#[derive(Serialize)]
struct Alert<'a> {
    force_ytype: &'a str,
    force_yid: &'a str,
    force_yname: &'a str,
    message: &'a str,
    value: &'a str,
    threshold: &'a str,
    message_time: &'a str,
    aligned_resource: &'a str,
}

/// What every request handler shares.
#[derive(Debug)]
struct Program {
    client: reqwest::Client,
    sl1_url: String,
}

/// Starts the direct program delivering to `sl1_url`; call inside the runtime that should run it.
pub(crate) async fn start(sl1_url: &str) -> Running {
    let program = Arc::new(Program {
        client: reqwest::Client::new(),
        sl1_url: sl1_url.to_owned(),
    });
    servers::serve(move |request: Request<Incoming>| {
        let program = Arc::clone(&program);
        async move { program.handle(request).await }
    })
    .await
}

impl Program {
    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
            return answer(StatusCode::BAD_REQUEST, r#"{"error":"unreadable body"}"#);
        };
        let signature = parts
            .headers
            .get("x-hub-signature-256")
            .and_then(|v| v.as_bytes().strip_prefix(b"sha256="))
            .and_then(|hex| hex::decode(hex).ok());
        if !signature.is_some_and(|signature| signed(&body, &signature)) {
            return answer(StatusCode::UNAUTHORIZED, r#"{"error":"bad signature"}"#);
        }
        if parts
            .headers
            .get("x-github-event")
            .is_none_or(|event| event.as_bytes() != b"pull_request")
        {
            return answer(StatusCode::BAD_REQUEST, r#"{"error":"not a pull_request"}"#);
        }
        let Ok(event) = serde_json::from_slice::<PullRequestEvent<'_>>(&body) else {
            return answer(
                StatusCode::BAD_REQUEST,
                r#"{"error":"not a pull_request payload"}"#,
            );
        };
        let message = format!(
            "GitHub pull_request {} in {} #{} \"{}\" ({} -> {}) by {}",
            event.action,
            event.repository.full_name,
            event.number,
            event.pull_request.title,
            event.pull_request.head.name,
            event.pull_request.base.name,
            event.sender.login,
        );
        let alert = Alert {
            force_ytype: "0",
            force_yid: "0",
            force_yname: "",
            message: &message,
            value: "",
            threshold: "",
            message_time: "0",
            aligned_resource: "/api/organization/0",
        };
        let sent = self
            .client
            .post(&self.sl1_url)
            .basic_auth("bench", Some("bench"))
            .header("x-em7-guid-paths", "1")
            .json(&alert)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                // Read SL1's answer to the end so that the connection goes back to the pool.
                let _ = response.bytes().await;
                answer(StatusCode::ACCEPTED, r#"{"status":"delivered"}"#)
            }
            _ => answer(
                StatusCode::BAD_GATEWAY,
                r#"{"error":"SL1 did not accept the alert"}"#,
            ),
        }
    }
}

/// Whether `signature` is the HMAC-SHA256 of `body` with the secret (constant-time compare).
fn signed(body: &[u8], signature: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()) else {
        return false;
    };
    mac.update(body);
    bool::from(mac.finalize().into_bytes().as_slice().ct_eq(signature))
}

/// A small JSON answer.
fn answer(status: StatusCode, json: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(json.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
