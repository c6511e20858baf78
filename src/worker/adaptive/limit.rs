//! [`AdaptiveLimit`]: the one limit the pool shares, enforced by two semaphores whose size
//! follows the [`Controller`] (deliveries in flight and attempts at SL1), and the slots
//! ([`DeliverySlot`], [`AttemptSlot`]) that hold room in them.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use genhook_core::metrics;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::controller::{Controller, Signal};

/// A semaphore whose size follows the limit. Shrinking takes free permits away at once and the
/// rest as they are given back (`debt`).
#[derive(Debug)]
struct Gate {
    semaphore: Arc<Semaphore>,
    debt: Mutex<usize>,
}

impl Gate {
    fn new(size: usize) -> Self {
        Self {
            semaphore: Arc::new(Semaphore::new(size)),
            debt: Mutex::new(0),
        }
    }

    fn debt(&self) -> MutexGuard<'_, usize> {
        self.debt.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn resize(&self, from: usize, to: usize) {
        let mut debt = self.debt();
        if to > from {
            let more = to - from;
            let repaid = more.min(*debt);
            *debt -= repaid;
            self.semaphore.add_permits(more - repaid);
        } else {
            let fewer = from - to;
            *debt += fewer - self.semaphore.forget_permits(fewer);
        }
    }

    /// `None` only if the semaphore were closed, which it never is: then nothing is limited.
    async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.semaphore).acquire_owned().await.ok()
    }

    /// Withdraws `permit` if the limit was lowered below the permits out; whether it did.
    fn withdraw_if_owed(&self, permit: &mut Option<OwnedSemaphorePermit>) -> bool {
        let mut debt = self.debt();
        if *debt == 0 {
            return false;
        }
        match permit.take() {
            Some(permit) => {
                *debt -= 1;
                permit.forget();
                true
            }
            None => false,
        }
    }

    /// Gives `permit` back: withdrawn while the limit owes permits, to the semaphore otherwise.
    fn release(&self, mut permit: Option<OwnedSemaphorePermit>) {
        self.withdraw_if_owed(&mut permit);
    }
}

#[derive(Debug)]
struct Shared {
    control: Mutex<Controller>,
    deliveries: Gate,
    attempts: Gate,
}

/// The adaptive limit shared by the dispatcher and the worker stack. Cheap to clone.
#[derive(Clone)]
pub struct AdaptiveLimit {
    shared: Arc<Shared>,
}

impl fmt::Debug for AdaptiveLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let control = self.control();
        f.debug_struct("AdaptiveLimit")
            .field("limit", &control.limit())
            .field("max", &control.max())
            .field("in_flight", &control.in_flight())
            .finish()
    }
}

impl AdaptiveLimit {
    /// A limit starting at `initial` (`max_worker_threads`), never above `max`
    /// (`sl1_max_inflight`) nor below 1.
    pub fn new(initial: usize, max: usize) -> Self {
        let control = Controller::new(initial, max);
        let limit = control.limit();
        ::metrics::gauge!(metrics::SL1_INFLIGHT_LIMIT).set(limit as f64);
        ::metrics::gauge!(metrics::SL1_INFLIGHT).set(0.0);
        Self {
            shared: Arc::new(Shared {
                control: Mutex::new(control),
                deliveries: Gate::new(limit),
                attempts: Gate::new(limit),
            }),
        }
    }

    pub(super) fn control(&self) -> MutexGuard<'_, Controller> {
        self.shared
            .control
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The limit now.
    pub fn limit(&self) -> usize {
        self.control().limit()
    }

    /// The highest it may go.
    pub fn max(&self) -> usize {
        self.control().max()
    }

    /// Attempts in flight at SL1 now.
    pub fn in_flight(&self) -> usize {
        self.control().in_flight()
    }

    /// Waits for room for one more delivery (the dispatcher, before it takes an event).
    pub async fn delivery_slot(&self) -> DeliverySlot {
        let permit = self.shared.deliveries.acquire().await;
        DeliverySlot {
            permit,
            limit: self.clone(),
        }
    }

    /// Waits for room for one more attempt at SL1.
    pub async fn attempt_slot(&self) -> AttemptSlot {
        let permit = self.shared.attempts.acquire().await;
        let in_flight = {
            let mut control = self.control();
            control.started();
            control.in_flight()
        };
        ::metrics::gauge!(metrics::SL1_INFLIGHT).set(in_flight as f64);
        AttemptSlot {
            permit,
            limit: self.clone(),
        }
    }

    /// Feeds one finished attempt to the controller.
    pub fn record(&self, rtt: Duration, signal: Signal) {
        self.change(|control| control.record(rtt, signal));
    }

