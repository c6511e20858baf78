//! The enumerated settings as the parser reads them: the queue backend, and the threading model
//! and log level and rotation that the worker and telemetry own (re-exported here).

use super::value::Choice;

pub use crate::telemetry::{LogLevel, LogRotation};
pub use crate::worker::ThreadingModel;

/// Lets [`one_of`](super::value::one_of) parse these enums by their names.
macro_rules! choice {
    ($($name:ty),+) => {
        $(impl Choice for $name {
            const ALL: &'static [Self] = <$name>::ALL;
            fn name(self) -> &'static str {
                self.as_str()
            }
        })+
    };
}

choice!(QueueBackend, ThreadingModel, LogLevel, LogRotation);

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
