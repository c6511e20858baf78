//! [`Config`]: the typed, validated environment configuration.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use genhook_core::Secret;
use genhook_core::Span;

use super::choices::{LogFormat, LogLevel, LogRotation, QueueBackend, ThreadingModel};
use super::defaults;
use super::origin::{Origin, Origins};

/// GenHook's environment configuration: every key of the INI file, typed and validated.
///
/// Field names are the canonical key names (aliases resolve to them). Build one with
/// [`Config::load`] or [`Config::defaults`]; the defaults are listed in
/// [`defaults`](super::defaults). `Debug` never shows `sl1_password` or `admin_token`.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// The file the configuration was read from; `None` for built-in defaults.
    pub file: Option<PathBuf>,
    /// `server_host`: address to listen on.
    pub server_host: String,
    /// `server_port`: TCP port to listen on (0: any free port).
    pub server_port: u16,
    /// `ssl_enabled`: serve HTTPS with `ssl_cert_path` and `ssl_key_path`.
    pub ssl_enabled: bool,
    /// `ssl_cert_path`: PEM certificate chain (required, and must exist, when `ssl_enabled`).
    pub ssl_cert_path: Option<PathBuf>,
    /// `ssl_key_path`: PEM private key (required, and must exist, when `ssl_enabled`).
    pub ssl_key_path: Option<PathBuf>,
    /// `ssl_client_ca`: PEM bundle of the CAs whose client certificates are accepted; when set,
    /// every client must present one (mutual TLS). Must exist and hold a certificate.
    pub ssl_client_ca: Option<PathBuf>,
    /// `sl1_api_url`: SL1's alert endpoint; `None` sends alerts to the log and `data_dir/outbox.jsonl`.
    pub sl1_api_url: Option<reqwest::Url>,
    /// `sl1_graphql_url`: SL1's GraphQL endpoint (event policies); `None` derives it from
    /// `sl1_api_url` ([`defaults::sl1_graphql_url`]).
    pub sl1_graphql_url: Option<reqwest::Url>,
    /// `sl1_username`: Basic auth user.
    pub sl1_username: Option<String>,
    /// `sl1_password`: Basic auth password (prefer `GENHOOK_SL1_PASSWORD`).
    pub sl1_password: Option<Secret>,
    /// `sl1_timeout`: timeout of one SL1 attempt.
    pub sl1_timeout: Duration,
    /// `sl1_retry_attempts` (alias `retry_max_attempts`): retries after the first attempt.
    pub sl1_retry_attempts: u32,
    /// `sl1_ca_file`: extra PEM CA certificate(s) trusted for SL1 (must exist).
    pub sl1_ca_file: Option<PathBuf>,
    /// `sl1_breaker_threshold`: consecutive failures that open the circuit breaker.
    pub sl1_breaker_threshold: u32,
    /// `sl1_breaker_cooldown`: how long the breaker stays open before a half-open probe.
    pub sl1_breaker_cooldown: Duration,
    /// `max_worker_threads` (alias `max_threads`): the OS threads of `thread_pool`; in every
    /// model, the deliveries in flight the adaptive limit starts at.
    pub max_worker_threads: usize,
    /// `sl1_max_inflight`: the most SL1 deliveries in flight at once (the adaptive limit's top).
    pub sl1_max_inflight: usize,
    /// `queue_max_size` (alias `queue_size`): events the queue holds before answering 503;
    /// `None` (the default): no count bound, only `queue_max_bytes`.
    pub queue_max_size: Option<usize>,
    /// `queue_max_bytes`: bytes of events the queue holds before answering 503 (`1GiB`,
    /// `512MiB`, plain bytes); `None`: the backend's default (1 GiB for `disk` and `redis`,
    /// 256 MiB for `memory`).
    pub queue_max_bytes: Option<u64>,
    /// `processing_timeout` (alias `thread_timeout`): time limit for delivering one event, all attempts included.
    pub processing_timeout: Duration,
    /// `shutdown_grace_period`: how long shutdown drains the queue.
    pub shutdown_grace_period: Duration,
    /// `<source>_max_concurrent`: SL1 deliveries in flight per source, by source name.
    pub max_concurrent: BTreeMap<String, usize>,
    /// `log_level`.
    pub log_level: LogLevel,
    /// `log_file`: `None` logs to stderr.
    pub log_file: Option<PathBuf>,
    /// `log_max_size`: bytes after which the log file is rotated (0: no size rotation).
    pub log_max_size: u64,
    /// `log_rotation`: time-based rotation of the log file.
    pub log_rotation: LogRotation,
    /// `log_format`: `text` (human-readable lines) or `json` (one object per line).
    pub log_format: LogFormat,
    /// `log_max_files`: rotated files of `log_file` kept; older ones are deleted at rotation
    /// (0: keep all).
    pub log_max_files: usize,
    /// `mappings_dir`: directory of mapping files.
    pub mappings_dir: PathBuf,
    /// `data_dir`: queue store, dead letters and `outbox.jsonl`.
    pub data_dir: PathBuf,
    /// `queue_backend`.
    pub queue_backend: QueueBackend,
    /// `redis_url`: the Redis server of the `redis` backend.
    pub redis_url: reqwest::Url,
    /// `redis_claim_idle`: a Redis stream entry pending this long on a dead consumer is claimed.
    pub redis_claim_idle: Duration,
    /// `redis_prefix`: the prefix of every Redis key, so that several GenHook clusters can share
    /// one Redis.
    pub redis_prefix: String,
    /// `admin_token`: bearer token of `/admin/...`; `None` turns the admin API off.
    pub admin_token: Option<Secret>,
    /// `threading_model`.
    pub threading_model: ThreadingModel,
    /// `max_body_size`: largest accepted request body, in bytes (413 above).
    pub max_body_size: u64,
    /// `dlq_alert_threshold`: dead letters above which a warning is logged and `/readyz` reports it.
    pub dlq_alert_threshold: u64,
    /// `header_read_timeout`: time allowed to receive a request's headers.
    pub header_read_timeout: Duration,
    /// `request_timeout`: time allowed for a whole request (body included).
    pub request_timeout: Duration,
    /// `idle_timeout`: a connection with no request in flight for this long is closed (HTTP/1
    /// keep-alive; HTTP/2 gets a GOAWAY).
    pub idle_timeout: Duration,
    /// `http2_keep_alive_interval`: an HTTP/2 connection is pinged this often and closed when a
    /// ping is not acknowledged within the same time.
    pub http2_keep_alive_interval: Duration,
    /// `max_connections`: open connections beyond which new ones are closed at once; `None`
    /// derives it from the descriptor limit ([`Config::connection_limit`]).
    pub max_connections: Option<usize>,
    /// `max_inflight_body_bytes`: request body bytes held at once by the requests in flight,
    /// beyond which new bodies get `503`; `None`: [`Config::inflight_body_limit`].
    pub max_inflight_body_bytes: Option<u64>,
    /// `reload`: watch the config and mapping files and reload on change and on SIGHUP.
    pub reload: bool,
    /// Where each key that is not at its default was set (canonical names).
    pub(crate) origins: Origins,
    /// Warnings found while loading (an alias pair naming one value, an unknown `GENHOOK_*`
    /// variable); [`Config::warnings`] lists them.
    pub(crate) notices: Notices,
    /// What reading the Python predecessor's `app-config.ini` did (a key renamed, a key or
    /// section with no equivalent): reported once, with [`Config::warnings`].
    pub(crate) predecessor_notices: Vec<genhook_core::Diagnostic>,
}

