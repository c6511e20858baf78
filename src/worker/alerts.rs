//! Alerting on GenHook's own failures (issue 5 item 4).
//!
//! - When the circuit to SL1 opens, an *episode* starts: it is logged at `error`, the
//!   `genhook_sl1_circuit_state` gauge shows it, and the events requeued or dead-lettered while it
//!   lasts are counted. When the circuit closes again (SL1 answered), ONE summarising alert is sent
//!   to SL1: "GenHook: SL1 was unreachable from T1 to T2; N events delayed, M dead-lettered".
//!   A half-open probe that fails does not start a new episode.
//! - When the dead-letter queue grows past `dlq_alert_threshold`, it is logged at `error`, the
//!   `genhook_dlq_size` gauge shows it, and ONE alert is sent to SL1 (at once if the circuit is
//!   closed, else with the episode's summary). It re-arms once the DLQ is back under the threshold.
//! - When the queue's storage fails (disk full or read-only, I/O errors: webhooks are answered
//!   503 meanwhile), ONE alert is sent to SL1: "GenHook: queue storage unavailable: REASON", and
//!   ONE when the store takes writes again. SL1 is reached directly, not through the queue.
//!
//! Without `sl1_api_url` the alerts are only logged.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use arc_swap::ArcSwapOption;
use genhook_core::metrics;
use genhook_core::queue::{DeadLetters, Queue};
use genhook_core::AlertDefaults;
use tokio::sync::watch;

use super::breaker::BreakerState;
use super::sl1::{Sl1Client, Sl1Request};
use super::stack::Deliverer;

/// The source name GenHook's own alerts are sent under.
pub const SELF_SOURCE: &str = "genhook";

/// How often the queue's storage is looked at for the storage alerts.
const STORAGE_POLL: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Debug)]
struct Episode {
    started: SystemTime,
    delayed: HashSet<String>,
    dead_lettered: u64,
}

/// Watches the breaker and the DLQ and raises GenHook's own alerts.
#[derive(Debug)]
pub(crate) struct SelfMonitor {
    dead_letters: Arc<dyn DeadLetters>,
    threshold: AtomicUsize,
    sender: ArcSwapOption<Deliverer<Sl1Client>>,
    episode: Mutex<Option<Episode>>,
    dlq_alerted: AtomicBool,
    dlq_pending: Mutex<Option<String>>,
}

impl SelfMonitor {
    pub(crate) fn new(
        dead_letters: Arc<dyn DeadLetters>,
        threshold: usize,
        sender: Option<Deliverer<Sl1Client>>,
    ) -> Self {
        Self {
            dead_letters,
            threshold: AtomicUsize::new(threshold),
            sender: ArcSwapOption::from_pointee(sender),
            episode: Mutex::new(None),
            dlq_alerted: AtomicBool::new(false),
            dlq_pending: Mutex::new(None),
        }
    }

    /// A reload changed the threshold or the delivery target.
    pub(crate) fn reconfigure(&self, threshold: usize, sender: Option<Deliverer<Sl1Client>>) {
        self.threshold.store(threshold, Ordering::Relaxed);
        self.sender.store(sender.map(Arc::new));
    }

    fn episode(&self) -> std::sync::MutexGuard<'_, Option<Episode>> {
        self.episode.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An event was put back because the circuit is open.
    pub(crate) fn delayed(&self, event_id: &str) {
        if let Some(episode) = self.episode().as_mut() {
            episode.delayed.insert(event_id.to_owned());
        }
    }

    /// Sets the `genhook_dlq_size` gauge from the store (at start).
    pub(crate) async fn refresh_dlq_size(&self) {
        match self.dead_letters.count().await {
            Ok(count) => ::metrics::gauge!(metrics::DLQ_SIZE).set(count as f64),
            Err(error) => tracing::warn!(%error, "Cannot count the dead letters."),
        }
    }

