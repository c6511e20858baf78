//! The retry policy of SL1 deliveries ([`Sl1RetryPolicy`], a `tower::retry::Policy`) and the
//! backoff it computes ([`Backoff`]).
//!
//! Errors are classified by type, never by text ([`retry_verdict`]):
//! - tower's `Elapsed` (the per-attempt `sl1_timeout`) is retried;
//! - [`Sl1Error`] is retried when [`Sl1Error::is_retryable`] (connect errors, 5xx, 408, 429);
//! - [`BreakerOpen`] is never retried: the worker requeues the event for after the cooldown;
//! - anything else (other 4xx, …) is not retried.
//!
//! The delay before retry `n` (0-based) is `base · 2ⁿ`, capped at `max`, plus up to
//! `jitter · delay` of random jitter; a `Retry-After` hint wins when it is longer
//! (`max(hint, backoff)`), up to [`MAX_RETRY_AFTER`] so that a confused SL1 answering
//! `Retry-After: 86400` cannot park a worker for a day.

use std::time::Duration;

use genhook_core::metrics;
use rand::Rng as _;
use tower::retry::Policy;
use tower::BoxError;

use super::breaker::BreakerOpen;
use super::sl1::{Sl1Request, Sl1Response};
use super::sl1_error::Sl1Error;

/// The longest `Retry-After` honoured (15 minutes).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// What an error means for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again, no earlier than the hint when there is one.
    Retry {
        /// `Retry-After`, when SL1 sent one.
        hint: Option<Duration>,
    },
    /// The circuit is open: put the event back for later, do not count it as failed.
    BreakerOpen {
        /// Time left of the cooldown.
        retry_in: Duration,
    },
    /// Permanent: another attempt would fail the same way.
    Permanent,
}

/// Classifies an error of the worker stack by its type.
pub fn retry_verdict(error: &BoxError) -> Verdict {
    if error.is::<tower::timeout::error::Elapsed>() {
        return Verdict::Retry { hint: None };
    }
    if let Some(open) = error.downcast_ref::<BreakerOpen>() {
        return Verdict::BreakerOpen {
            retry_in: open.retry_in(),
        };
    }
    if let Some(sl1) = error.downcast_ref::<Sl1Error>() {
        return if sl1.is_retryable() {
            Verdict::Retry {
                hint: sl1.retry_after(),
            }
        } else {
            Verdict::Permanent
        };
    }
    Verdict::Permanent
}

/// Whether an error says SL1 is unhealthy (for the circuit breaker): what is retryable is.
pub fn is_outage(error: &BoxError) -> bool {
    matches!(retry_verdict(error), Verdict::Retry { .. })
}

/// Exponential backoff with jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    jitter: f64,
}

impl Default for Backoff {
    /// 1 s, 2 s, 4 s … capped at 60 s, plus up to 10 % jitter
    /// ([`crate::config::defaults::RETRY_BACKOFF_BASE`], [`crate::config::defaults::RETRY_BACKOFF_MAX`]).
    fn default() -> Self {
        Self {
            base: crate::config::defaults::RETRY_BACKOFF_BASE,
            max: crate::config::defaults::RETRY_BACKOFF_MAX,
            jitter: 0.1,
        }
    }
}

impl Backoff {
    /// A backoff starting at `base`, doubling up to `max`, plus up to `jitter` (0.0 – 1.0) of
    /// itself at random.
    pub fn new(base: Duration, max: Duration, jitter: f64) -> Self {
        Self {
            base,
            max: max.max(base),
            jitter: jitter.clamp(0.0, 1.0),
        }
    }

    /// The delay before retry `retry` (0 for the first retry), at least `hint`.
    pub fn delay(&self, retry: u32, hint: Option<Duration>) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        let exponential = self.base.saturating_mul(factor).min(self.max);
        let jitter = if self.jitter > 0.0 {
            exponential.mul_f64(rand::rng().random_range(0.0..=self.jitter))
        } else {
            Duration::ZERO
        };
        let backoff = exponential.saturating_add(jitter);
        hint.map_or(backoff, |hint| hint.min(MAX_RETRY_AFTER).max(backoff))
    }
}