impl Config {
    /// The address to bind, `host:port` (IPv6 hosts are bracketed).
    pub fn listen_addr(&self) -> String {
        if self.server_host.contains(':') && !self.server_host.starts_with('[') {
            format!("[{}]:{}", self.server_host, self.server_port)
        } else {
            format!("{}:{}", self.server_host, self.server_port)
        }
    }

    /// The certificate and key files to serve HTTPS with: `Some` when `ssl_enabled` (load
    /// has checked that both are set and exist).
    pub fn tls_files(&self) -> Option<(PathBuf, PathBuf)> {
        if !self.ssl_enabled {
            return None;
        }
        Some((self.ssl_cert_path.clone()?, self.ssl_key_path.clone()?))
    }

    /// `max_connections`, or when unset the default derived from the process's descriptor limit
    /// (see [`defaults::max_connections`](super::defaults::max_connections)).
    pub fn connection_limit(&self) -> usize {
        self.max_connections
            .unwrap_or_else(super::defaults::max_connections)
    }

    /// `max_inflight_body_bytes`, or when unset [`MAX_INFLIGHT_BODY_BYTES`](super::defaults::MAX_INFLIGHT_BODY_BYTES)
    /// raised to `max_body_size` (one body of the largest size must always fit).
    pub fn inflight_body_limit(&self) -> u64 {
        self.max_inflight_body_bytes
            .unwrap_or_else(|| super::defaults::MAX_INFLIGHT_BODY_BYTES.max(self.max_body_size))
    }