    /// An event was dead-lettered: count it and check the DLQ size.
    pub(crate) async fn dead_lettered(&self) {
        if let Some(episode) = self.episode().as_mut() {
            episode.dead_lettered += 1;
        }
        let count = match self.dead_letters.count().await {
            Ok(count) => count,
            Err(error) => {
                tracing::warn!(%error, "Cannot count the dead letters.");
                return;
            }
        };
        ::metrics::gauge!(metrics::DLQ_SIZE).set(count as f64);
        let threshold = self.threshold.load(Ordering::Relaxed);
        if threshold == 0 {
            return;
        }
        if count <= threshold {
            self.dlq_alerted.store(false, Ordering::Relaxed);
            return;
        }
        if self.dlq_alerted.swap(true, Ordering::Relaxed) {
            return;
        }
        let message =
            format!("GenHook: the dead-letter queue holds {count} events (threshold {threshold})");
        tracing::error!(
            dead_letters = count,
            threshold,
            "Dead-letter queue passed its alert threshold."
        );
        let open = self
            .sender
            .load()
            .as_ref()
            .is_some_and(|d| d.breaker().state() != BreakerState::Closed);
        if open {
            *self
                .dlq_pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(message);
        } else {
            self.send(message).await;
        }
    }

    async fn send(&self, message: String) {
        let Some(sender) = self.sender.load_full() else {
            tracing::warn!(%message, "GenHook alert (no sl1_api_url, logged only).");
            return;
        };
        let id = uuid::Uuid::now_v7().to_string();
        let request = Sl1Request::new(AlertDefaults::default().alert(message), id, SELF_SOURCE);
        match sender.deliver(request).await {
            Ok(_) => tracing::info!("GenHook's own alert was delivered to SL1."),
            Err(error) => tracing::warn!(%error, "GenHook's own alert could not be delivered."),
        }
    }

    /// Follows the queue's storage (until aborted): one alert when it fails, one when it is
    /// back.
    pub(crate) async fn watch_storage(self: Arc<Self>, queue: Arc<dyn Queue>) {
        let mut since: Option<SystemTime> = None;
        let mut tick = tokio::time::interval(STORAGE_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match (queue.unavailable_reason(), since) {
                (Some(reason), None) => {
                    since = Some(SystemTime::now());
                    self.send(format!(
                        "GenHook: queue storage unavailable: {reason}; webhooks are answered 503 until it recovers"
                    ))
                    .await;
                }
                (None, Some(started)) => {
                    since = None;
                    self.send(format!(
                        "GenHook: queue storage recovered; it was unavailable from {} to {}",
                        httpdate::fmt_http_date(started),
                        httpdate::fmt_http_date(SystemTime::now())
                    ))
                    .await;
                }
                _ => {}
            }
        }
    }

    /// Follows the breaker until the channel closes.
    pub(crate) async fn run(self: Arc<Self>, mut states: watch::Receiver<BreakerState>) {
        while states.changed().await.is_ok() {
            let state = *states.borrow_and_update();
            self.on_state(state).await;
        }
    }

    async fn on_state(&self, state: BreakerState) {
        match state {
            BreakerState::Open => {
                let mut episode = self.episode();
                if episode.is_none() {
                    *episode = Some(Episode {
                        started: SystemTime::now(),
                        delayed: HashSet::new(),
                        dead_lettered: 0,
                    });
                    tracing::error!(
                        "SL1 is unreachable: circuit opened, events are held back until it answers."
                    );
                }
            }
            BreakerState::HalfOpen => {}
            BreakerState::Closed => {
                let Some(episode) = self.episode().take() else {
                    return;
                };
                let ended = SystemTime::now();
                let message = format!(
                    "GenHook: SL1 was unreachable from {} to {}; {} events delayed, {} dead-lettered",
                    httpdate::fmt_http_date(episode.started),
                    httpdate::fmt_http_date(ended),
                    episode.delayed.len(),
                    episode.dead_lettered
                );
                tracing::warn!(
                    delayed = episode.delayed.len(),
                    dead_lettered = episode.dead_lettered,
                    "SL1 is reachable again: circuit closed."
                );
                self.send(message).await;
                let pending = self
                    .dlq_pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some(message) = pending {
                    self.send(message).await;
                }
            }
        }
    }
}
