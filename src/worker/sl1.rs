//! The SL1 client: the leaf of the worker stack. It posts one [`Alert`] to
//! `sl1_api_url` (`POST /api/alert`) with Basic auth, `x-em7-guid-paths: 1` and JSON
//! `Content-Type`/`Accept`, over a pooled rustls `reqwest` client that also trusts the
//! certificates of `sl1_ca_file` when one is set: as roots, and pinned, so that SL1's own
//! self-signed `CA:TRUE` certificate is accepted (see `src/worker/tls.rs`). 200, 201 and 202
//! are success; anything else is a typed [`Sl1Error`] that says whether it is worth retrying
//! ([`Sl1Error::is_retryable`]).
//!
//! The event id and the provider's delivery id travel with every attempt as
//! `X-GenHook-Event-Id` / `X-GenHook-Delivery-Id` headers and in the log fields, so that one
//! delivery can be traced from the provider's log to SL1.
//!
//! Every threading model delivers through this one client: its pool keeps up to
//! `sl1_max_inflight` idle connections to SL1.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use genhook_core::metrics;
use genhook_core::queue::Event;
use genhook_core::Alert;
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tower::Service;

use super::settings::WorkerSettings;
use super::tls;

pub use super::sl1_error::Sl1Error;

/// Header carrying GenHook's own event id to SL1.
pub const EVENT_ID_HEADER: &str = "x-genhook-event-id";
/// Header carrying the provider's delivery id to SL1.
pub const DELIVERY_ID_HEADER: &str = "x-genhook-delivery-id";
/// SL1's header asking for GUID paths in answers.
pub const EM7_GUID_PATHS_HEADER: &str = "x-em7-guid-paths";
/// SL1's header with the reason of an error answer.
pub const EM7_STATUS_MESSAGE_HEADER: &str = "x-em7-status-message";

/// The `User-Agent` of every request to SL1 (alerts and the GraphQL policy client):
/// `GenHook/<version>`, so SL1's access log names the sender.
pub const USER_AGENT: &str = concat!("GenHook/", env!("CARGO_PKG_VERSION"));

/// One alert to deliver, with what identifies it for tracing.
///
/// Cheap to clone (the retry layer clones it per attempt); clones share the attempt counter.
#[derive(Debug, Clone)]
pub struct Sl1Request {
    /// The alert body.
    pub alert: Alert,
    /// GenHook's event id.
    pub event_id: Arc<str>,
    /// The source the event came from.
    pub source: Arc<str>,
    /// The provider's delivery id, when it sent one.
    pub delivery_id: Option<Arc<str>>,
    attempts: Arc<AtomicU32>,
    tries: Arc<Mutex<Vec<Sl1Try>>>,
    deadline: Option<Instant>,
}

/// One SL1 attempt, as the record of deliveries keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sl1Try {
    /// When it started, in Unix milliseconds.
    pub time_ms: u64,
    /// SL1's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub latency_ms: u64,
}

impl Sl1Request {
    /// A request for an alert with GenHook's event id and its source.
    pub fn new(alert: Alert, event_id: impl Into<Arc<str>>, source: impl Into<Arc<str>>) -> Self {
        Self {
            alert,
            event_id: event_id.into(),
            source: source.into(),
            delivery_id: None,
            attempts: Arc::new(AtomicU32::new(0)),
            tries: Arc::default(),
            deadline: None,
        }
    }

    /// Sets the delivery's deadline (`processing_timeout` after a worker took the event): no
    /// attempt runs past it and no retry starts that would.
    #[must_use]
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The delivery's deadline, if it has one.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }

    /// The time one attempt may take: `per_attempt` (`sl1_timeout`), or less when the deadline
    /// is nearer.
    pub fn attempt_timeout(&self, per_attempt: Duration) -> Duration {
        self.deadline.map_or(per_attempt, |deadline| {
            per_attempt.min(deadline.saturating_duration_since(Instant::now()))
        })
    }

    /// Adds the provider's delivery id.
    #[must_use]
    pub fn with_delivery_id(mut self, delivery_id: impl Into<Arc<str>>) -> Self {
        self.delivery_id = Some(delivery_id.into());
        self
    }

    /// The request for a queued event.
    pub fn from_event(event: &Event) -> Self {
        let request = Self::new(
            event.alert.clone(),
            event.id.as_str(),
            event.source.as_str(),
        );
        match &event.delivery_id {
            Some(id) => request.with_delivery_id(id.as_str()),
            None => request,
        }
    }

