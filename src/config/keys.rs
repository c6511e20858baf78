//! The table of keys: each canonical name, its alias, and how its value is parsed into
//! [`Config`]. `<source>_max_concurrent` is handled by the loader, not listed here.

use genhook_core::Secret;

use super::model::Config;
use super::value::{self, ValueResult};

/// One key of the configuration file.
pub(crate) struct Key {
    /// The canonical name (the [`Config`] field).
    pub(crate) name: &'static str,
    /// The other name of the same setting, if any.
    pub(crate) alias: Option<&'static str>,
    /// Parses a value into the configuration.
    pub(crate) set: fn(&mut Config, &str) -> ValueResult<()>,
}

impl Key {
    /// Whether `name` is this key or its alias.
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name == name || self.alias == Some(name)
    }
}

/// The suffix of per-source concurrency keys (`shopify_max_concurrent`).
pub(crate) const MAX_CONCURRENT_SUFFIX: &str = "_max_concurrent";

/// The schemes `sl1_api_url` accepts.
const HTTP: &[&str] = &["http", "https"];
/// The schemes `redis_url` accepts.
const REDIS: &[&str] = &["redis", "rediss", "redis+unix", "unix"];

/// `None` for an empty value, else the parsed value.
fn optional<T>(value: &str, parse: impl FnOnce(&str) -> ValueResult<T>) -> ValueResult<Option<T>> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse(value).map(Some)
    }
}

/// Any text; empty is unset.
fn text(value: &str) -> ValueResult<String> {
    Ok(value.to_owned())
}

/// A secret; empty is unset.
fn secret(value: &str) -> ValueResult<Secret> {
    Ok(Secret::new(value))
}

/// Every key, in the order of `genhook.example.ini`.
#[rustfmt::skip]
pub(crate) const KEYS: &[Key] = &[
    Key { name: "server_host", alias: None, set: |c, v| { c.server_host = value::host(v)?; Ok(()) } },
    Key { name: "server_port", alias: None, set: |c, v| { c.server_port = value::port(v)?; Ok(()) } },
    Key { name: "ssl_enabled", alias: None, set: |c, v| { c.ssl_enabled = value::boolean(v)?; Ok(()) } },
    Key { name: "ssl_cert_path", alias: None, set: |c, v| { c.ssl_cert_path = optional(v, value::path)?; Ok(()) } },
    Key { name: "ssl_key_path", alias: None, set: |c, v| { c.ssl_key_path = optional(v, value::path)?; Ok(()) } },
    Key { name: "ssl_client_ca", alias: None, set: |c, v| { c.ssl_client_ca = optional(v, value::path)?; Ok(()) } },
    Key { name: "max_body_size", alias: None, set: |c, v| { c.max_body_size = min_size(v, 1)?; Ok(()) } },
    Key { name: "header_read_timeout", alias: None, set: |c, v| { c.header_read_timeout = nonzero_duration(v)?; Ok(()) } },
    Key { name: "request_timeout", alias: None, set: |c, v| { c.request_timeout = nonzero_duration(v)?; Ok(()) } },
    Key { name: "idle_timeout", alias: None, set: |c, v| { c.idle_timeout = nonzero_duration(v)?; Ok(()) } },
    Key { name: "http2_keep_alive_interval", alias: None, set: |c, v| { c.http2_keep_alive_interval = nonzero_duration(v)?; Ok(()) } },
    Key { name: "max_connections", alias: None, set: |c, v| { c.max_connections = optional(v, |v| value::count(v, 1))?; Ok(()) } },
    Key { name: "max_inflight_body_bytes", alias: None, set: |c, v| { c.max_inflight_body_bytes = optional(v, |v| min_size(v, 1))?; Ok(()) } },
    Key { name: "admin_token", alias: None, set: |c, v| { c.admin_token = optional(v, secret)?; Ok(()) } },
    Key { name: "sl1_api_url", alias: None, set: |c, v| { c.sl1_api_url = optional(v, |v| value::url(v, HTTP))?; Ok(()) } },
    Key { name: "sl1_graphql_url", alias: None, set: |c, v| { c.sl1_graphql_url = optional(v, |v| value::url(v, HTTP))?; Ok(()) } },
    Key { name: "sl1_username", alias: None, set: |c, v| { c.sl1_username = optional(v, text)?; Ok(()) } },
    Key { name: "sl1_password", alias: None, set: |c, v| { c.sl1_password = optional(v, secret)?; Ok(()) } },
    Key { name: "sl1_timeout", alias: None, set: |c, v| { c.sl1_timeout = nonzero_duration(v)?; Ok(()) } },
    Key { name: "sl1_retry_attempts", alias: Some("retry_max_attempts"), set: |c, v| { c.sl1_retry_attempts = value::count(v, 0)?; Ok(()) } },
    Key { name: "sl1_ca_file", alias: None, set: |c, v| { c.sl1_ca_file = optional(v, value::path)?; Ok(()) } },
    Key { name: "sl1_breaker_threshold", alias: None, set: |c, v| { c.sl1_breaker_threshold = value::count(v, 1)?; Ok(()) } },
    Key { name: "sl1_breaker_cooldown", alias: None, set: |c, v| { c.sl1_breaker_cooldown = nonzero_duration(v)?; Ok(()) } },
    Key { name: "threading_model", alias: None, set: |c, v| { c.threading_model = value::one_of(v)?; Ok(()) } },
    Key { name: "max_worker_threads", alias: Some("max_threads"), set: |c, v| { c.max_worker_threads = value::count(v, 1)?; Ok(()) } },
    Key { name: "sl1_max_inflight", alias: None, set: |c, v| { c.sl1_max_inflight = value::count(v, 1)?; Ok(()) } },
    Key { name: "processing_timeout", alias: Some("thread_timeout"), set: |c, v| { c.processing_timeout = nonzero_duration(v)?; Ok(()) } },
    Key { name: "shutdown_grace_period", alias: None, set: |c, v| { c.shutdown_grace_period = value::duration(v)?; Ok(()) } },
    Key { name: "queue_backend", alias: None, set: |c, v| { c.queue_backend = value::one_of(v)?; Ok(()) } },
    Key { name: "queue_max_size", alias: Some("queue_size"), set: |c, v| { c.queue_max_size = optional(v, |v| value::count(v, 1))?; Ok(()) } },
    Key { name: "queue_max_bytes", alias: None, set: |c, v| { c.queue_max_bytes = optional(v, |v| min_size(v, 1))?; Ok(()) } },
    Key { name: "data_dir", alias: None, set: |c, v| { c.data_dir = value::path(v)?; Ok(()) } },
    Key { name: "redis_url", alias: None, set: |c, v| { c.redis_url = value::url(v, REDIS)?; Ok(()) } },
    Key { name: "redis_claim_idle", alias: None, set: |c, v| { c.redis_claim_idle = nonzero_duration(v)?; Ok(()) } },
    Key { name: "redis_prefix", alias: None, set: |c, v| { c.redis_prefix = redis_prefix(v)?; Ok(()) } },
    Key { name: "dlq_alert_threshold", alias: None, set: |c, v| { c.dlq_alert_threshold = value::count(v, 0)?; Ok(()) } },
    Key { name: "mappings_dir", alias: None, set: |c, v| { c.mappings_dir = value::path(v)?; Ok(()) } },
    Key { name: "reload", alias: None, set: |c, v| { c.reload = value::boolean(v)?; Ok(()) } },
    Key { name: "log_level", alias: None, set: |c, v| { c.log_level = value::one_of(v)?; Ok(()) } },
    Key { name: "log_file", alias: None, set: |c, v| { c.log_file = optional(v, value::path)?; Ok(()) } },
    Key { name: "log_rotation", alias: None, set: |c, v| { c.log_rotation = value::one_of(v)?; Ok(()) } },
    Key { name: "log_max_size", alias: None, set: |c, v| { c.log_max_size = value::size(v)?; Ok(()) } },
    Key { name: "log_max_files", alias: None, set: |c, v| { c.log_max_files = value::count(v, 0)?; Ok(()) } },
    Key { name: "log_format", alias: None, set: |c, v| { c.log_format = value::one_of(v)?; Ok(()) } },
];

