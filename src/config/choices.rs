//! The enumerated settings as the parser reads them: the queue backend, the threading model and
//! the log level, rotation and format, which the queue, the worker and telemetry own (re-exported here).

use super::value::Choice;

pub use crate::queue::QueueBackend;
pub use crate::telemetry::{LogFormat, LogLevel, LogRotation};
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

choice!(
    QueueBackend,
    ThreadingModel,
    LogLevel,
    LogRotation,
    LogFormat
);
