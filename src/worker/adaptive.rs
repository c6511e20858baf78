//! The adaptive limit on SL1 deliveries in flight: AIMD on SL1's answers, in the manner of
//! Vector's adaptive request concurrency.
//!
//! One [`AdaptiveLimit`] is shared by the whole pool. It caps two things with the same number:
//! - the **deliveries** in flight: the dispatcher takes an event from the queue only with a
//!   [`DeliverySlot`] (so no event leaves the queue that could not be sent now, and the queue's
//!   priority order holds);
//! - the **attempts** in flight at SL1: the [`Adaptive`] middleware of the worker stack takes an
//!   attempt slot for each HTTP attempt, so that when the limit falls, deliveries already in flight
//!   (retrying) send less too. A backoff sleep holds no attempt slot.
//!
//! The [`Adaptive`] middleware also measures each attempt (its round-trip time, and whether the
//! error, if any, says SL1 is overloaded) and feeds the [`Controller`]:
//!
//! | signal | change |
//! |---|---|
//! | an overload answer (5xx, 408, 429, timeout, connection error: what the breaker counts) | limit × 0.5 at once, at most once per window |
//! | a window whose mean RTT is above 1.5 × the baseline (latency climbs) | limit × 0.9 |
//! | a window without either, in which the attempts in flight reached the limit | limit + 1 |
//!
//! A window is `max(limit, 5)` finished attempts (about one round trip when the limit is in
//! use); the baseline is an exponentially weighted mean of the windows' mean RTTs (weight 0.2
//! for the newest), so it follows a lasting change of SL1's latency within a few windows. The
//! limit never goes above `sl1_max_inflight` nor below 1; it starts at `max_worker_threads`.
//! Time is only ever passed in (the middleware reads `tokio::time`), so the controller is driven
//! by synthetic latencies in tests.
//!
//! The gauges `genhook_sl1_inflight_limit` (the limit) and `genhook_sl1_inflight` (attempts in
//! flight at SL1) follow it.
//!
//! ```
//! use std::time::Duration;
//! use genhook::worker::adaptive::{Controller, Signal};
//!
//! let mut controller = Controller::new(4, 16);
//! for _ in 0..5 {
//!     controller.started();
//!     controller.ended();
//!     controller.record(Duration::from_millis(20), Signal::Answered);
//! }
//! assert_eq!(controller.limit(), 4, "the limit was not reached: no growth");
//! controller.record(Duration::from_millis(20), Signal::Overloaded);
//! assert_eq!(controller.limit(), 2, "halved");
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use genhook_core::metrics;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::{BoxError, Layer, Service};

use super::breaker::FailureClassifier;

/// Finished attempts per window, at least.
pub const MIN_WINDOW: usize = 5;
/// The factor applied to the limit on an overload answer.
pub const OVERLOAD_DECREASE: f64 = 0.5;
/// The factor applied to the limit when latency climbs.
pub const LATENCY_DECREASE: f64 = 0.9;
/// A window's mean RTT above `baseline × LATENCY_TOLERANCE` is a latency climb.
pub const LATENCY_TOLERANCE: f64 = 1.5;
/// The weight of the newest window in the baseline RTT.
pub const BASELINE_WEIGHT: f64 = 0.2;

/// What one finished attempt says about SL1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SL1 answered (accepted, or refused the alert for a reason of its own, e.g. `400`).
    Answered,
    /// SL1 is overloaded or unreachable: 5xx, 408, 429, a timeout or a connection error.
    Overloaded,
}

/// The current window's tally.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    /// Attempts finished in it.
    finished: usize,
    /// The RTTs of the answered ones, in seconds, and their number.
    rtt_sum: f64,
    answered: usize,
    /// The attempts in flight reached the limit during the window.
    reached_limit: bool,
    /// It started with an overload decrease: no second one in it, and no change at its end
    /// (its attempts were mostly in flight before the decrease).
    backed_off: bool,
}

