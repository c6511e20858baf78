//! The log's own settings types: [`LogLevel`] (`log_level`), [`LogRotation`]
//! (`log_rotation`) and [`LogFormat`] (`log_format`). Telemetry owns them; the configuration parser reads them by name.

named_enum! {
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

named_enum! {
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

named_enum! {
    /// How each log line is written (`log_format`).
    LogFormat {
        /// Human-readable lines (the default).
        Text = "text",
        /// One JSON object per line: `timestamp`, `level`, `target`, `message` and the event's
        /// fields, flattened.
        Json = "json",
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
