//! The AIMD arithmetic, [`Controller`]: windows of finished attempts, the RTT baseline, and how
//! the limit moves on overload, on climbing latency and when it was reached. No clock, no
//! semaphore: time is passed in, so tests drive it with synthetic latencies.

use std::time::Duration;

/// Finished attempts per window, at least.
pub const MIN_WINDOW: usize = 5;
/// The factor applied to the limit on an overload answer.
pub const OVERLOAD_DECREASE: f64 = 0.5;
/// The factor applied to the limit when latency climbs.
pub const LATENCY_DECREASE: f64 = 0.9;
/// A window's mean RTT above `baseline × LATENCY_TOLERANCE` is a latency climb...
pub const LATENCY_TOLERANCE: f64 = 1.5;
/// ...when it is also this much above the baseline: the jitter of a sub-millisecond SL1 (on the
/// same host) is no climb.
pub const MIN_LATENCY_CLIMB: Duration = Duration::from_millis(5);
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
            (Some(mean), Some(baseline)) => {
                mean > baseline * LATENCY_TOLERANCE
                    && mean - baseline > MIN_LATENCY_CLIMB.as_secs_f64()
            }
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
    fn jitter_of_a_fast_sl1_is_no_climb() {
        let mut control = Controller::new(10, 256);
        saturated(&mut control, 10, Duration::from_micros(500));
        // Four times slower, but only 1.5 ms more.
        saturated(&mut control, 11, Duration::from_millis(2));
        assert_eq!(control.limit(), 12);
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
}