/// The AIMD state machine, without any clock or semaphore: fed with attempts' starts, ends and
/// measurements, it says what the limit is.
#[derive(Debug, Clone)]
pub struct Controller {
    limit: usize,
    max: usize,
    in_flight: usize,
    baseline: Option<f64>,
    window: Window,
}

impl Controller {
    /// Starts at `initial`, within `1..=max`.
    pub fn new(initial: usize, max: usize) -> Self {
        let max = max.max(1);
        Self {
            limit: initial.clamp(1, max),
            max,
            in_flight: 0,
            baseline: None,
            window: Window::default(),
        }
    }

    /// The limit now.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The highest the limit may go (`sl1_max_inflight`).
    pub fn max(&self) -> usize {
        self.max
    }

    /// Attempts in flight now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The baseline RTT, once a window with answers has closed.
    pub fn baseline(&self) -> Option<Duration> {
        self.baseline.map(Duration::from_secs_f64)
    }

    /// An attempt started.
    pub fn started(&mut self) {
        self.in_flight += 1;
        if self.in_flight >= self.limit {
            self.window.reached_limit = true;
        }
    }

    /// An attempt ended (whatever its outcome).
    pub fn ended(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Records one finished attempt: its round-trip time and what it said.
    pub fn record(&mut self, rtt: Duration, signal: Signal) {
        match signal {
            Signal::Overloaded if !self.window.backed_off => {
                self.limit = decreased(self.limit, OVERLOAD_DECREASE);
                self.new_window(true);
                return;
            }
            Signal::Overloaded => {}
            Signal::Answered => {
                self.window.rtt_sum += rtt.as_secs_f64();
                self.window.answered += 1;
            }
        }
        self.window.finished += 1;
        if self.window.finished >= self.limit.max(MIN_WINDOW) {
            self.close_window();
        }
    }

    /// Changes the highest limit (a reload); the limit comes down to it when above.
    pub fn set_max(&mut self, max: usize) {
        self.max = max.max(1);
        self.limit = self.limit.min(self.max);
    }

    fn close_window(&mut self) {
        let window = self.window;
        let mean = (window.answered > 0).then(|| window.rtt_sum / window.answered as f64);
        let climbed = match (mean, self.baseline) {
            (Some(mean), Some(baseline)) => mean > baseline * LATENCY_TOLERANCE,
            _ => false,
        };
        if !window.backed_off {
            if climbed {
                self.limit = decreased(self.limit, LATENCY_DECREASE);
            } else if window.reached_limit && self.limit < self.max {
                self.limit += 1;
            }
        }
        if let Some(mean) = mean {
            self.baseline = Some(match self.baseline {
                Some(baseline) => baseline + BASELINE_WEIGHT * (mean - baseline),
                None => mean,
            });
        }
        self.new_window(false);
    }

    fn new_window(&mut self, backed_off: bool) {
        self.window = Window {
            backed_off,
            reached_limit: self.in_flight >= self.limit,
            ..Window::default()
        };
    }
}

/// `limit × factor`, rounded down, at least 1.
fn decreased(limit: usize, factor: f64) -> usize {
    ((limit as f64 * factor).floor() as usize).max(1)
}

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

