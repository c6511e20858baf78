//! The built-in defaults, in one place: the configuration's, and those the queue and worker
//! settings' `Default` impls read (never a second copy of a value). `genhook.example.ini`
//! documents the same values.
//!
//! | key | default |
//! |---|---|
//! | `server_host` / `server_port` | `127.0.0.1` / `8080` |
//! | `ssl_enabled` | `false` |
//! | `sl1_api_url`, `sl1_username`, `sl1_password`, `sl1_ca_file` | unset (alerts go to the log and `data_dir/outbox.jsonl`) |
//! | `sl1_graphql_url` | `sl1_api_url`'s scheme, host and port with the path `/gql` ([`sl1_graphql_url`]) |
//! | `sl1_timeout` | `30s` |
//! | `sl1_retry_attempts` = `retry_max_attempts` | `3` |
//! | `sl1_breaker_threshold` / `sl1_breaker_cooldown` | `5` / `30s` |
//! | `max_worker_threads` = `max_threads` | `8` |
//! | `sl1_max_inflight` | `256` |
//! | `queue_max_size` = `queue_size` | unset (no count bound) |
//! | `queue_max_bytes` | `1GiB` (`disk`, `redis`) / `256MiB` (`memory`): [`QUEUE_MAX_BYTES`], [`MEMORY_QUEUE_MAX_BYTES`] |
//! | `processing_timeout` = `thread_timeout` | `5m` |
//! | `shutdown_grace_period` | `60s` |
//! | `<source>_max_concurrent` | unset (no per-source limit) |
//! | `log_level` / `log_file` / `log_rotation` / `log_max_size` | `info` / stderr / `daily` / `100MB` |
//! | `log_format` / `log_max_files` | `text` / `14` |
//! | `ssl_client_ca` | unset (no client certificate asked for) |
//! | `mappings_dir` / `data_dir` | `./mappings` / `./data` |
//! | `queue_backend` / `redis_url` / `redis_claim_idle` / `redis_prefix` | `disk` / `redis://127.0.0.1:6379` / `60s` / `genhook` |
//! | `admin_token` | unset (admin API off) |
//! | `threading_model` | `hybrid` |
//! | `max_body_size` | `5MB` |
//! | `dlq_alert_threshold` | `100` |
//! | `header_read_timeout` / `request_timeout` | `10s` / `30s` |
//! | `idle_timeout` / `http2_keep_alive_interval` | `60s` / `20s` |
//! | `max_connections` | the descriptor soft limit less headroom ([`max_connections`]) |
//! | `max_inflight_body_bytes` | `256MB`, or `max_body_size` when larger |
//! | `reload` | `true` |

use std::time::Duration;

use super::choices::{LogFormat, LogLevel, LogRotation, QueueBackend, ThreadingModel};

/// `server_host`.
pub const SERVER_HOST: &str = "127.0.0.1";
/// `server_port`.
pub const SERVER_PORT: u16 = 8080;
/// The path of SL1's GraphQL endpoint, as the Python predecessor's example configuration
/// writes it (`https://sl1/api/alert` → `https://sl1/gql`).
pub const SL1_GRAPHQL_PATH: &str = "/gql";

