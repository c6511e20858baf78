//! [`WorkerSettings`]: everything the SL1 delivery side needs, as plain data. The configuration
//! parser maps its validated `Config` into this struct; nothing here reads a file or the
//! environment.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use genhook_core::Secret;

named_enum! {
    /// How work is spread over threads (`threading_model`).
    ThreadingModel {
        /// One single-threaded event loop does everything.
        Async = "async",
        /// Multi-threaded async HTTP, then `max_worker_threads` OS threads each driving one
        /// delivery at a time through the same async delivery stack.
        ThreadPool = "thread_pool",
        /// Multi-threaded async HTTP and async deliveries, up to the adaptive in-flight limit
        /// (the default).
        Hybrid = "hybrid",
    }
}

use crate::config::defaults;

/// Settings of the SL1 client, its retry/breaker stack and the worker pool.
///
/// `Debug` is written by hand so that the password never shows.
#[derive(Clone)]
pub struct WorkerSettings {
    /// `sl1_api_url` (e.g. `https://sl1.example.com/api/alert`); `None` sends alerts to the log and
    /// to [`outbox_path`](Self::outbox_path) instead.
    pub sl1_api_url: Option<String>,
    /// `sl1_username` for Basic auth.
    pub sl1_username: String,
    /// `sl1_password` for Basic auth.
    pub sl1_password: Secret,
    /// Per-attempt timeout (`sl1_timeout`, default 30 s).
    pub sl1_timeout: Duration,
    /// Time limit for delivering one event, every attempt and backoff wait included
    /// (`processing_timeout`, default 5 min), counted from when a worker takes it.
    pub processing_timeout: Duration,
    /// Retries after the first attempt (`sl1_retry_attempts`, default 3).
    pub sl1_retry_attempts: u32,
    /// The first retry's backoff, doubled for each further retry (not an INI key;
    /// [`defaults::RETRY_BACKOFF_BASE`]).
    pub retry_backoff_base: Duration,
    /// The longest backoff between two retries (not an INI key; [`defaults::RETRY_BACKOFF_MAX`]).
    pub retry_backoff_max: Duration,
    /// A PEM file of extra CA certificates to trust for SL1 (`sl1_ca_file`).
    pub sl1_ca_file: Option<PathBuf>,
    /// Consecutive failed attempts that open the circuit (default 5).
    pub breaker_threshold: u32,
    /// How long the circuit stays open before one probe is let through (default 30 s).
    pub breaker_cooldown: Duration,
    /// `max_worker_threads`: the OS threads of the `thread_pool` model, and in every model the
    /// value the adaptive in-flight limit starts at (see [`adaptive`](super::adaptive)).
    pub workers: usize,
    /// `sl1_max_inflight`: the most deliveries (and attempts) in flight to SL1 at once; the
    /// adaptive limit moves between 1 and this (default 256).
    pub sl1_max_inflight: usize,
    /// Concurrent SL1 calls allowed per source (`<source>_max_concurrent`); unlisted sources are
    /// limited only by the adaptive limit.
    pub per_source_max_concurrent: HashMap<String, usize>,
    /// Where alerts go when [`sl1_api_url`](Self::sl1_api_url) is unset (`data_dir/outbox.jsonl`).
    pub outbox_path: PathBuf,
    /// Dead letters above which GenHook alerts about itself (0 disables the alert).
    pub dlq_alert_threshold: usize,
    /// How the workers run.
    pub threading: ThreadingModel,
}

impl Default for WorkerSettings {
    /// The configuration's defaults ([`crate::config::defaults`]): `max_worker_threads` is 8
    /// here as there.
    fn default() -> Self {
        Self {
            sl1_api_url: None,
            sl1_username: String::new(),
            sl1_password: Secret::new(""),
            sl1_timeout: defaults::SL1_TIMEOUT,
            processing_timeout: defaults::PROCESSING_TIMEOUT,
            sl1_retry_attempts: defaults::SL1_RETRY_ATTEMPTS,
            retry_backoff_base: defaults::RETRY_BACKOFF_BASE,
            retry_backoff_max: defaults::RETRY_BACKOFF_MAX,
            sl1_ca_file: None,
            breaker_threshold: defaults::SL1_BREAKER_THRESHOLD,
            breaker_cooldown: defaults::SL1_BREAKER_COOLDOWN,
            workers: defaults::MAX_WORKER_THREADS,
            sl1_max_inflight: defaults::SL1_MAX_INFLIGHT,
            per_source_max_concurrent: HashMap::new(),
            outbox_path: PathBuf::from(defaults::DATA_DIR).join(defaults::OUTBOX_FILE),
            dlq_alert_threshold: usize::try_from(defaults::DLQ_ALERT_THRESHOLD)
                .unwrap_or(usize::MAX),
            threading: defaults::THREADING_MODEL,
        }
    }
}

impl fmt::Debug for WorkerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerSettings")
            .field("sl1_api_url", &self.sl1_api_url)
            .field("sl1_username", &self.sl1_username)
            .field("sl1_password", &self.sl1_password)
            .field("sl1_timeout", &self.sl1_timeout)
            .field("processing_timeout", &self.processing_timeout)
            .field("sl1_retry_attempts", &self.sl1_retry_attempts)
            .field("retry_backoff_base", &self.retry_backoff_base)
            .field("retry_backoff_max", &self.retry_backoff_max)
            .field("sl1_ca_file", &self.sl1_ca_file)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .field("workers", &self.workers)
            .field("sl1_max_inflight", &self.sl1_max_inflight)
            .field("per_source_max_concurrent", &self.per_source_max_concurrent)
            .field("outbox_path", &self.outbox_path)
            .field("dlq_alert_threshold", &self.dlq_alert_threshold)
            .field("threading", &self.threading)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let settings = WorkerSettings {
            sl1_password: Secret::new("hunter2"),
            ..WorkerSettings::default()
        };
        let text = format!("{settings:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn defaults_are_the_configurations() {
        // One place for defaults: a WorkerSettings left at its default delivers as a
        // configuration left at its own does (the worker count was 4 here and 8 there).
        let config = crate::config::Config::defaults();
        let settings = WorkerSettings::default();
        assert_eq!(settings.workers, config.max_worker_threads);
        assert_eq!(settings.sl1_timeout, config.sl1_timeout);
        assert_eq!(settings.processing_timeout, config.processing_timeout);
        assert_eq!(settings.sl1_retry_attempts, config.sl1_retry_attempts);
        assert_eq!(settings.breaker_threshold, config.sl1_breaker_threshold);
        assert_eq!(settings.breaker_cooldown, config.sl1_breaker_cooldown);
        assert_eq!(settings.sl1_max_inflight, config.sl1_max_inflight);
        assert_eq!(settings.outbox_path, config.outbox_path());
        assert_eq!(
            u64::try_from(settings.dlq_alert_threshold).ok(),
            Some(config.dlq_alert_threshold)
        );
        assert_eq!(settings.threading, config.threading_model);
    }
}