    fn release(&self, permit: Option<OwnedSemaphorePermit>) {
        let mut debt = self.debt();
        if let Some(permit) = permit {
            if *debt > 0 {
                *debt -= 1;
                permit.forget();
            }
        }
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

    fn control(&self) -> MutexGuard<'_, Controller> {
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

/// Room for one delivery, held from before the event is taken until it is settled.
#[derive(Debug)]
pub struct DeliverySlot {
    permit: Option<OwnedSemaphorePermit>,
    limit: AdaptiveLimit,
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

/// Wraps a service in [`Adaptive`].
#[derive(Debug, Clone)]
pub struct AdaptiveLayer<C> {
    limit: AdaptiveLimit,
    classifier: C,
}

impl<C: FailureClassifier> AdaptiveLayer<C> {
    /// Attempts take a slot of `limit`; the errors `classifier` calls failures are overload
    /// signals.
    pub fn new(limit: AdaptiveLimit, classifier: C) -> Self {
        Self { limit, classifier }
    }
}

impl<S, C: FailureClassifier> Layer<S> for AdaptiveLayer<C> {
    type Service = Adaptive<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Adaptive {
            inner,
            limit: self.limit.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// The middleware: each call waits for an attempt slot, then calls the inner service and feeds
/// its round-trip time and outcome to the limit. The slot is taken in the response future, after
/// the inner service was polled ready (the worker stack's inner services, the attempt timeout and
/// the SL1 client, are always ready).
#[derive(Debug, Clone)]
pub struct Adaptive<S, C> {
    inner: S,
    limit: AdaptiveLimit,
    classifier: C,
}

impl<S, C> Adaptive<S, C> {
    /// The shared limit.
    pub fn limit(&self) -> &AdaptiveLimit {
        &self.limit
    }
}

// === impl Adaptive ===

impl<S, C, R> Service<R> for Adaptive<S, C>
where
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    S::Response: Send,
    C: FailureClassifier + Send + 'static,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: R) -> Self::Future {
        // The instance polled ready goes into the future; a clone stays for the next poll_ready.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let limit = self.limit.clone();
        let classifier = self.classifier.clone();
        Box::pin(async move {
            let _slot = limit.attempt_slot().await;
            let started = Instant::now();
            let result = inner.call(request).await.map_err(Into::into);
            let signal = match &result {
                Err(error) if classifier.is_failure(error) => Signal::Overloaded,
                _ => Signal::Answered,
            };
            limit.record(started.elapsed(), signal);
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RTT: Duration = Duration::from_millis(20);

    /// `n` attempts with all `concurrency` slots busy each time, answered in `rtt`.
    fn saturated(control: &mut Controller, n: usize, rtt: Duration) {
        for _ in 0..n {
            let concurrency = control.limit();
            for _ in 0..concurrency {
                control.started();
            }
            for _ in 0..concurrency {
                control.ended();
            }
            control.record(rtt, Signal::Answered);
        }
    }

    /// One attempt at a time, far below the limit.
    fn light(control: &mut Controller, n: usize, rtt: Duration) {
        for _ in 0..n {
            control.started();
            control.ended();
            control.record(rtt, Signal::Answered);
        }
    }

    #[test]
    fn grows_by_one_per_window_of_successes_at_the_limit() {
        let mut control = Controller::new(8, 256);
        // A window is `limit` attempts (at least 5).
        saturated(&mut control, 8, RTT);
        assert_eq!(control.limit(), 9);
        saturated(&mut control, 9, RTT);
        assert_eq!(control.limit(), 10);
        saturated(&mut control, 10 + 11 + 12, RTT);
        assert_eq!(control.limit(), 13);
        assert_eq!(control.baseline(), Some(RTT));
    }

    #[test]
    fn small_limits_wait_for_a_window_of_five() {
        let mut control = Controller::new(1, 8);
        saturated(&mut control, 4, RTT);
        assert_eq!(control.limit(), 1);
        saturated(&mut control, 1, RTT);
        assert_eq!(control.limit(), 2);
    }

    #[test]
    fn does_not_grow_when_the_limit_is_not_used() {
        let mut control = Controller::new(8, 256);
        light(&mut control, 1000, RTT);
        assert_eq!(control.limit(), 8);
    }

    #[test]
    fn never_above_max() {
        let mut control = Controller::new(3, 5);
        saturated(&mut control, 500, RTT);
        assert_eq!(control.limit(), 5);
        assert_eq!(
            Controller::new(300, 5).limit(),
            5,
            "the start is capped too"
        );
        assert_eq!(Controller::new(0, 0).limit(), 1);
    }

    #[test]
    fn an_overload_answer_halves_at_once_then_not_again_in_the_window() {
        let mut control = Controller::new(64, 256);
        control.record(RTT, Signal::Overloaded);
        assert_eq!(control.limit(), 32);
        // The next answers, a window of the new limit's size (32), do not halve it again: they
        // were mostly sent before the decrease.
        for _ in 0..32 {
            control.record(RTT, Signal::Overloaded);
        }
        assert_eq!(control.limit(), 32);
        // The next window's first 503 does; and it keeps falling while SL1 is overloaded.
        control.record(RTT, Signal::Overloaded);
        assert_eq!(control.limit(), 16);
        for _ in 0..200 {
            control.record(RTT, Signal::Overloaded);
        }
        assert_eq!(control.limit(), 1, "never below 1");
    }

    #[test]
    fn the_window_after_a_decrease_does_not_grow() {
        let mut control = Controller::new(10, 256);
        control.record(RTT, Signal::Overloaded);
        assert_eq!(control.limit(), 5);
        // The round trip already in flight: at the limit and answered, but no growth yet.
        saturated(&mut control, 5, RTT);
        assert_eq!(control.limit(), 5);
        saturated(&mut control, 5, RTT);
        assert_eq!(control.limit(), 6);
    }

    #[test]
    fn climbing_latency_decreases_by_a_tenth() {
        let mut control = Controller::new(20, 256);
        saturated(&mut control, 20, RTT);
        assert_eq!(control.limit(), 21);
        // Twice the baseline: 21 × 0.9 = 18.9 → 18.
        saturated(&mut control, 21, RTT * 2);
        assert_eq!(control.limit(), 18);
        // Slightly slower (within the tolerance) is no climb: growth resumes.
        let mut control = Controller::new(20, 256);
        saturated(&mut control, 20, RTT);
        saturated(&mut control, 21, RTT * 14 / 10);
        assert_eq!(control.limit(), 22);
    }

    #[test]
    fn the_baseline_follows_a_lasting_change_of_latency() {
        let mut control = Controller::new(10, 256);
        saturated(&mut control, 10, RTT);
        let slower = RTT * 5;
        let mut decreases = 0;
        let mut limit = control.limit();
        for _ in 0..40 {
            saturated(&mut control, limit.max(MIN_WINDOW), slower);
            if control.limit() < limit {
                decreases += 1;
            }
            limit = control.limit();
        }
        assert!(decreases > 0 && decreases < 10, "{decreases}");
        let baseline = control.baseline().unwrap();
        assert!(baseline > slower * 9 / 10, "{baseline:?}");
        assert!(control.limit() > 1, "growing again at the new latency");
    }

    #[test]
    fn set_max_brings_the_limit_down() {
        let mut control = Controller::new(16, 256);
        control.set_max(4);
        assert_eq!(control.limit(), 4);
        control.set_max(64);
        assert_eq!(
            control.limit(),
            4,
            "a higher max is room to grow, not a jump"
        );
    }

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

    #[tokio::test(start_paused = true)]
    async fn the_middleware_measures_each_attempt() {
        use tower::{service_fn, ServiceExt};
        let limit = AdaptiveLimit::new(2, 8);
        let fail_all = |_: &BoxError| true;
        let classifier: fn(&BoxError) -> bool = fail_all;
        let svc = AdaptiveLayer::new(limit.clone(), classifier).layer(service_fn(
            |ok: bool| async move {
                tokio::time::sleep(RTT).await;
                if ok {
                    Ok::<_, BoxError>(())
                } else {
                    Err::<(), BoxError>("503".into())
                }
            },
        ));
        for _ in 0..MIN_WINDOW {
            // Two at once: the limit is reached.
            let (a, b) = tokio::join!(svc.clone().oneshot(true), svc.clone().oneshot(true));
            a.unwrap();
            b.unwrap();
        }
        assert_eq!(limit.limit(), 3);
        assert_eq!(limit.in_flight(), 0);
        let baseline = limit.control().baseline();
        assert_eq!(baseline, Some(RTT), "the RTT of the paused clock");
        assert!(svc.clone().oneshot(false).await.is_err());
        assert_eq!(limit.limit(), 1, "3 × 0.5, rounded down");
    }
}
