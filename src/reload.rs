//! Hot reload: on SIGHUP, or when a file of the mappings directory changes, build new stacks
//! and swap them in whole. A set of files that fails validation never replaces a working one:
//! its problems are logged and the service keeps running on what it had.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::loader::Loader;
use crate::server::AppState;

/// How often the mappings directory is looked at.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Reloads once: builds new stacks and swaps them in, or logs why not. Returns whether the
/// new stacks were taken.
pub fn reload_now(loader: &Loader, state: &AppState) -> bool {
    match loader.load() {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                tracing::warn!(%warning, "Mapping warning.");
            }
            let sources = loaded.stacks.routes().count();
            state.replace_stacks(loaded.stacks);
            tracing::info!(sources, "Mappings reloaded.");
            true
        }
        Err(problems) => {
            for problem in &problems {
                tracing::error!(%problem, "Mapping problem.");
            }
            tracing::error!(
                problems = problems.len(),
                "Reload refused: the mappings do not validate; keeping the ones in use."
            );
            false
        }
    }
}

/// What the mappings directory looked like: file names with their modification times and sizes.
/// Take it *before* loading, so that a change made while loading is noticed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint(BTreeMap<PathBuf, (Option<SystemTime>, u64)>);

impl Fingerprint {
    /// The directory as it is now.
    pub fn of(dir: &Path) -> Self {
        Self(fingerprint(dir))
    }
}

/// Watches for SIGHUP and for changes in the mappings directory (compared with `loaded`, the
/// state the running stacks were loaded from) until the task is dropped.
pub async fn watch(loader: Loader, state: AppState, loaded: Fingerprint) {
    let mut seen = loaded.0;
    let mut hangup = hangup_signal();
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let by_signal = tokio::select! {
            _ = tick.tick() => false,
            () = next_hangup(&mut hangup) => true,
        };
        let dir = loader.mappings_dir().to_owned();
        let now = tokio::task::spawn_blocking(move || fingerprint(&dir))
            .await
            .unwrap_or_default();
        if by_signal || now != seen {
            tracing::info!(by_signal, "Reloading mappings.");
            seen = now;
            reload_now(&loader, &state);
        }
    }
}

/// File names with their modification times and sizes: a change in any means reload.
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, (Option<SystemTime>, u64)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            Some((entry.path(), (meta.modified().ok(), meta.len())))
        })
        .collect()
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn hangup_signal() -> Hangup {}

#[cfg(unix)]
async fn next_hangup(signal: &mut Hangup) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn next_hangup(_signal: &mut Hangup) {
    std::future::pending().await
}
