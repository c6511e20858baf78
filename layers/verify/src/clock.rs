//! The clock timestamped schemes (Stripe, Slack, Standard Webhooks) read "now" from, so that
//! tests can pin it to a vector's `now`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current Unix time in seconds.
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now_unix(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
            Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock stopped at one instant (tests, and `genhook render --verify` on a recorded payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

/// A shared clock, cheap to clone.
#[derive(Clone)]
pub struct SharedClock(Arc<dyn Clock>);

impl SharedClock {
    /// Shares a clock.
    pub fn new(clock: impl Clock) -> Self {
        Self(Arc::new(clock))
    }

    /// Seconds since the Unix epoch.
    pub fn now_unix(&self) -> i64 {
        self.0.now_unix()
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        Self::new(SystemClock)
    }
}

impl fmt::Debug for SharedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedClock")
            .field(&self.now_unix())
            .finish()
    }
}

/// How far a signed timestamp may be from "now", and in which directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tolerance {
    /// The window (300 s by default).
    pub window: Duration,
    /// Whether timestamps in the future beyond the window are refused too (Slack, Standard
    /// Webhooks) or accepted (Stripe's libraries check only the past).
    pub reject_future: bool,
}

impl Tolerance {
    /// The providers' default window: 300 s.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

    /// Checks a signed timestamp (Unix seconds) against `now`.
    ///
    /// # Errors
    /// [`VerifyError::StaleTimestamp`](crate::VerifyError::StaleTimestamp) or
    /// [`VerifyError::FutureTimestamp`](crate::VerifyError::FutureTimestamp).
    pub fn check(&self, timestamp: i64, now: i64) -> Result<(), crate::VerifyError> {
        let window = i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX);
        let age = now.saturating_sub(timestamp);
        if age > window {
            return Err(crate::VerifyError::StaleTimestamp);
        }
        if self.reject_future && age < window.saturating_neg() {
            return Err(crate::VerifyError::FutureTimestamp);
        }
        Ok(())
    }
}
