//! The checks between keys (errors), and the warnings `genhook check` prints about settings
//! that work but are probably not what the operator wants.

use std::path::Path;

use genhook_core::Diagnostic;

use super::choices::{LogRotation, QueueBackend};
use super::model::Config;
use super::origin::{problem, span, warning, Origin, ENVIRONMENT};

/// Where a key's problem is reported: its origin, else (a default) the file's line 0.
fn origin_of(config: &Config, key: &str) -> Origin {
    config.origins.0.get(key).cloned().unwrap_or_else(|| {
        let file = config.file.as_deref().unwrap_or(Path::new(ENVIRONMENT));
        Origin::File {
            span: span(file, 0),
            written: key.to_owned(),
        }
    })
}

/// The checks between keys.
pub(super) fn cross_check(config: &Config) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if config.ssl_enabled {
        for (key, path) in [
            ("ssl_cert_path", &config.ssl_cert_path),
            ("ssl_key_path", &config.ssl_key_path),
        ] {
            if path.is_none() {
                problems.push(problem(
                    &origin_of(config, "ssl_enabled"),
                    &format!("is true but {key} is not set"),
                ));
            }
        }
    }
    let files = [
        (
            "ssl_cert_path",
            config.ssl_cert_path.as_ref().filter(|_| config.ssl_enabled),
        ),
        (
            "ssl_key_path",
            config.ssl_key_path.as_ref().filter(|_| config.ssl_enabled),
        ),
        ("sl1_ca_file", config.sl1_ca_file.as_ref()),
        ("ssl_client_ca", config.ssl_client_ca.as_ref()),
    ];
    for (key, path) in files {
        if let Some(path) = path.filter(|p| !p.is_file()) {
            problems.push(problem(
                &origin_of(config, key),
                &format!("no such file: {:?}", path.display().to_string()),
            ));
        }
    }
    if let Some(path) = config.ssl_client_ca.as_ref().filter(|p| p.is_file()) {
        if let Err(error) = crate::server::read_certificates(path) {
            problems.push(problem(&origin_of(config, "ssl_client_ca"), &error));
        }
    }
    if config.sl1_username.is_some() && config.sl1_password.is_none() {
        problems.push(problem(
            &origin_of(config, "sl1_username"),
            "is set but sl1_password is not (set it in GENHOOK_SL1_PASSWORD)",
        ));
    }
    if config.sl1_password.is_some() && config.sl1_username.is_none() {
        problems.push(problem(
            &origin_of(config, "sl1_password"),
            "is set but sl1_username is not",
        ));
    }
    if let Some(inflight) = config.max_inflight_body_bytes {
        if inflight < config.max_body_size {
            problems.push(problem(
                &origin_of(config, "max_inflight_body_bytes"),
                &format!(
                    "is smaller than max_body_size ({inflight} < {} bytes): a body of the largest \
                     accepted size would never be read",
                    config.max_body_size
                ),
            ));
        }
    }
    problems
}

impl Config {
    /// Settings that are valid but probably a mistake, for `genhook check` to print (it still
    /// exits 0): secrets written in the file instead of the environment, the volatile memory
    /// queue, Basic auth over plain HTTP, `ssl_client_ca` without HTTPS, a log file that never rotates, a delivery budget
    /// (`processing_timeout`) that leaves no time for a retry after a hung attempt.
    pub fn warnings(&self) -> Vec<Diagnostic> {
        let mut warnings = self.predecessor_notices.clone();
        for key in ["sl1_password", "admin_token"] {
            if let Some(origin @ Origin::File { .. }) = self.origins.0.get(key) {
                warnings.push(warning(
                    origin,
                    &format!(
                        "a secret in the configuration file; prefer the environment variable {}",
                        super::env::var_name(key)
                    ),
                ));
            }
        }
        if self.queue_backend == QueueBackend::Memory {
            warnings.push(warning(
                &origin_of(self, "queue_backend"),
                "webhooks already answered 202 are lost if GenHook stops before delivering them; \
                 use disk or redis to keep them",
            ));
        }
        let plain_http = self
            .sl1_api_url
            .as_ref()
            .is_some_and(|u| u.scheme() == "http");
        if plain_http && self.sl1_username.is_some() {
            warnings.push(warning(
                &origin_of(self, "sl1_api_url"),
                "SL1 credentials would be sent unencrypted over http; use https",
            ));
        }
        if self.sl1_retry_attempts > 0 && self.processing_timeout <= self.sl1_timeout {
            warnings.push(warning(
                &origin_of(self, "processing_timeout"),
                &format!(
                    "is not longer than sl1_timeout ({:?} <= {:?}): an SL1 call that hangs uses the \
                     whole budget and is dead-lettered without a retry",
                    self.processing_timeout, self.sl1_timeout
                ),
            ));
        }
        if self.ssl_client_ca.is_some() && !self.ssl_enabled {
            warnings.push(warning(
                &origin_of(self, "ssl_client_ca"),
                "is set but ssl_enabled is false: no client certificate is asked for over plain HTTP",
            ));
        }
        if self.log_file.is_some()
            && self.log_rotation == LogRotation::Never
            && self.log_max_size == 0
        {
            warnings.push(warning(
                &origin_of(self, "log_file"),
                "the log file is never rotated (log_rotation = never, log_max_size = 0) and grows without limit",
            ));
        }
        warnings.extend(self.notices.0.iter().cloned());
        warnings.sort();
        warnings
    }
}
