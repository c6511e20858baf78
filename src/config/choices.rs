//! The enumerated settings: queue backend, threading model, log level and log rotation.

use std::fmt;

use super::value::Choice;

macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The value's name, as written in the configuration file.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl Choice for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

choice! {
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

choice! {
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

choice! {
    /// The most verbose level logged (`log_level`, case-insensitive).
    LogLevel {
        /// Everything.
        Trace = "trace",
        /// Debugging detail.
        Debug = "debug",
        /// Normal operation (the default).
        Info = "info",
        /// Problems that were handled.
        Warn = "warn",
        /// Failures only.
        Error = "error",
    }
}

choice! {
    /// When the log file is rotated by time (`log_rotation`); `log_max_size` rotates by size as well.
    LogRotation {
        /// At midnight UTC (the default).
        Daily = "daily",
        /// At the start of each UTC hour.
        Hourly = "hourly",
        /// Never by time (size rotation still applies).
        Never = "never",
    }
}

impl LogLevel {
    /// The matching `tracing` level.
    pub fn to_tracing(self) -> tracing::Level {
        match self {
            Self::Trace => tracing::Level::TRACE,
            Self::Debug => tracing::Level::DEBUG,
            Self::Info => tracing::Level::INFO,
            Self::Warn => tracing::Level::WARN,
            Self::Error => tracing::Level::ERROR,
        }
    }
}