/// The retry policy of the worker stack: up to `max_retries` retries after the first attempt.
/// tower clones it per delivery, so its counter is per delivery.
#[derive(Debug, Clone)]
pub struct Sl1RetryPolicy {
    max_retries: u32,
    retries: u32,
    backoff: Backoff,
}

impl Sl1RetryPolicy {
    /// Up to `max_retries` retries (`sl1_retry_attempts`) with the default backoff.
    pub fn new(max_retries: u32) -> Self {
        Self::with_backoff(max_retries, Backoff::default())
    }

    /// Up to `max_retries` retries with this backoff.
    pub fn with_backoff(max_retries: u32, backoff: Backoff) -> Self {
        Self {
            max_retries,
            retries: 0,
            backoff,
        }
    }
}

impl Sl1RetryPolicy {
    /// Retries allowed after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The backoff.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }
}

impl Policy<Sl1Request, Sl1Response, BoxError> for Sl1RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut Sl1Request,
        result: &mut Result<Sl1Response, BoxError>,
    ) -> Option<Self::Future> {
        let error = result.as_ref().err()?;
        let hint = match retry_verdict(error) {
            Verdict::Retry { hint } => hint,
            Verdict::BreakerOpen { .. } => {
                ::metrics::counter!(metrics::SL1_REQUESTS, "status" => "breaker_open").increment(1);
                return None;
            }
            Verdict::Permanent => return None,
        };
        if error.is::<tower::timeout::error::Elapsed>() {
            ::metrics::counter!(metrics::SL1_REQUESTS, "status" => "timeout").increment(1);
            tracing::warn!(
                event_id = %request.event_id,
                source = %request.source,
                "SL1 did not answer within sl1_timeout."
            );
        }
        if self.retries >= self.max_retries {
            return None;
        }
        let delay = self.backoff.delay(self.retries, hint);
        if request
            .deadline()
            .is_some_and(|deadline| tokio::time::Instant::now() + delay >= deadline)
        {
            tracing::debug!(
                event_id = %request.event_id,
                "No retry: it would start after the delivery's processing_timeout."
            );
            return None;
        }
        self.retries += 1;
        ::metrics::counter!(metrics::SL1_RETRIES).increment(1);
        tracing::debug!(
            event_id = %request.event_id,
            retry = self.retries,
            delay_ms = delay.as_millis() as u64,
            "Retrying the SL1 delivery after a backoff."
        );
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, request: &Sl1Request) -> Option<Sl1Request> {
        Some(request.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn status(code: u16, retry_after: Option<u64>) -> BoxError {
        Box::new(Sl1Error::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: retry_after.map(Duration::from_secs),
            em7_message: None,
        })
    }

    #[test]
    fn classifies_by_type() {
        assert_eq!(
            retry_verdict(&status(503, None)),
            Verdict::Retry { hint: None }
        );
        assert_eq!(
            retry_verdict(&status(429, Some(7))),
            Verdict::Retry {
                hint: Some(Duration::from_secs(7))
            }
        );
        assert_eq!(retry_verdict(&status(400, None)), Verdict::Permanent);
        let elapsed: BoxError = Box::new(tower::timeout::error::Elapsed::new());
        assert_eq!(retry_verdict(&elapsed), Verdict::Retry { hint: None });
        let text: BoxError = "503 service unavailable".into();
        assert_eq!(
            retry_verdict(&text),
            Verdict::Permanent,
            "never by message text"
        );
    }

    #[test]
    fn backoff_doubles_caps_and_honours_hints() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(5), 0.0);
        let delays: Vec<_> = (0..5).map(|n| backoff.delay(n, None).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
        assert_eq!(
            backoff.delay(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            backoff.delay(2, Some(Duration::from_secs(1))),
            Duration::from_secs(4)
        );
        assert_eq!(
            backoff.delay(0, Some(Duration::from_secs(86_400))),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(60), 0.5);
        for _ in 0..200 {
            let delay = backoff.delay(0, None);
            assert!(delay >= Duration::from_secs(2) && delay <= Duration::from_secs(3));
        }
    }
}
