//! A real SL1 on loopback: an HTTP/1.1 + HTTP/2 server (hyper) on `127.0.0.1:0`, optionally TLS,
//! that answers `POST /api/alert` (any path, in fact) from a script and records every request.
//!
//! ```ignore
//! mod support;
//! use support::sl1_mock::{Answer, Sl1Mock};
//!
//! let sl1 = Sl1Mock::builder()
//!     .answer(Answer::status(500))          // first request
//!     .answer(Answer::created())            // second request
//!     .default_answer(Answer::created())    // every later one (201 unless set)
//!     .start()
//!     .await;
//! // point GenHook at sl1.url() (http://127.0.0.1:PORT/api/alert) ...
//! let requests = sl1.wait_for_requests(2, Duration::from_secs(10)).await;
//! assert_eq!(requests[1].basic_auth(), Some(("user".into(), "pass".into())));
//! assert_eq!(requests[1].message(), Some("GitHub opened on repo: \"Fix\""));
//! ```
//!
//! Answers: [`Answer::status`] (any status; [`Answer::created`], [`Answer::ok`] and
//! [`Answer::accepted`] name SL1's three success answers) with optional
//! [`delay`](Answer::delay) (a slow SL1; [`Answer::held`] answers only after the test is over),
//! [`retry_after`](Answer::retry_after), [`em7_message`](Answer::em7_message)
//! (`X-EM7-status-message`), or [`Answer::hang_up`] (the connection is closed without an answer,
//! as a crashing SL1 would). The script can be changed while running
//! ([`Sl1Mock::push_answer`], [`Sl1Mock::set_default`]), e.g. to take SL1 "down" and back.
//!
//! HTTPS: [`TestPki::generate`] makes a CA and a server certificate for `127.0.0.1`/`localhost`;
//! pass [`TestPki::identity`] to [`Sl1MockBuilder::tls`] and trust [`TestPki::ca_pem`] in the
//! client (`sl1_ca_file`). [`TestPki::self_signed_ca`] makes SL1's usual certificate instead: one
//! self-signed `CA:TRUE` certificate served as the server's own.
//!
//! Requests are recorded on arrival (before any delay), with the answer chosen for them;
//! [`Sl1Mock::max_in_flight`] tells the most requests it was answering at once (since the start
//! or the last [`Sl1Mock::reset_max_in_flight`]), [`Sl1Mock::in_flight`] how many now.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// How long [`Answer::held`] waits before answering: ten minutes.
pub const HELD: Duration = Duration::from_secs(600);

/// What the mock answers to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status (ignored with `hang_up`).
    pub status: u16,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// `Retry-After` header value.
    pub retry_after: Option<String>,
    /// `X-EM7-status-message` header value.
    pub em7_message: Option<String>,
    /// Close the connection without answering.
    pub hang_up: bool,
    /// The body to answer with (`{}` when unset).
    pub body: Option<Bytes>,
    /// Wait for [`Sl1Mock::open_gate`] before answering.
    pub gated: bool,
}

impl Answer {
    /// Answers with `status` and a small JSON body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            delay: None,
            retry_after: None,
            em7_message: None,
            hang_up: false,
            body: None,
            gated: false,
        }
    }

    /// `201 Created`, what SL1 answers to a new alert.
    pub fn created() -> Self {
        Self::status(201)
    }

    /// `200 OK`: some SL1 versions answer a new alert with it; GenHook counts it as delivered.
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// `202 Accepted`: SL1 took the alert for later processing; counted as delivered too.
    pub fn accepted() -> Self {
        Self::status(202)
    }

    /// `201`, but only after [`HELD`]: longer than any test runs, so the delivery stays in
    /// flight (a worker busy, its event held in the queue) for the rest of the test.
    pub fn held() -> Self {
        Self::created().delay(HELD)
    }

    /// `201`, but only once [`Sl1Mock::open_gate`] is called: a delivery held until the test
    /// makes room, whatever the machine's speed.
    pub fn gated() -> Self {
        Self {
            gated: true,
            ..Self::created()
        }
    }

    /// Closes the connection without an answer.
    pub fn hang_up() -> Self {
        Self {
            hang_up: true,
            ..Self::status(0)
        }
    }

    /// Waits `delay` before answering (a slow SL1).
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Adds `Retry-After: <seconds>`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.to_string());
        self
    }

    /// Adds `X-EM7-status-message: <text>`.
    #[must_use]
    pub fn em7_message(mut self, text: &str) -> Self {
        self.em7_message = Some(text.to_owned());
        self
    }

    /// Answers with this body instead of `{}` (e.g. a certificate, when the mock plays another
    /// HTTPS server than SL1).
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    fn is_success(&self) -> bool {
        !self.hang_up && (200..300).contains(&self.status)
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The method (GenHook sends `POST`).
    pub method: Method,
    /// The path and query (e.g. `/api/alert`).
    pub path: String,
    /// Every header.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
    /// The body as JSON, when it is JSON.
    pub json: Option<serde_json::Value>,
    /// What the mock answered.
    pub answer: Answer,
}

