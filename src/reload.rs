//! Hot reload: on SIGHUP, or when the configuration file or a file of the mappings directory
//! changes, read both again and swap in what can change live. A file that fails validation never
//! replaces a working one: its problems are logged (`FILE:LINE: message`) and the service keeps
//! running on what it had.
//!
//! | applied at once | needs a restart (a warning names each changed key) |
//! |---|---|
//! | the mappings (stacks swapped whole), a section's `max_concurrent` | `server_host`, `server_port`, `ssl_*` (the settings), `header_read_timeout`, `request_timeout` |
//! | the certificate and key in the `ssl_cert_path` / `ssl_key_path` files (new handshakes) | |
//! | `max_inflight_body_bytes` (new bodies; those in flight keep their bytes) | `idle_timeout`, `http2_keep_alive_interval`, `max_connections` |
//! | `sl1_api_url`, `sl1_username`, `sl1_password`, `sl1_timeout`, `sl1_retry_attempts`, `sl1_ca_file` | `queue_backend`, `queue_max_size`, `queue_max_bytes`, `data_dir`, `redis_url`, `redis_claim_idle` |
//! | `sl1_breaker_threshold`, `sl1_breaker_cooldown`, `<source>_max_concurrent`, `sl1_max_inflight` | `threading_model`, `max_worker_threads`, `shutdown_grace_period` |
//! | `max_body_size`, `processing_timeout`, `dlq_alert_threshold` | `mappings_dir`, `admin_token`, `sl1_graphql_url`, `reload`, `log_file`, `log_max_size`, `log_rotation`, `log_max_files`, `log_format` |
//! | `log_level` (when the binary set up logging; else it needs a restart) | |
//!
//! The HTTPS certificate and key files are watched too: a new pair is served to new handshakes
//! while open connections keep theirs; a pair that does not load (unreadable, or a key that does
//! not fit) is refused with an error line and the pair in use stays.
//!
//! SL1 settings take effect for the next event: the workers read their delivery target through
//! an `ArcSwap`, so events in flight finish on the old client. The circuit breaker is kept when
//! `sl1_api_url` and the breaker settings are unchanged, and each source's concurrency semaphore
//! when its limit is unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use crate::config::{Config, LogLevel};
use crate::loader::{EnvLookup, Loader};
use crate::server::{AppState, ServerCerts};
use crate::worker::WorkerControl;

/// How often the mappings directory and the configuration file are looked at.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Changes the log level of the running subscriber (set by the binary, which owns logging).
pub type LogLevelSetter = Arc<dyn Fn(LogLevel) + Send + Sync>;

/// What one reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// `Some(true)`: the configuration file was read and taken; `Some(false)`: it did not
    /// validate and the one in use was kept; `None`: there is no configuration file.
    pub config: Option<bool>,
    /// Whether the mappings were taken.
    pub mappings: bool,
    /// Keys whose new value needs a restart (the running value stays).
    pub restart_needed: Vec<&'static str>,
    /// Whether the delivery settings could not be applied (e.g. an unreadable `sl1_ca_file`).
    pub delivery_refused: bool,
    /// `None`: no HTTPS; `Some(true)`: the certificate files were read and the pair is served
    /// (new or the same); `Some(false)`: they did not load and the pair in use was kept.
    pub tls: Option<bool>,
}

impl Reloaded {
    /// Whether everything read was taken (keys that need a restart aside).
    pub fn all_taken(&self) -> bool {
        self.config != Some(false)
            && self.mappings
            && !self.delivery_refused
            && self.tls != Some(false)
    }
}

/// Everything a reload reads and changes. Cheap to clone.
#[derive(Clone)]
pub struct Reloader {
    inner: Arc<Inner>,
}