/// `sl1_graphql_url` when it is not set: `sl1_api_url` with the path [`SL1_GRAPHQL_PATH`] and no
/// query, credentials written into it kept (the client takes them out as it does for alerts).
pub fn sl1_graphql_url(sl1_api_url: &reqwest::Url) -> reqwest::Url {
    let mut url = sl1_api_url.clone();
    url.set_path(SL1_GRAPHQL_PATH);
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// `sl1_timeout`.
pub const SL1_TIMEOUT: Duration = Duration::from_secs(30);
/// `sl1_retry_attempts`.
pub const SL1_RETRY_ATTEMPTS: u32 = 3;
/// `sl1_breaker_threshold`.
pub const SL1_BREAKER_THRESHOLD: u32 = 5;
/// `sl1_breaker_cooldown`.
pub const SL1_BREAKER_COOLDOWN: Duration = Duration::from_secs(30);
/// `max_worker_threads`.
pub const MAX_WORKER_THREADS: usize = 8;
/// The first retry's backoff, doubled for each further retry (not a key).
pub const RETRY_BACKOFF_BASE: Duration = Duration::from_secs(1);
/// The longest backoff between two retries (not a key).
pub const RETRY_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// `sl1_max_inflight`: far above what one SL1 usually takes; the adaptive limit finds the real
/// figure below it.
pub const SL1_MAX_INFLIGHT: usize = 256;
/// `processing_timeout`: room for every attempt of the default retry policy (four hung attempts of
/// `sl1_timeout` and their backoff take about 2 minutes) and an SL1 `Retry-After` of a minute or two.
/// The project notes' example value, `30s`, would dead-letter an event after one hung attempt.
pub const PROCESSING_TIMEOUT: Duration = Duration::from_secs(300);
/// `shutdown_grace_period`.
pub const SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(60);
/// `log_level`.
pub const LOG_LEVEL: LogLevel = LogLevel::Info;
/// `log_rotation`.
pub const LOG_ROTATION: LogRotation = LogRotation::Daily;
/// `log_format`.
pub const LOG_FORMAT: LogFormat = LogFormat::Text;
/// `log_max_files`: two weeks of daily files.
pub const LOG_MAX_FILES: usize = 14;
/// `log_max_size` (100MB).
pub const LOG_MAX_SIZE: u64 = 100 << 20;
/// `mappings_dir`.
pub const MAPPINGS_DIR: &str = "./mappings";
/// `data_dir`.
pub const DATA_DIR: &str = "./data";
/// `queue_backend`.
pub const QUEUE_BACKEND: QueueBackend = QueueBackend::Disk;
/// `redis_url`.
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// `redis_prefix`.
pub const REDIS_PREFIX: &str = "genhook";
/// `queue_max_bytes` for the `disk` and `redis` backends: 1 GiB.
pub const QUEUE_MAX_BYTES: u64 = 1 << 30;
/// `queue_max_bytes` for the `memory` backend: 256 MiB (a quarter of the disk default, as the
/// memory queue shares the process with everything else).
pub const MEMORY_QUEUE_MAX_BYTES: u64 = 256 << 20;
/// Where alerts go when `sl1_api_url` is unset, in `data_dir`.
pub const OUTBOX_FILE: &str = "outbox.jsonl";
/// `redis_claim_idle`.
pub const REDIS_CLAIM_IDLE: Duration = Duration::from_secs(60);
/// `threading_model`.
pub const THREADING_MODEL: ThreadingModel = ThreadingModel::Hybrid;
/// `max_body_size` (5MB).
pub const MAX_BODY_SIZE: u64 = 5 << 20;
/// `dlq_alert_threshold`.
pub const DLQ_ALERT_THRESHOLD: u64 = 100;
/// `header_read_timeout`.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// `request_timeout`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// `idle_timeout`. For HTTP/1 the shorter of it and `header_read_timeout` applies: hyper times
/// the next request's head from the moment the connection goes idle.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// `http2_keep_alive_interval` (hyper's default ping acknowledgement time is also 20 s).
pub const HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// `max_inflight_body_bytes` when unset (raised to `max_body_size` when that is larger): a fixed
/// amount rather than a share of the machine's memory, because inside a container the memory
/// the kernel reports is the host's, not the container's limit.
pub const MAX_INFLIGHT_BODY_BYTES: u64 = 256 << 20;
/// Descriptors kept out of `max_connections`' default, at least: the queue store, the log file,
/// Redis and SL1 connections, the runtime's own, and reading the mappings directory.
pub const DESCRIPTOR_HEADROOM: u64 = 64;
/// `max_connections` when no descriptor limit can be read (or it is unlimited, the cap).
pub const MAX_CONNECTIONS_CAP: u64 = 16_384;
/// `reload`.
pub const RELOAD: bool = true;
/// The file read when no `--config` is given, if it exists.
pub const CONFIG_FILE: &str = "genhook.ini";

/// `max_connections` when unset: the process's soft descriptor limit (`RLIMIT_NOFILE`) less an
/// eighth of it, and at least [`DESCRIPTOR_HEADROOM`], kept for everything else GenHook opens;
/// at most [`MAX_CONNECTIONS_CAP`] (also when the limit cannot be read or is unlimited). With the
/// common limit of 1024 that is 896; with 256, 192.
pub fn max_connections() -> usize {
    let limit = descriptor_limit().unwrap_or(u64::MAX);
    usize::try_from(connections_within(limit)).unwrap_or(usize::MAX)
}

/// [`max_connections`] for a descriptor limit.
pub(crate) fn connections_within(limit: u64) -> u64 {
    let headroom = (limit / 8).max(DESCRIPTOR_HEADROOM);
    limit.saturating_sub(headroom).clamp(1, MAX_CONNECTIONS_CAP)
}

/// The soft `RLIMIT_NOFILE`; `None` when unlimited or unknown.
#[cfg(unix)]
fn descriptor_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

#[cfg(not(unix))]
fn descriptor_limit() -> Option<u64> {
    None
}

/// [`REDIS_URL`] parsed.
#[expect(
    clippy::expect_used,
    reason = "a constant URL, covered by the defaults test"
)]
pub(super) fn default_redis_url() -> reqwest::Url {
    reqwest::Url::parse(REDIS_URL).expect("REDIS_URL is a valid URL")
}

#[cfg(test)]
mod tests {
    use super::connections_within;

    #[test]
    fn max_connections_keeps_headroom_for_the_other_descriptors() {
        assert_eq!(connections_within(1024), 896);
        assert_eq!(connections_within(256), 192);
        assert_eq!(connections_within(65_536), 16_384);
        assert_eq!(connections_within(u64::MAX), 16_384);
        assert_eq!(connections_within(64), 1);
        assert_eq!(connections_within(10), 1);
    }
}
