//! The redis backend's key names, all under `redis_prefix`.

use genhook_core::queue::Priority;

/// The streams and key prefixes of one GenHook deployment.
#[derive(Debug)]
pub(super) struct Keys {
    pub(super) high: String,
    pub(super) normal: String,
    pub(super) low: String,
    pub(super) dead: String,
    pub(super) dedup: String,
    /// The bytes of the entries in the three queue streams (`queue_max_bytes`).
    pub(super) bytes: String,
}

impl Keys {
    pub(super) fn new(prefix: &str) -> Self {
        Self {
            high: format!("{prefix}:queue:high"),
            normal: format!("{prefix}:queue:normal"),
            low: format!("{prefix}:queue:low"),
            dead: format!("{prefix}:dead"),
            dedup: format!("{prefix}:dedup:"),
            bytes: format!("{prefix}:queue:bytes"),
        }
    }

    pub(super) fn stream(&self, priority: Priority) -> &str {
        match priority {
            Priority::High => &self.high,
            Priority::Normal => &self.normal,
            Priority::Low => &self.low,
        }
    }

    pub(super) fn streams(&self) -> [&str; 3] {
        [&self.high, &self.normal, &self.low]
    }
}