struct Inner {
    loader: Loader,
    state: AppState,
    workers: WorkerControl,
    env: EnvLookup,
    log_level: Option<LogLevelSetter>,
    /// The HTTPS certificate served, when `ssl_enabled`.
    tls: Option<Arc<ServerCerts>>,
    /// The configuration GenHook started with: restart-only keys are compared with it.
    started: Config,
    /// The configuration in use (its live keys applied).
    current: Mutex<Config>,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("loader", &self.inner.loader)
            .field("config_file", &self.inner.started.file)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// A reloader over what [`Builder::start`](crate::app::Builder::start) built.
    pub fn new(
        loader: Loader,
        state: AppState,
        workers: WorkerControl,
        env: EnvLookup,
        log_level: Option<LogLevelSetter>,
        tls: Option<Arc<ServerCerts>>,
        config: Config,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                loader,
                state,
                workers,
                env,
                log_level,
                tls,
                current: Mutex::new(config.clone()),
                started: config,
            }),
        }
    }

    /// The configuration file, if GenHook was started from one.
    pub fn config_file(&self) -> Option<&Path> {
        self.inner.started.file.as_deref()
    }

    /// The files whose change means a reload, besides the mappings directory: the
    /// configuration file and the HTTPS certificate and key.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let tls = self.inner.tls.iter().flat_map(|certs| certs.files());
        self.config_file()
            .into_iter()
            .chain(tls)
            .map(Path::to_owned)
            .collect()
    }

    /// The configuration in use now.
    pub fn config(&self) -> Config {
        self.current().clone()
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Config> {
        self.inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Reloads once (blocking file I/O): the configuration file, then the mappings, then applies
    /// the live settings. Logs what was refused and which keys need a restart.
    pub fn reload_now(&self) -> Reloaded {
        let mut report = Reloaded::default();
        if let Some(file) = self.config_file() {
            let env = &*self.inner.env;
            match Config::load(Some(file), &|name: &str| env(name)) {
                Ok(config) => {
                    report.restart_needed = restart_needed(
                        &self.inner.started,
                        &config,
                        self.inner.log_level.is_some(),
                    );
                    for key in &report.restart_needed {
                        tracing::warn!(key, "Configuration key changed; restart GenHook to apply.");
                    }
                    *self.current() = config;
                    report.config = Some(true);
                }
                Err(problems) => {
                    for problem in &problems {
                        tracing::error!(%problem, "Configuration problem.");
                    }
                    tracing::error!(
                        problems = problems.len(),
                        "Reload refused: the configuration file does not validate; keeping the one in use."
                    );
                    report.config = Some(false);
                }
            }
        }
        report.mappings = reload_mappings(&self.inner.loader, &self.inner.state);
        report.delivery_refused = !self.apply();
        report.tls = self.inner.tls.as_deref().map(reload_certificate);
        report
    }

    /// Applies the live keys of the configuration in use, and the mappings' `max_concurrent`.
    /// Whether the delivery settings were taken.
    fn apply(&self) -> bool {
        let config = self.config();
        let state = &self.inner.state;
        state.set_max_body_size(crate::app::settings::body_limit(&config));
        state.body_budget().set_limit(config.inflight_body_limit());
        if let Some(set_level) = &self.inner.log_level {
            set_level(config.log_level);
        }
        let settings = crate::app::settings::worker_settings(&config, &state.stacks());
        match self.inner.workers.reconfigure(settings) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, "Cannot apply the new SL1 settings; keeping the ones in use.");
                false
            }
        }
    }
}

/// The keys, among those that need a restart, whose value differs between `running` and `new`.
fn restart_needed(running: &Config, new: &Config, live_log_level: bool) -> Vec<&'static str> {
    // Compared through Debug: secrets print redacted, so `admin_token` is compared apart.
    let shown = |c: &Config| -> Vec<(&'static str, String)> {
        vec![
            ("server_host", format!("{:?}", c.server_host)),
            ("server_port", format!("{:?}", c.server_port)),
            ("ssl_enabled", format!("{:?}", c.ssl_enabled)),
            ("ssl_cert_path", format!("{:?}", c.ssl_cert_path)),
            ("ssl_key_path", format!("{:?}", c.ssl_key_path)),
            ("ssl_client_ca", format!("{:?}", c.ssl_client_ca)),
            (
                "header_read_timeout",
                format!("{:?}", c.header_read_timeout),
            ),
            ("request_timeout", format!("{:?}", c.request_timeout)),
            ("idle_timeout", format!("{:?}", c.idle_timeout)),
            (
                "http2_keep_alive_interval",
                format!("{:?}", c.http2_keep_alive_interval),
            ),
            ("max_connections", format!("{:?}", c.max_connections)),
            ("queue_backend", format!("{:?}", c.queue_backend)),
            ("queue_max_size", format!("{:?}", c.queue_max_size)),
            ("queue_max_bytes", format!("{:?}", c.queue_max_bytes)),
            ("data_dir", format!("{:?}", c.data_dir)),
            ("redis_url", c.redis_url.to_string()),
            ("redis_claim_idle", format!("{:?}", c.redis_claim_idle)),
            ("redis_prefix", c.redis_prefix.clone()),
            ("threading_model", format!("{:?}", c.threading_model)),
            ("max_worker_threads", format!("{:?}", c.max_worker_threads)),
            (
                "shutdown_grace_period",
                format!("{:?}", c.shutdown_grace_period),
            ),
            // Compared, never shown: the URL may carry credentials.
            (
                "sl1_graphql_url",
                c.sl1_graphql_url
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            ),
            ("mappings_dir", format!("{:?}", c.mappings_dir)),
            ("reload", format!("{:?}", c.reload)),
            ("log_file", format!("{:?}", c.log_file)),
            ("log_max_size", format!("{:?}", c.log_max_size)),
            ("log_rotation", format!("{:?}", c.log_rotation)),
            ("log_max_files", format!("{:?}", c.log_max_files)),
            ("log_format", format!("{:?}", c.log_format)),
            (
                "log_level",
                if live_log_level {
                    String::new()
                } else {
                    format!("{:?}", c.log_level)
                },
            ),
        ]
    };
    let mut changed: Vec<&'static str> = shown(running)
        .into_iter()
        .zip(shown(new))
        .filter(|((_, a), (_, b))| a != b)
        .map(|((key, _), _)| key)
        .collect();
    let token = |c: &Config| c.admin_token.as_ref().map(|t| t.expose().to_owned());
    if token(running) != token(new) {
        changed.push("admin_token");
    }
    changed
}

