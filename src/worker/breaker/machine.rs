//! The circuit's state machine, [`Breaker`]: closed, open for a cooldown, half-open with one
//! probe; shared by every clone, its state published on a watch channel and, optionally, a gauge.
//! A [`Permit`] is leave for one call and reports how it went.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// The state of a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// The cooldown is over; one probe call is going through.
    HalfOpen,
    /// Calls fail fast.
    Open,
}

impl BreakerState {
    /// The gauge value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> f64 {
        match self {
            Self::Closed => 0.0,
            Self::HalfOpen => 1.0,
            Self::Open => 2.0,
        }
    }
}

/// The circuit is open: the call was refused without reaching the inner service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker is open")]
pub struct BreakerOpen {
    pub(super) retry_in: Duration,
}

impl BreakerOpen {
    /// How long until the breaker lets a probe through.
    pub fn retry_in(&self) -> Duration {
        self.retry_in
    }
}

#[derive(Debug)]
struct Machine {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Instant,
    probe_in_flight: bool,
}

struct Shared {
    threshold: u32,
    cooldown: Duration,
    gauge: Option<&'static str>,
    machine: Mutex<Machine>,
    watch: watch::Sender<BreakerState>,
}

/// The shared state machine of a circuit breaker. Clones share it.
#[derive(Clone)]
pub struct Breaker {
    shared: Arc<Shared>,
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("threshold", &self.shared.threshold)
            .field("cooldown", &self.shared.cooldown)
            .field("state", &self.state())
            .finish()
    }
}

impl Breaker {
    /// A closed breaker that opens after `threshold` consecutive failures (at least 1) and lets a
    /// probe through `cooldown` after opening.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self::build(threshold, cooldown, None)
    }

    /// Like [`new`](Self::new), also publishing its state to the gauge `name`.
    pub fn with_gauge(threshold: u32, cooldown: Duration, name: &'static str) -> Self {
        ::metrics::gauge!(name).set(BreakerState::Closed.gauge());
        Self::build(threshold, cooldown, Some(name))
    }

    fn build(threshold: u32, cooldown: Duration, gauge: Option<&'static str>) -> Self {
        let (watch, _) = watch::channel(BreakerState::Closed);
        Self {
            shared: Arc::new(Shared {
                threshold: threshold.max(1),
                cooldown,
                gauge,
                machine: Mutex::new(Machine {
                    state: BreakerState::Closed,
                    consecutive_failures: 0,
                    opened_at: Instant::now(),
                    probe_in_flight: false,
                }),
                watch,
            }),
        }
    }

    /// The cooldown.
    pub fn cooldown(&self) -> Duration {
        self.shared.cooldown
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // The critical sections below cannot leave the machine half-updated, so a poisoned lock
        // (a panic elsewhere while holding it) still holds a consistent state.
        self.shared
            .machine
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        self.lock().state
    }

    /// State changes, as a watch channel.
    pub fn subscribe(&self) -> watch::Receiver<BreakerState> {
        self.shared.watch.subscribe()
    }

    /// Whether a call now would be refused (open and still cooling down, or half-open with its
    /// probe already in flight).
    pub fn is_refusing(&self) -> bool {
        let machine = self.lock();
        match machine.state {
            BreakerState::Closed => false,
            BreakerState::HalfOpen => machine.probe_in_flight,
            BreakerState::Open => Instant::now() < machine.opened_at + self.shared.cooldown,
        }
    }

    fn set_state(&self, machine: &mut Machine, state: BreakerState) {
        if machine.state == state {
            return;
        }
        machine.state = state;
        if let Some(name) = self.shared.gauge {
            ::metrics::gauge!(name).set(state.gauge());
        }
        self.shared.watch.send_replace(state);
    }

    /// Asks to make one call: a [`Permit`] to report its outcome with, or [`BreakerOpen`].
    ///
    /// # Errors
    /// [`BreakerOpen`] while the circuit is open, or half-open with its probe in flight.
    pub fn try_acquire(&self) -> Result<Permit, BreakerOpen> {
        let mut machine = self.lock();
        let now = Instant::now();
        let reopen_at = machine.opened_at + self.shared.cooldown;
        match machine.state {
            BreakerState::Closed => Ok(self.permit(false)),
            BreakerState::Open if now >= reopen_at => {
                machine.probe_in_flight = true;
                self.set_state(&mut machine, BreakerState::HalfOpen);
                tracing::info!("Circuit breaker half-open: letting one probe through.");
                Ok(self.permit(true))
            }
            BreakerState::HalfOpen if !machine.probe_in_flight => {
                machine.probe_in_flight = true;
                Ok(self.permit(true))
            }
            BreakerState::Open => Err(BreakerOpen {
                retry_in: reopen_at.saturating_duration_since(now),
            }),
            // A probe is in flight: its answer decides. Come back after a short while (at most
            // a second), not at once, so that callers do not spin.
            BreakerState::HalfOpen => Err(BreakerOpen {
                retry_in: self.shared.cooldown.min(Duration::from_secs(1)),
            }),
        }
    }

    fn permit(&self, probe: bool) -> Permit {
        Permit {
            breaker: self.clone(),
            probe,
            done: false,
        }
    }

    fn record(&self, probe: bool, failed: bool) {
        let mut machine = self.lock();
        if probe {
            machine.probe_in_flight = false;
        }
        if !failed {
            machine.consecutive_failures = 0;
            if machine.state != BreakerState::Closed {
                self.set_state(&mut machine, BreakerState::Closed);
                tracing::info!("Circuit breaker closed: calls go through again.");
            }
            return;
        }
        machine.consecutive_failures = machine.consecutive_failures.saturating_add(1);
        let opens = match machine.state {
            BreakerState::HalfOpen => probe,
            BreakerState::Closed => machine.consecutive_failures >= self.shared.threshold,
            BreakerState::Open => false,
        };
        if opens {
            machine.opened_at = Instant::now();
            self.set_state(&mut machine, BreakerState::Open);
            tracing::warn!(
                consecutive_failures = machine.consecutive_failures,
                cooldown_s = self.shared.cooldown.as_secs_f64(),
                "Circuit breaker opened: failing fast until the cooldown is over."
            );
        }
    }
}

/// Leave to make one call through a [`Breaker`]; report how it went with
/// [`success`](Self::success) or [`failure`](Self::failure). Dropping it unreported (the call
/// was cancelled) counts as neither, and frees the probe slot.
#[derive(Debug)]
pub struct Permit {
    breaker: Breaker,
    probe: bool,
    done: bool,
}

impl Permit {
    /// The call succeeded (or failed in a way that says nothing about the inner service's health).
    pub fn success(mut self) {
        self.done = true;
        self.breaker.record(self.probe, false);
    }

    /// The call failed.
    pub fn failure(mut self) {
        self.done = true;
        self.breaker.record(self.probe, true);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done && self.probe {
            self.breaker.lock().probe_in_flight = false;
        }
    }
}