    /// The configured concurrency limit of a source's SL1 deliveries, if any.
    pub fn max_concurrent_for(&self, source: &str) -> Option<usize> {
        self.max_concurrent.get(source).copied()
    }

    /// Where a key (canonical name, or `<source>_max_concurrent`) was set in the configuration
    /// file; `None` when it comes from the defaults or the environment.
    pub fn span_of(&self, key: &str) -> Option<&Span> {
        match self.origins.0.get(key) {
            Some(Origin::File { span, .. }) => Some(span),
            _ => None,
        }
    }

    /// Where alerts go when `sl1_api_url` is unset: `data_dir/outbox.jsonl`.
    pub fn outbox_path(&self) -> PathBuf {
        self.data_dir.join(super::defaults::OUTBOX_FILE)
    }
}

impl fmt::Debug for Config {
    /// Every setting except the secrets' values (`Secret` prints `<redacted>`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("file", &self.file)
            .field("server_host", &self.server_host)
            .field("server_port", &self.server_port)
            .field("ssl_enabled", &self.ssl_enabled)
            .field("ssl_cert_path", &self.ssl_cert_path)
            .field("ssl_key_path", &self.ssl_key_path)
            .field("ssl_client_ca", &self.ssl_client_ca)
            .field("sl1_api_url", &self.sl1_api_url.as_ref().map(redacted_url))
            .field(
                "sl1_graphql_url",
                &self.sl1_graphql_url.as_ref().map(redacted_url),
            )
            .field("sl1_username", &self.sl1_username)
            .field("sl1_password", &self.sl1_password)
            .field("sl1_timeout", &self.sl1_timeout)
            .field("sl1_retry_attempts", &self.sl1_retry_attempts)
            .field("sl1_ca_file", &self.sl1_ca_file)
            .field("sl1_breaker_threshold", &self.sl1_breaker_threshold)
            .field("sl1_breaker_cooldown", &self.sl1_breaker_cooldown)
            .field("max_worker_threads", &self.max_worker_threads)
            .field("sl1_max_inflight", &self.sl1_max_inflight)
            .field("queue_max_size", &self.queue_max_size)
            .field("queue_max_bytes", &self.queue_max_bytes)
            .field("processing_timeout", &self.processing_timeout)
            .field("shutdown_grace_period", &self.shutdown_grace_period)
            .field("max_concurrent", &self.max_concurrent)
            .field("log_level", &self.log_level)
            .field("log_file", &self.log_file)
            .field("log_max_size", &self.log_max_size)
            .field("log_rotation", &self.log_rotation)
            .field("log_format", &self.log_format)
            .field("log_max_files", &self.log_max_files)
            .field("mappings_dir", &self.mappings_dir)
            .field("data_dir", &self.data_dir)
            .field("queue_backend", &self.queue_backend)
            .field("redis_url", &redacted_url(&self.redis_url))
            .field("redis_claim_idle", &self.redis_claim_idle)
            .field("redis_prefix", &self.redis_prefix)
            .field("admin_token", &self.admin_token)
            .field("threading_model", &self.threading_model)
            .field("max_body_size", &self.max_body_size)
            .field("dlq_alert_threshold", &self.dlq_alert_threshold)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("http2_keep_alive_interval", &self.http2_keep_alive_interval)
            .field("max_connections", &self.max_connections)
            .field("max_inflight_body_bytes", &self.max_inflight_body_bytes)
            .field("reload", &self.reload)
            .finish_non_exhaustive()
    }
}