    /// Changes the highest limit (a reload of `sl1_max_inflight`).
    pub fn set_max(&self, max: usize) {
        self.change(|control| control.set_max(max));
    }

    fn change(&self, change: impl FnOnce(&mut Controller)) {
        let mut control = self.control();
        let before = control.limit();
        change(&mut control);
        let after = control.limit();
        if after != before {
            self.shared.deliveries.resize(before, after);
            self.shared.attempts.resize(before, after);
            ::metrics::gauge!(metrics::SL1_INFLIGHT_LIMIT).set(after as f64);
            tracing::debug!(limit = after, "SL1 in-flight limit changed.");
        }
    }
}

/// Room for one delivery, held from before the event is taken until it is settled (by a
/// delivery loop, for as long as the limit keeps it).
#[derive(Debug)]
pub struct DeliverySlot {
    permit: Option<OwnedSemaphorePermit>,
    limit: AdaptiveLimit,
}

impl DeliverySlot {
    /// When the limit was lowered below the slots out, withdraws this one (it then holds no
    /// room: drop it) and says so; otherwise keeps it. Exactly as many waiting slots are
    /// withdrawn as the limit went down by.
    pub fn withdraw_if_owed(&mut self) -> bool {
        self.limit
            .shared
            .deliveries
            .withdraw_if_owed(&mut self.permit)
    }
}

impl Drop for DeliverySlot {
    fn drop(&mut self) {
        self.limit.shared.deliveries.release(self.permit.take());
    }
}

/// Room for one attempt at SL1, held while it is in flight.
#[derive(Debug)]
pub struct AttemptSlot {
    permit: Option<OwnedSemaphorePermit>,
    limit: AdaptiveLimit,
}

impl Drop for AttemptSlot {
    fn drop(&mut self) {
        let in_flight = {
            let mut control = self.limit.control();
            control.ended();
            control.in_flight()
        };
        ::metrics::gauge!(metrics::SL1_INFLIGHT).set(in_flight as f64);
        self.limit.shared.attempts.release(self.permit.take());
    }
}

#[cfg(test)]
mod tests {
    use super::super::controller::MIN_WINDOW;
    use super::*;

    const RTT: Duration = Duration::from_millis(20);

    #[tokio::test]
    async fn the_gates_follow_the_limit() {
        let limit = AdaptiveLimit::new(4, 8);
        let slots: Vec<AttemptSlot> =
            futures_util::future::join_all((0..4).map(|_| limit.attempt_slot())).await;
        assert_eq!(limit.in_flight(), 4);
        assert_eq!(limit.shared.attempts.semaphore.available_permits(), 0);
        // Halved while all four are out: two are withdrawn as they come back.
        limit.record(RTT, Signal::Overloaded);
        assert_eq!(limit.limit(), 2);
        drop(slots);
        assert_eq!(limit.in_flight(), 0);
        assert_eq!(limit.shared.attempts.semaphore.available_permits(), 2);
        assert_eq!(limit.shared.deliveries.semaphore.available_permits(), 2);
        // Grown back: the permits come back.
        limit.set_max(8);
        // The window after the decrease does not grow; the next one does.
        for _ in 0..2 * MIN_WINDOW {
            let _a = limit.attempt_slot().await;
            let _b = limit.attempt_slot().await;
            limit.record(RTT, Signal::Answered);
        }
        assert_eq!(limit.limit(), 3);
        assert_eq!(limit.shared.attempts.semaphore.available_permits(), 3);
        let _held: Vec<DeliverySlot> =
            futures_util::future::join_all((0..3).map(|_| limit.delivery_slot())).await;
        assert_eq!(limit.shared.deliveries.semaphore.available_permits(), 0);
    }

    #[tokio::test]
    async fn a_lowered_limit_withdraws_as_many_held_slots_as_it_went_down_by() {
        let limit = AdaptiveLimit::new(4, 8);
        let mut slots: Vec<DeliverySlot> =
            futures_util::future::join_all((0..4).map(|_| limit.delivery_slot())).await;
        assert!(!slots.iter_mut().any(DeliverySlot::withdraw_if_owed));
        limit.record(RTT, Signal::Overloaded);
        assert_eq!(limit.limit(), 2);
        // Each delivery loop looks before its next event: two are withdrawn, two kept, and
        // none goes back to the semaphore.
        let withdrawn = slots
            .iter_mut()
            .map(DeliverySlot::withdraw_if_owed)
            .filter(|&w| w)
            .count();
        assert_eq!(withdrawn, 2);
        drop(slots);
        assert_eq!(limit.shared.deliveries.semaphore.available_permits(), 2);
    }
}
