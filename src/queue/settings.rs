//! [`QueueSettings`]: which backend to open and how, as plain data the config fills in.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::defaults;

use super::limits::{Limits, DEFAULT_MAX_BYTES, DEFAULT_MEMORY_MAX_BYTES};

named_enum! {
    /// Where accepted webhooks wait for delivery (`queue_backend`).
    QueueBackend {
        /// Embedded, durable store under `data_dir` (the default).
        Disk = "disk",
        /// Volatile, in-process, fastest.
        Memory = "memory",
        /// Redis Streams at `redis_url`, shared by several instances.
        Redis = "redis",
    }
}

/// How to open the queue. The config helper maps the INI keys into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSettings {
    /// `queue_backend`.
    pub backend: QueueBackend,
    /// `data_dir`: the disk store lives in `data_dir/queue.redb`.
    pub data_dir: PathBuf,
    /// `queue_max_size`: the most events waiting or being delivered; more is 503. `usize::MAX`
    /// (the default): no count bound, only [`max_bytes`](Self::max_bytes).
    pub max_size: usize,
    /// `queue_max_bytes`: the most bytes of events waiting or being delivered; more is 503.
    /// `None`: the backend's default ([`DEFAULT_MAX_BYTES`], [`DEFAULT_MEMORY_MAX_BYTES`] for
    /// `memory`).
    pub max_bytes: Option<u64>,
    /// `redis_url`, e.g. `redis://127.0.0.1:6379`.
    pub redis_url: String,
    /// `redis_claim_idle`: how long an entry stays pending with a crashed consumer before
    /// another instance claims it (default 60 s).
    pub redis_claim_idle: Duration,
    /// `redis_prefix`: prefix of every Redis key (default `genhook`).
    pub redis_prefix: String,
}

impl Default for QueueSettings {
    /// The configuration's defaults ([`crate::config::defaults`]).
    fn default() -> Self {
        Self {
            backend: defaults::QUEUE_BACKEND,
            data_dir: PathBuf::from(defaults::DATA_DIR),
            max_size: usize::MAX,
            max_bytes: None,
            redis_url: defaults::REDIS_URL.into(),
            redis_claim_idle: defaults::REDIS_CLAIM_IDLE,
            redis_prefix: defaults::REDIS_PREFIX.into(),
        }
    }
}

impl QueueSettings {
    /// The bounds of the queue these settings open.
    pub fn limits(&self) -> Limits {
        let default = match self.backend {
            QueueBackend::Memory => DEFAULT_MEMORY_MAX_BYTES,
            QueueBackend::Disk | QueueBackend::Redis => DEFAULT_MAX_BYTES,
        };
        Limits {
            max_events: self.max_size,
            max_bytes: self.max_bytes.unwrap_or(default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_configurations() {
        let config = crate::config::Config::defaults();
        let settings = QueueSettings::default();
        assert_eq!(settings.backend, config.queue_backend);
        assert_eq!(settings.data_dir, config.data_dir);
        assert_eq!(settings.redis_url, config.redis_url.to_string());
        assert_eq!(settings.redis_claim_idle, config.redis_claim_idle);
    }
}
