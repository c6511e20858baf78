//! Telemetry: logging (`tracing`) and metrics (Prometheus), set up from the configuration.
//!
//! - **Logs:** [`init_logging`] installs a `tracing` subscriber at `log_level`, writing to
//!   stderr, or to `log_file` rotated by time (`log_rotation`: `daily` | `hourly` | `never`, UTC)
//!   and by size (`log_max_size`), keeping `log_max_files` rotated files, as text lines or one
//!   JSON object per line (`log_format`). `tracing-appender` rotates by time only, so size rotation is
//!   done by GenHook's own small, tested [`RotatingFile`] writer (no extra dependency), run on
//!   `tracing-appender`'s non-blocking writer thread. Keep the returned [`LogGuard`] alive; it
//!   also changes the level on reload.
//! - **Metrics:** [`prometheus`] returns the process's handle, installing the recorder on
//!   first use (the server calls it; idempotent). [`install_metrics`] installs the `metrics-exporter-prometheus` recorder with
//!   histogram buckets for every `*_seconds` metric of [`genhook_core::metrics`]; the `/metrics`
//!   route serves the returned handle's `render()`. [`spawn_upkeep`] keeps histograms drained.
//!
//! ```no_run
//! use genhook::config::{env, Config};
//! use genhook::telemetry::{init_logging, prometheus};
//!
//! let config = Config::load(None, &env::lookup).map_err(|_| "bad config")?;
//! let _log = init_logging(&config)?; // or a `LogSettings`
//! let metrics = prometheus(); // installs the recorder on first use
//! let page: String = metrics.render();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod level;
mod logging;
mod prometheus;
mod retention;
mod rotate;

use std::path::PathBuf;

pub use level::{LogFormat, LogLevel, LogRotation};
pub use logging::{init_logging, log_subscriber, LogGuard, LogSettings};
pub use metrics_exporter_prometheus::PrometheusHandle;
pub use prometheus::{
    describe_metrics, install_metrics, prometheus, prometheus_builder, spawn_upkeep,
    DELIVERY_BUCKETS, EVENTS_PER_SYNC_BUCKETS, LAYER_BUCKETS, REQUEST_BUCKETS, SECONDS_BUCKETS,
    SL1_BUCKETS, UPKEEP_INTERVAL,
};
pub use rotate::{Clock, RotatingFile};

/// Setting up telemetry failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The log file or its directory could not be created or opened.
    #[error("cannot open the log file {}: {source}", path.display())]
    LogFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `tracing` subscriber could not be installed or changed.
    #[error("cannot set up logging: {0}")]
    Subscriber(String),
    /// The Prometheus recorder could not be built or installed.
    #[error("cannot set up metrics: {0}")]
    Metrics(#[source] metrics_exporter_prometheus::BuildError),
}