impl RecordedRequest {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Authorization: Basic …` decoded into (user, password).
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let value = self.header("authorization")?;
        let encoded = value.strip_prefix("Basic ")?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        Some((user.to_owned(), password.to_owned()))
    }

    /// The alert's `message` field.
    pub fn message(&self) -> Option<&str> {
        self.json.as_ref()?.get("message")?.as_str()
    }

    /// A field of the JSON body as text.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.json.as_ref()?.get(name)?.as_str()
    }

    /// Whether the mock answered it with a 2xx.
    pub fn accepted(&self) -> bool {
        self.answer.is_success()
    }
}

/// A certificate chain and its private key for the HTTPS mock.
#[derive(Debug)]
pub struct TlsIdentity {
    /// The server certificate first, then intermediates.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// The server's private key.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for TlsIdentity {
    fn clone(&self) -> Self {
        Self {
            cert_chain: self.cert_chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// A throw-away PKI: a CA and a server certificate it signed for `127.0.0.1` and `localhost`.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The CA certificate (PEM): what the client must trust.
    pub ca_pem: String,
    /// The server's certificate and key.
    pub identity: TlsIdentity,
}

impl TestPki {
    /// Generates a fresh CA and server certificate.
    pub fn generate() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "GenHook test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let mut leaf_params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "sl1.test");
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        Self {
            ca_pem: ca.pem(),
            identity: TlsIdentity {
                cert_chain: vec![leaf.der().clone()],
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            },
        }
    }

    /// One self-signed certificate marked `CA:TRUE` for `names` (IP addresses or DNS names, in
    /// the subjectAltName), served as the server's own, as `openssl req -x509 …` makes it and SL1
    /// appliances ship it: [`ca_pem`](Self::ca_pem) is that same certificate.
    pub fn self_signed_ca(names: &[&str]) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "sl1");
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self {
            ca_pem: cert.pem(),
            identity: TlsIdentity {
                cert_chain: vec![cert.der().clone()],
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            },
        }
    }

    /// The server identity, for [`Sl1MockBuilder::tls`].
    pub fn identity(&self) -> TlsIdentity {
        self.identity.clone()
    }
}

#[derive(Debug)]
struct State {
    script: Mutex<VecDeque<Answer>>,
    default: Mutex<Answer>,
    requests: Mutex<Vec<RecordedRequest>>,
    arrived: Notify,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    gate: tokio::sync::watch::Sender<bool>,
}

impl State {
    fn next_answer(&self) -> Answer {
        let scripted = self.script.lock().unwrap().pop_front();
        scripted.unwrap_or_else(|| self.default.lock().unwrap().clone())
    }
}

/// Builds an [`Sl1Mock`].
#[derive(Debug)]
pub struct Sl1MockBuilder {
    script: VecDeque<Answer>,
    default: Answer,
    tls: Option<TlsIdentity>,
}

impl Sl1MockBuilder {
    /// Queues the answer to the next request not yet scripted.
    #[must_use]
    pub fn answer(mut self, answer: Answer) -> Self {
        self.script.push_back(answer);
        self
    }

    /// Queues several answers, in order.
    #[must_use]
    pub fn answers(mut self, answers: impl IntoIterator<Item = Answer>) -> Self {
        self.script.extend(answers);
        self
    }

    /// The answer once the script is used up (`201` unless set).
    #[must_use]
    pub fn default_answer(mut self, answer: Answer) -> Self {
        self.default = answer;
        self
    }

    /// Serves HTTPS with this identity.
    #[must_use]
    pub fn tls(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start(self) -> Sl1Mock {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            script: Mutex::new(self.script),
            default: Mutex::new(self.default),
            requests: Mutex::new(Vec::new()),
            arrived: Notify::new(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            gate: tokio::sync::watch::Sender::new(false),
        });
        let tls = self.tls.map(|identity| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(identity.cert_chain, identity.key)
                .unwrap();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            tokio_rustls::TlsAcceptor::from(Arc::new(config))
        });
        let scheme = if tls.is_some() { "https" } else { "http" };
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state), tls));
        Sl1Mock {
            addr,
            scheme,
            state,
            task,
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = Arc::clone(&state);
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { handle(state, request).await }
            });
            let builder = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
                None => {
                    let _ = builder
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}

/// The error that makes hyper drop a connection without answering.
#[derive(Debug)]
struct HangUp;

impl std::fmt::Display for HangUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("hang up")
    }
}

impl std::error::Error for HangUp {}

/// Counts a request as being answered until dropped (also when the client gives up first).
struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn enter(state: &'a State) -> Self {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, HangUp> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let answer = state.next_answer();
    state.requests.lock().unwrap().push(RecordedRequest {
        method: parts.method,
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), ToString::to_string),
        headers: parts.headers,
        json: serde_json::from_slice(&body).ok(),
        body,
        answer: answer.clone(),
    });
    state.arrived.notify_waiters();
    let _answering = InFlight::enter(&state);
    if let Some(delay) = answer.delay {
        tokio::time::sleep(delay).await;
    }
    if answer.gated {
        let _ = state.gate.subscribe().wait_for(|open| *open).await;
    }
    if answer.hang_up {
        return Err(HangUp);
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = answer
        .body
        .clone()
        .unwrap_or_else(|| Bytes::from_static(b"{}"));
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", "application/json".parse().unwrap());
    if let Some(value) = answer.retry_after.as_deref().and_then(|v| v.parse().ok()) {
        headers.insert("retry-after", value);
    }
    if let Some(value) = answer.em7_message.as_deref().and_then(|v| v.parse().ok()) {
        headers.insert("x-em7-status-message", value);
    }
    Ok(response)
}

/// A running SL1 mock. Stops when dropped.
#[derive(Debug)]
pub struct Sl1Mock {
    addr: SocketAddr,
    scheme: &'static str,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Sl1Mock {
    /// A builder: no script, default answer `201`, plain HTTP.
    pub fn builder() -> Sl1MockBuilder {
        Sl1MockBuilder {
            script: VecDeque::new(),
            default: Answer::created(),
            tls: None,
        }
    }

    /// A mock that answers `201` to everything.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// A mock that holds every delivery ([`Answer::held`]): the events stay in flight.
    pub async fn holding() -> Self {
        Self::builder().default_answer(Answer::held()).start().await
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The alert URL, `http(s)://127.0.0.1:PORT/api/alert` (what `sl1_api_url` should be).
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}/api/alert", self.scheme, self.addr.port())
    }

    /// The alert URL with `localhost` as host (for certificate-name checks).
    pub fn url_localhost(&self) -> String {
        format!("{}://localhost:{}/api/alert", self.scheme, self.addr.port())
    }

    /// Queues the answer to the next request not yet scripted.
    pub fn push_answer(&self, answer: Answer) {
        self.state.script.lock().unwrap().push_back(answer);
    }

    /// Changes the answer given once the script is used up (e.g. `Answer::status(503)` to take
    /// SL1 down, `Answer::created()` to bring it back).
    pub fn set_default(&self, answer: Answer) {
        *self.state.default.lock().unwrap() = answer;
    }

    /// Answers every [`Answer::gated`] request, held and to come.
    pub fn open_gate(&self) {
        self.state.gate.send_replace(true);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many requests arrived.
    pub fn request_count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// The most requests it was answering at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// The requests it is answering now.
    pub fn in_flight(&self) -> usize {
        self.state.in_flight.load(Ordering::SeqCst)
    }

    /// Starts [`max_in_flight`](Self::max_in_flight) again from the requests in flight now, to
    /// watch one period of a test.
    pub fn reset_max_in_flight(&self) {
        let now = self.state.in_flight.load(Ordering::SeqCst);
        self.state.max_in_flight.store(now, Ordering::SeqCst);
    }

    /// The requests it answered with a 2xx.
    pub fn accepted(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.accepted())
            .collect()
    }

    /// Waits until at least `n` requests arrived and returns them all; panics after `timeout`
    /// (wall clock: do not use with a paused tokio clock).
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        self.wait_until(timeout, |requests| requests.len() >= n)
            .await
            .unwrap_or_else(|got| panic!("SL1 mock: wanted {n} requests, got {got}"))
    }

    /// Waits until at least `n` requests were answered with a 2xx and returns those.
    pub async fn wait_for_accepted(&self, n: usize, timeout: Duration) -> Vec<RecordedRequest> {
        self.wait_until(timeout, |requests| {
            requests.iter().filter(|r| r.accepted()).count() >= n
        })
        .await
        .unwrap_or_else(|got| panic!("SL1 mock: wanted {n} accepted requests, got {got} requests"));
        self.accepted()
    }

    async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[RecordedRequest]) -> bool,
    ) -> Result<Vec<RecordedRequest>, usize> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let arrived = self.state.arrived.notified();
            {
                let requests = self.state.requests.lock().unwrap();
                if done(&requests) {
                    return Ok(requests.clone());
                }
                if std::time::Instant::now() >= deadline {
                    return Err(requests.len());
                }
            }
            // Poll at least every 50 ms (wall clock), in case a notification was missed.
            let _ = tokio::time::timeout(Duration::from_millis(50), arrived).await;
        }
    }

    /// Stops accepting connections: new ones are refused (SL1 "down" at the TCP level), but
    /// keep-alive connections already open are still answered. To take SL1 down for a pooled
    /// client, prefer `set_default(Answer::hang_up())` or a 503.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Sl1Mock {
    fn drop(&mut self) {
        self.task.abort();
    }
}