/// A duration that must not be zero.
fn nonzero_duration(v: &str) -> ValueResult<std::time::Duration> {
    let d = value::duration(v)?;
    if d.is_zero() {
        return Err(format!("must be longer than zero: {v:?}"));
    }
    Ok(d)
}

/// A Redis key prefix: letters, digits and `-_.:`, not empty (it ends up in every key name).
fn redis_prefix(v: &str) -> ValueResult<String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
    if v.is_empty() || !v.chars().all(fine) {
        return Err(format!(
            "must be letters, digits, '-', '_', '.' or ':' (not empty): {v:?}"
        ));
    }
    Ok(v.to_owned())
}

/// A size of at least `min` bytes.
fn min_size(v: &str, min: u64) -> ValueResult<u64> {
    let n = value::size(v)?;
    if n < min {
        return Err(format!("must be at least {min} bytes: {v:?}"));
    }
    Ok(n)
}

/// The key named `name` (canonical or alias).
pub(crate) fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.is(name))
}

/// Whether two values of `key` (e.g. one under each name of an alias pair) mean the same
/// setting: the same text, or texts that parse to the same value (`30` and `30s`).
pub(crate) fn same_value(key: &Key, a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (mut first, mut second) = (Config::defaults(), Config::defaults());
    (key.set)(&mut first, a).is_ok() && (key.set)(&mut second, b).is_ok() && first == second
}

/// The source of a `<source>_max_concurrent` key.
pub(crate) fn max_concurrent_source(name: &str) -> Option<&str> {
    name.strip_suffix(MAX_CONCURRENT_SUFFIX)
        .filter(|source| !source.is_empty())
}

/// Every key name the file accepts, aliases included (`<source>_max_concurrent` excepted).
pub fn key_names() -> Vec<&'static str> {
    KEYS.iter()
        .flat_map(|k| std::iter::once(k.name).chain(k.alias))
        .collect()
}