/// Reads the HTTPS certificate and key again and serves the pair to new handshakes, or logs why
/// not (naming the files, never their contents). Whether the files were taken.
fn reload_certificate(certs: &ServerCerts) -> bool {
    match certs.reload() {
        Ok(true) => {
            tracing::info!("HTTPS certificate reloaded: new connections get the new one.");
            true
        }
        Ok(false) => true,
        Err(error) => {
            tracing::error!(
                %error,
                "HTTPS certificate reload refused; keeping the certificate in use."
            );
            false
        }
    }
}

/// Reloads the mappings once: builds new stacks and swaps them in, or logs why not. Returns
/// whether the new stacks were taken.
pub fn reload_mappings(loader: &Loader, state: &AppState) -> bool {
    match loader.load() {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                tracing::warn!(%warning, "Mapping warning.");
            }
            let sources = loaded.stacks.routes().count();
            state.replace_stacks(loaded.stacks);
            tracing::info!(sources, mappings = %loader.origin(), "Mappings reloaded.");
            true
        }
        Err(problems) => {
            for problem in &problems {
                tracing::error!(%problem, "Mapping problem.");
            }
            tracing::error!(
                problems = problems.len(),
                "Reload refused: the mappings do not validate; keeping the ones in use."
            );
            false
        }
    }
}

/// What the mappings directory and the watched files (the configuration file, the HTTPS
/// certificate and key) looked like: file names with their modification times and sizes. Take it *before* loading, so that a change made while loading is
/// noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint(BTreeMap<PathBuf, (Option<SystemTime>, u64)>);

impl Fingerprint {
    /// The directory and these files as they are now.
    pub fn of(dir: &Path, watched: &[PathBuf]) -> Self {
        let mut files = fingerprint(dir);
        for file in watched {
            let seen = std::fs::metadata(file)
                .map(|meta| (meta.modified().ok(), meta.len()))
                .unwrap_or((None, 0));
            files.insert(file.to_owned(), seen);
        }
        Self(files)
    }
}

/// Watches for SIGHUP and for changes of the watched files and the mappings directory
/// (compared with `loaded`, the state the running service was loaded from) until the task is
/// dropped.
pub async fn watch(reloader: Reloader, loaded: Fingerprint) {
    let mut seen = loaded;
    let mut hangup = hangup_signal();
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let by_signal = tokio::select! {
            _ = tick.tick() => false,
            () = next_hangup(&mut hangup) => true,
        };
        let dir = reloader.inner.loader.mappings_dir().to_owned();
        let files = reloader.watched_files();
        let now = tokio::task::spawn_blocking(move || Fingerprint::of(&dir, &files))
            .await
            .unwrap_or_default();
        if by_signal || now != seen {
            tracing::info!(by_signal, "Reloading the configuration and the mappings.");
            seen = now;
            let reloader = reloader.clone();
            if let Err(error) = tokio::task::spawn_blocking(move || reloader.reload_now()).await {
                tracing::error!(%error, "The reload failed.");
            }
        }
    }
}

/// File names with their modification times and sizes: a change in any means reload.
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, (Option<SystemTime>, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            Some((entry.path(), (meta.modified().ok(), meta.len())))
        })
        .collect()
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn hangup_signal() -> Hangup {}

#[cfg(unix)]
async fn next_hangup(signal: &mut Hangup) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn next_hangup(_signal: &mut Hangup) {
    std::future::pending().await
}