    /// How many HTTP attempts were made with this request and its clones.
    pub fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    pub(crate) fn count_attempt(&self) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
    }

    /// Every attempt made with this request and its clones, in order.
    pub fn tries(&self) -> Vec<Sl1Try> {
        self.tries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Notes one attempt that started at `started`.
    pub(crate) fn record_try(&self, status: Option<u16>, error: Option<String>, started: Instant) {
        let latency = started.elapsed();
        let now_ms = crate::journal::now_ms();
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.tries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Sl1Try {
                time_ms: now_ms.saturating_sub(latency_ms),
                status,
                error,
                latency_ms,
            });
    }
}

/// SL1 accepted the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sl1Response {
    /// 200, 201 or 202.
    pub status: StatusCode,
    /// `X-EM7-status-message`, when SL1 sent one.
    pub em7_message: Option<String>,
}

/// Where and how the client posts: SL1's alert URL and the fixed headers, built once.
#[derive(Clone)]
struct Endpoint {
    url: reqwest::Url,
    headers: HeaderMap,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The headers hold the Basic credentials: never print them.
        f.debug_struct("Endpoint")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    fn new(settings: &WorkerSettings) -> Result<Self, Sl1Error> {
        let url = settings
            .sl1_api_url
            .as_deref()
            .ok_or_else(|| Sl1Error::Config("sl1_api_url is not set".into()))?;
        let mut url = reqwest::Url::parse(url)
            .map_err(|e| Sl1Error::Config(format!("sl1_api_url is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Sl1Error::Config("sl1_api_url must be http or https".into()));
        }
        // Credentials written into the URL are taken out of it (it shows in logs and errors).
        let mut headers = HeaderMap::new();
        let auth = super::basic_auth::take_basic_auth(
            &mut url,
            &settings.sl1_username,
            settings.sl1_password.expose(),
        )
        .map_err(Sl1Error::Config)?;
        if let Some(auth) = auth {
            headers.insert(AUTHORIZATION, auth);
        }
        headers.insert(
            HeaderName::from_static(EM7_GUID_PATHS_HEADER),
            HeaderValue::from_static("1"),
        );
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(Self { url, headers })
    }

    /// The headers of one request: the fixed ones plus the ids of this event.
    fn headers_for(&self, request: &Sl1Request) -> HeaderMap {
        let mut headers = self.headers.clone();
        if let Ok(value) = HeaderValue::from_str(&request.event_id) {
            headers.insert(HeaderName::from_static(EVENT_ID_HEADER), value);
        }
        if let Some(Ok(value)) = request.delivery_id.as_deref().map(HeaderValue::from_str) {
            headers.insert(HeaderName::from_static(DELIVERY_ID_HEADER), value);
        }
        headers
    }
}

/// Turns SL1's answer into success or a typed error, and records it.
fn read_answer(
    request: &Sl1Request,
    status: StatusCode,
    headers: &HeaderMap,
    started: Instant,
) -> Result<Sl1Response, Sl1Error> {
    let em7_message = headers
        .get(EM7_STATUS_MESSAGE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    ::metrics::counter!(metrics::SL1_REQUESTS, "status" => metrics::status_label(status))
        .increment(1);
    ::metrics::histogram!(metrics::SL1_REQUEST_DURATION).record(started.elapsed().as_secs_f64());
    if matches!(status.as_u16(), 200..=202) {
        tracing::debug!(
            event_id = %request.event_id,
            delivery_id = request.delivery_id.as_deref().unwrap_or(""),
            source = %request.source,
            status = status.as_u16(),
            "SL1 accepted the alert."
        );
        return Ok(Sl1Response {
            status,
            em7_message,
        });
    }
    let retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    tracing::warn!(
        event_id = %request.event_id,
        delivery_id = request.delivery_id.as_deref().unwrap_or(""),
        source = %request.source,
        status = status.as_u16(),
        em7_message = em7_message.as_deref().unwrap_or(""),
        "SL1 refused the alert."
    );
    Err(Sl1Error::Status {
        status,
        retry_after,
        em7_message,
    })
}

fn record_failure(request: &Sl1Request, error: &Sl1Error, started: Instant) {
    ::metrics::counter!(metrics::SL1_REQUESTS, "status" => error.metric_status()).increment(1);
    ::metrics::histogram!(metrics::SL1_REQUEST_DURATION).record(started.elapsed().as_secs_f64());
    tracing::warn!(
        event_id = %request.event_id,
        delivery_id = request.delivery_id.as_deref().unwrap_or(""),
        source = %request.source,
        error = %error,
        "SL1 could not be reached."
    );
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The async SL1 client, a `tower::Service<Sl1Request>`. Cheap to clone: clones share one
/// connection pool.
#[derive(Debug, Clone)]
pub struct Sl1Client {
    http: reqwest::Client,
    endpoint: Arc<Endpoint>,
}

impl Sl1Client {
    /// Builds the client from the settings: needs `sl1_api_url`; trusts `sl1_ca_file` in addition
    /// to the built-in roots, and accepts a certificate of that file presented as SL1's own
    /// (see `src/worker/tls.rs`). Reads the CA file once, here.
    ///
    /// # Errors
    /// [`Sl1Error::Config`] when the URL is missing or invalid or the CA file cannot be used.
    pub fn new(settings: &WorkerSettings) -> Result<Self, Sl1Error> {
        let endpoint = Endpoint::new(settings)?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(USER_AGENT)
            .connect_timeout(settings.sl1_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(settings.sl1_max_inflight.max(1));
        if let Some(path) = &settings.sl1_ca_file {
            builder = builder.use_preconfigured_tls(tls::client_config(path)?);
        }
        let http = builder
            .build()
            .map_err(|e| Sl1Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint: Arc::new(endpoint),
        })
    }

    /// The URL alerts are posted to.
    pub fn url(&self) -> &str {
        self.endpoint.url.as_str()
    }
}

// === impl Sl1Client ===

impl Service<Sl1Request> for Sl1Client {
    type Response = Sl1Response;
    type Error = Sl1Error;
    type Future = BoxFuture<'static, Result<Sl1Response, Sl1Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Sl1Request) -> Self::Future {
        let http = self.http.clone();
        let endpoint = Arc::clone(&self.endpoint);
        Box::pin(async move {
            request.count_attempt();
            let started = Instant::now();
            let sent = http
                .post(endpoint.url.clone())
                .headers(endpoint.headers_for(&request))
                .json(&request.alert)
                .send()
                .await;
            let result = match sent {
                Ok(response) => {
                    read_answer(&request, response.status(), response.headers(), started)
                }
                Err(error) => {
                    let error = Sl1Error::from_reqwest(error);
                    record_failure(&request, &error, started);
                    Err(error)
                }
            };
            match &result {
                Ok(answer) => request.record_try(Some(answer.status.as_u16()), None, started),
                Err(error) => {
                    let status = match error {
                        Sl1Error::Status { status, .. } => Some(status.as_u16()),
                        _ => None,
                    };
                    request.record_try(status, Some(error.to_string()), started);
                }
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("soon"), None);
        let past = httpdate::fmt_http_date(std::time::UNIX_EPOCH);
        assert_eq!(parse_retry_after(&past), Some(Duration::ZERO));
    }

    #[test]
    fn client_needs_a_url_and_never_shows_the_password() {
        let mut settings = WorkerSettings::default();
        assert!(matches!(
            Sl1Client::new(&settings),
            Err(Sl1Error::Config(_))
        ));
        settings.sl1_api_url = Some("ftp://sl1/api/alert".into());
        assert!(Sl1Client::new(&settings).is_err());
        settings.sl1_api_url = Some("https://sl1.invalid/api/alert".into());
        settings.sl1_password = genhook_core::Secret::new("hunter2");
        let client = Sl1Client::new(&settings).unwrap();
        let debug = format!("{client:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("Basic"),
            "{debug}"
        );
    }

    #[tokio::test]
    async fn credentials_in_the_url_become_basic_auth_and_never_show() {
        // A port nothing listens on: the send fails and its error names the URL.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let settings = WorkerSettings {
            sl1_api_url: Some(format!(
                "http://em7admin:hunter%402@127.0.0.1:{port}/api/alert"
            )),
            ..WorkerSettings::default()
        };
        let client = Sl1Client::new(&settings).unwrap();
        assert_eq!(client.url(), format!("http://127.0.0.1:{port}/api/alert"));
        let auth = client.endpoint.headers[AUTHORIZATION].to_str().unwrap();
        let expected = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "em7admin:hunter@2",
        );
        assert_eq!(auth, format!("Basic {expected}"));
        assert!(!format!("{client:?}").contains("hunter"));
        let alert = genhook_core::AlertDefaults::default().alert("m");
        let error = tower::ServiceExt::oneshot(client, Sl1Request::new(alert, "e1", "github"))
            .await
            .unwrap_err();
        let text = format!("{error} {:?}", std::error::Error::source(&error));
        assert!(text.contains("127.0.0.1"), "{text}");
        assert!(!text.contains("hunter"), "{text}");
    }

    #[test]
    fn missing_ca_file_is_a_config_error() {
        let settings = WorkerSettings {
            sl1_api_url: Some("https://sl1.invalid/api/alert".into()),
            sl1_ca_file: Some("/nonexistent/ca.pem".into()),
            ..WorkerSettings::default()
        };
        let error = Sl1Client::new(&settings).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/ca.pem"), "{error}");
    }
}
