//! The `tracing` subscriber: level from `log_level` (changeable at reload), output to stderr or
//! to `log_file` rotated by [`RotatingFile`] (keeping `log_max_files` archives), written on a
//! background thread, as text or as JSON lines (`log_format`).
//!
//! A JSON line is one object with stable field names: `timestamp` (RFC 3339, UTC), `level`
//! (`INFO`, ...), `target` (the module), `message`, and the event's own fields flattened beside
//! them (`source`, `delivery_id`, ...). Spans are not included.

use std::io::IsTerminal;
use std::path::PathBuf;

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, Registry};

use super::level::{LogFormat, LogLevel, LogRotation};
use super::rotate::RotatingFile;
use super::TelemetryError;
use crate::config::Config;

/// The logging part of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The most verbose level written.
    pub level: LogLevel,
    /// The log file; `None` writes to stderr.
    pub file: Option<PathBuf>,
    /// Time rotation of `file`.
    pub rotation: LogRotation,
    /// Size rotation of `file`, in bytes (0: none).
    pub max_size: u64,
    /// Rotated files of `file` kept (0: all).
    pub max_files: usize,
    /// Text or JSON lines.
    pub format: LogFormat,
}

impl LogSettings {
    /// `log_level`, `log_file`, `log_rotation`, `log_max_size`, `log_max_files` and `log_format`
    /// of a configuration.
    pub fn from_config(config: &Config) -> Self {
        Self {
            level: config.log_level,
            file: config.log_file.clone(),
            rotation: config.log_rotation,
            max_size: config.log_max_size,
            max_files: config.log_max_files,
            format: config.log_format,
        }
    }
}

impl From<&Config> for LogSettings {
    fn from(config: &Config) -> Self {
        Self::from_config(config)
    }
}

impl From<&LogSettings> for LogSettings {
    fn from(settings: &LogSettings) -> Self {
        settings.clone()
    }
}

/// Keeps logging running: dropping it flushes the lines still buffered and stops the writer
/// thread, so hold it until the program ends. It also changes the level at reload.
#[must_use = "dropping the guard stops logging"]
pub struct LogGuard {
    _writer: WorkerGuard,
    level: reload::Handle<LevelFilter, Registry>,
}

impl std::fmt::Debug for LogGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogGuard").finish_non_exhaustive()
    }
}

impl LogGuard {
    /// Changes the level (e.g. after a reload changed `log_level`).
    ///
    /// # Errors
    /// When the subscriber this guard belongs to is gone.
    pub fn set_level(&self, level: LogLevel) -> Result<(), TelemetryError> {
        self.level
            .reload(LevelFilter::from_level(level.to_tracing()))
            .map_err(|e| TelemetryError::Subscriber(e.to_string()))
    }
}

/// Builds the subscriber without installing it (tests use `tracing::subscriber::with_default`).
///
/// # Errors
/// When the log file (or its directory) cannot be created or opened.
pub fn log_subscriber(
    settings: &LogSettings,
) -> Result<(impl tracing::Subscriber + Send + Sync + 'static, LogGuard), TelemetryError> {
    let builder = NonBlockingBuilder::default().thread_name("genhook-log");
    let (writer, worker, ansi) = match &settings.file {
        Some(path) => {
            let file = RotatingFile::open(path, settings.rotation, settings.max_size)
                .map_err(|source| TelemetryError::LogFile {
                    path: path.clone(),
                    source,
                })?
                .keep(settings.max_files);
            let (writer, worker) = builder.finish(file);
            (writer, worker, false)
        }
        None => {
            let ansi = std::io::stderr().is_terminal();
            let (writer, worker) = builder.finish(std::io::stderr());
            (writer, worker, ansi)
        }
    };
    let (filter, level) = reload::Layer::new(LevelFilter::from_level(settings.level.to_tracing()));
    let json = settings.format == LogFormat::Json;
    let text_layer = (!json).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(writer.clone())
            .with_ansi(ansi)
            .with_target(true)
    });
    let json_layer = json.then(|| {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_target(true)
            .with_writer(writer)
    });
    let subscriber = Registry::default()
        .with(filter)
        .with(text_layer)
        .with(json_layer);
    Ok((
        subscriber,
        LogGuard {
            _writer: worker,
            level,
        },
    ))
}

/// Installs the subscriber for the whole process (once, at start-up), from a `&Config` or
/// [`LogSettings`].
///
/// # Errors
/// When the log file cannot be opened, or a global subscriber is already installed.
pub fn init_logging(settings: impl Into<LogSettings>) -> Result<LogGuard, TelemetryError> {
    let (subscriber, guard) = log_subscriber(&settings.into())?;
    subscriber
        .try_init()
        .map_err(|e| TelemetryError::Subscriber(e.to_string()))?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn lines_reach_the_file_at_the_configured_level_and_the_level_can_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/genhook.log");
        let mut config = Config::defaults();
        config.log_file = Some(path.clone());
        config.log_level = LogLevel::Info;
        let (subscriber, guard) = log_subscriber(&LogSettings::from_config(&config)).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(source = "github", "Webhook accepted.");
            tracing::debug!("Hidden at info.");
            guard.set_level(LogLevel::Debug).unwrap();
            tracing::debug!(attempt = 2, "Shown at debug.");
            guard.set_level(LogLevel::Error).unwrap();
            tracing::warn!("Hidden at error.");
        });
        drop(guard); // flushes the writer thread
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("INFO"), "{text}");
        assert!(
            text.contains("Webhook accepted. source=\"github\""),
            "{text}"
        );
        assert!(
            text.contains("DEBUG genhook::telemetry::logging::tests: Shown at debug. attempt=2"),
            "{text}"
        );
        assert!(!text.contains("Hidden"), "{text}");
        assert!(
            !text.contains('\u{1b}'),
            "no colour codes in a file: {text}"
        );
    }

    #[test]
    fn json_lines_have_stable_field_names_and_the_event_fields_flattened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("genhook.log");
        let settings = LogSettings {
            level: LogLevel::Info,
            file: Some(path.clone()),
            rotation: LogRotation::Never,
            max_size: 0,
            max_files: 0,
            format: LogFormat::Json,
        };
        let (subscriber, guard) = log_subscriber(&settings).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", secret_span_field = "no");
            let _entered = span.enter();
            tracing::info!(source = "github", attempts = 2_u32, "Delivered to SL1.");
            tracing::warn!("Second \"line\"\nwith a newline.");
        });
        drop(guard);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first = lines[0].as_object().unwrap();
        let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "attempts",
                "level",
                "message",
                "source",
                "target",
                "timestamp"
            ]
        );
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["target"], "genhook::telemetry::logging::tests");
        assert_eq!(first["message"], "Delivered to SL1.");
        assert_eq!(first["source"], "github");
        assert_eq!(first["attempts"], 2);
        assert_eq!(lines[1]["message"], "Second \"line\"\nwith a newline.");
        assert_eq!(lines[1]["level"], "WARN");
    }

    #[test]
    fn an_unusable_log_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be.
        let settings = LogSettings {
            level: LogLevel::Info,
            file: Some(dir.path().to_path_buf()),
            rotation: LogRotation::Daily,
            max_size: 0,
            max_files: 0,
            format: LogFormat::Text,
        };
        let err = log_subscriber(&settings).map(|_| ()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "cannot open the log file {}",
                dir.path().display()
            )),
            "{err}"
        );
    }
}