/// Warnings found while loading. Like [`Origins`], never part of a comparison: two loads of
/// the same settings are equal.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notices(pub(crate) Vec<genhook_core::Diagnostic>);

impl PartialEq for Notices {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

/// A URL with any password replaced (`redis://:pw@host` is a common form).
pub(crate) fn redacted_url(url: &reqwest::Url) -> String {
    if url.password().is_some() {
        let mut shown = url.clone();
        // Cannot fail: a URL that has a password can have it replaced.
        let _ = shown.set_password(Some("redacted"));
        shown.to_string()
    } else {
        url.to_string()
    }
}

impl Config {
    /// The built-in defaults (what `genhook serve` uses with no `genhook.ini`).
    pub fn defaults() -> Self {
        Self {
            file: None,
            server_host: defaults::SERVER_HOST.to_owned(),
            server_port: defaults::SERVER_PORT,
            ssl_enabled: false,
            ssl_cert_path: None,
            ssl_key_path: None,
            ssl_client_ca: None,
            sl1_api_url: None,
            sl1_graphql_url: None,
            sl1_username: None,
            sl1_password: None,
            sl1_timeout: defaults::SL1_TIMEOUT,
            sl1_retry_attempts: defaults::SL1_RETRY_ATTEMPTS,
            sl1_ca_file: None,
            sl1_breaker_threshold: defaults::SL1_BREAKER_THRESHOLD,
            sl1_breaker_cooldown: defaults::SL1_BREAKER_COOLDOWN,
            max_worker_threads: defaults::MAX_WORKER_THREADS,
            sl1_max_inflight: defaults::SL1_MAX_INFLIGHT,
            queue_max_size: None,
            queue_max_bytes: None,
            processing_timeout: defaults::PROCESSING_TIMEOUT,
            shutdown_grace_period: defaults::SHUTDOWN_GRACE_PERIOD,
            max_concurrent: BTreeMap::new(),
            log_level: defaults::LOG_LEVEL,
            log_file: None,
            log_max_size: defaults::LOG_MAX_SIZE,
            log_rotation: defaults::LOG_ROTATION,
            log_format: defaults::LOG_FORMAT,
            log_max_files: defaults::LOG_MAX_FILES,
            mappings_dir: PathBuf::from(defaults::MAPPINGS_DIR),
            data_dir: PathBuf::from(defaults::DATA_DIR),
            queue_backend: defaults::QUEUE_BACKEND,
            redis_url: defaults::default_redis_url(),
            redis_claim_idle: defaults::REDIS_CLAIM_IDLE,
            redis_prefix: defaults::REDIS_PREFIX.to_owned(),
            admin_token: None,
            threading_model: defaults::THREADING_MODEL,
            max_body_size: defaults::MAX_BODY_SIZE,
            dlq_alert_threshold: defaults::DLQ_ALERT_THRESHOLD,
            header_read_timeout: defaults::HEADER_READ_TIMEOUT,
            request_timeout: defaults::REQUEST_TIMEOUT,
            idle_timeout: defaults::IDLE_TIMEOUT,
            http2_keep_alive_interval: defaults::HTTP2_KEEP_ALIVE_INTERVAL,
            max_connections: None,
            max_inflight_body_bytes: None,
            reload: defaults::RELOAD,
            origins: Origins::default(),
            notices: Notices::default(),
            predecessor_notices: Vec::new(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::defaults()
    }
}
