//! One delivery and what becomes of its event: deliver to the [`Live`](super::destination::Live) destination loaded once
//! per event, turn a failure into an [`Outcome`] by its type ([`retry_verdict`]), then ack,
//! requeue or dead-letter the event (the table of the pool's module docs).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use genhook_core::metrics;
use genhook_core::queue::Event;
use tokio::time::Instant;
use tower::BoxError;

use super::destination::Destination;
use super::Ctx;
use crate::deliveries::Settled;
use crate::worker::policy::{retry_verdict, Sl1RetryPolicy, Verdict};
use crate::worker::settings::WorkerSettings;
use crate::worker::sl1::{Sl1Request, Sl1Try};
use crate::worker::sl1_error::Sl1Error;

/// The shortest wait before an event refused by an open circuit is tried again.
const MIN_BREAKER_WAIT: Duration = Duration::from_millis(100);

/// What became of one delivery.
#[derive(Debug)]
pub(super) enum Outcome {
    Delivered {
        attempts: u32,
        /// SL1's answer; `None` for the outbox (no `sl1_api_url`).
        sl1_status: Option<u16>,
    },
    Requeue {
        delay: Duration,
        attempts: u32,
    },
    DeadLetter {
        reason: &'static str,
        error: String,
        attempts: u32,
    },
}

/// The SL1 request for `event`, due within `processing_timeout` from now.
fn request(settings: &WorkerSettings, event: &Event) -> Sl1Request {
    Sl1Request::from_event(event).with_deadline(Instant::now() + settings.processing_timeout)
}

/// The error and its causes, for `last_error` (never holds secrets: SL1 errors carry none), with
/// SL1's `X-EM7-status-message` when it sent one.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let chain = genhook_core::error_chain(error);
    match error.downcast_ref::<Sl1Error>() {
        // A status error has no cause: the message goes right after it.
        Some(Sl1Error::Status {
            em7_message: Some(message),
            ..
        }) => format!("{chain} ({message})"),
        _ => chain,
    }
}

/// What becomes of an event whose delivery failed with `error` after `attempts` attempts;
/// `out_of_time`: the delivery stopped at its `processing_timeout`, not for want of retries.
fn outcome_of_error(error: &BoxError, attempts: u32, out_of_time: bool) -> Outcome {
    match retry_verdict(error) {
        // Never requeue for "now" while the circuit refuses: the worker would spin.
        Verdict::BreakerOpen { retry_in } => Outcome::Requeue {
            delay: retry_in.max(MIN_BREAKER_WAIT),
            attempts,
        },
        Verdict::Retry { .. } if out_of_time => Outcome::DeadLetter {
            reason: "timed_out",
            error: format!(
                "not delivered within processing_timeout: {}",
                describe(error.as_ref())
            ),
            attempts,
        },
        Verdict::Retry { .. } => Outcome::DeadLetter {
            reason: "retries_exhausted",
            error: describe(error.as_ref()),
            attempts,
        },
        Verdict::Permanent => Outcome::DeadLetter {
            reason: "rejected",
            error: describe(error.as_ref()),
            attempts,
        },
    }
}

fn unrenderable(event: &Event) -> Option<Outcome> {
    event
        .render_error
        .as_ref()
        .map(|error| Outcome::DeadLetter {
            reason: "render_failed",
            error: format!("render failed: {error}"),
            attempts: 0,
        })
}

fn outbox_failed(error: &std::io::Error) -> Outcome {
    tracing::error!(%error, "Cannot write the outbox; the event is kept for later.");
    Outcome::Requeue {
        delay: Duration::from_secs(5),
        attempts: 0,
    }
}

/// One delivery's outcome with what the record of deliveries shows of it.
#[derive(Debug)]
pub(super) struct Attempted {
    pub(super) outcome: Outcome,
    /// Every SL1 attempt.
    tries: Vec<Sl1Try>,
    /// Written to the outbox rather than sent to SL1.
    outbox: bool,
    /// Not recorded: cancelled by shutdown before it settled.
    cancelled: bool,
}

impl Attempted {
    fn new(outcome: Outcome) -> Self {
        Self {
            outcome,
            tries: Vec::new(),
            outbox: false,
            cancelled: false,
        }
    }

    /// A delivery cancelled by shutdown: requeued, not recorded.
    pub(super) fn cancelled() -> Self {
        Self {
            cancelled: true,
            ..Self::new(Outcome::Requeue {
                delay: Duration::ZERO,
                attempts: 0,
            })
        }
    }
}

impl Ctx {
    pub(super) async fn deliver(&self, event: &Event) -> Attempted {
        if let Some(outcome) = unrenderable(event) {
            return Attempted::new(outcome);
        }
        // Loaded once: this event finishes on this destination even if a reload swaps it.
        let live = self.live.load_full();
        match &live.destination {
            Destination::Outbox(outbox) => Attempted {
                outbox: true,
                ..Attempted::new(match outbox.append(event).await {
                    Ok(()) => Outcome::Delivered {
                        attempts: 1,
                        sl1_status: None,
                    },
                    Err(error) => outbox_failed(&error),
                })
            },
            Destination::Sl1(deliverer) => {
                let request = request(&live.settings, event);
                let result = deliverer.deliver(request.clone()).await;
                let attempts = request.attempts();
                let outcome = match result {
                    Ok(response) => Outcome::Delivered {
                        attempts,
                        sl1_status: Some(response.status.as_u16()),
                    },
                    Err(error) => {
                        let out_of_time = self.out_of_time(&request, deliverer.policy());
                        outcome_of_error(&error, attempts, out_of_time)
                    }
                };
                Attempted {
                    tries: request.tries(),
                    ..Attempted::new(outcome)
                }
            }
        }
    }

    /// Records how `event` settled in the record of deliveries, when there is one.
    fn record(&self, event: Event, tries: Vec<Sl1Try>, status: &'static str, error: Option<&str>) {
        let Some(log) = &self.deliveries else { return };
        log.record(
            event,
            Settled {
                status,
                sl1_http: tries.last().and_then(|t| t.status),
                tries,
                error,
            },
        );
    }

    /// Whether a failed delivery stopped for want of time rather than of retries: its deadline
    /// passed, or retries were left that the deadline did not allow.
    fn out_of_time(&self, request: &Sl1Request, policy: &Sl1RetryPolicy) -> bool {
        request.is_past_deadline() || request.attempts() <= policy.max_retries()
    }

    /// Acks, requeues or dead-letters the event; how long its slot should wait afterwards.
    pub(super) async fn finish(&self, mut event: Event, attempted: Attempted) -> Option<Duration> {
        let Attempted {
            outcome,
            tries,
            outbox,
            cancelled,
        } = attempted;
        match outcome {
            Outcome::Delivered {
                attempts,
                sl1_status,
            } => {
                event.attempts = event.attempts.saturating_add(attempts);
                let now_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let latency_ms = now_ms.saturating_sub(event.received_at_ms);
                ::metrics::histogram!(metrics::DELIVERY_LATENCY, "source" => event.source.clone())
                    .record(latency_ms as f64 / 1000.0);
                // One line per delivery, with no alert text (it may carry what the provider sent).
                tracing::info!(
                    source = %event.source,
                    event = %event.event,
                    delivery_id = event.delivery_id.as_deref().unwrap_or(""),
                    event_id = %event.id,
                    sl1_status,
                    destination = if sl1_status.is_some() { "sl1" } else { "outbox" },
                    attempts,
                    latency_ms,
                    "Event delivered."
                );
                if let Err(error) = self.queue.ack(&event).await {
                    tracing::error!(
                        event_id = %event.id,
                        %error,
                        "Cannot ack a delivered event; it may be delivered again."
                    );
                }
                // The record takes the event: its strings move into the entry.
                let status = if outbox { "outbox" } else { "delivered" };
                self.record(event, tries, status, None);
                None
            }
            Outcome::Requeue { delay, attempts } => {
                event.attempts = event.attempts.saturating_add(attempts);
                // Recorded when something was tried: an event waiting out an open circuit
                // untried is not recorded at every cooldown.
                if cancelled {
                    // Cut short by shutdown: nothing settled.
                } else if attempts > 0 {
                    let why = "SL1's circuit opened; the event waits to be tried again";
                    self.record(event.clone(), tries, "retrying", Some(why));
                } else if outbox {
                    let why = "the outbox could not be written; the event waits";
                    self.record(event.clone(), tries, "retrying", Some(why));
                }
                self.monitor.delayed(&event.id);
                let id = event.id.clone();
                if let Err(error) = self.queue.requeue(event, delay).await {
                    tracing::error!(event_id = %id, %error, "Cannot requeue an event.");
                }
                // Wait as long as the event does, so an open circuit is not polled in a loop.
                (delay > Duration::ZERO).then_some(delay)
            }
            Outcome::DeadLetter {
                reason,
                error,
                attempts,
            } => {
                event.attempts = event.attempts.saturating_add(attempts);
                tracing::warn!(
                    event_id = %event.id,
                    delivery_id = event.delivery_id.as_deref().unwrap_or(""),
                    source = %event.source,
                    attempts = event.attempts,
                    reason,
                    error = %error,
                    "Event moved to the dead-letter queue."
                );
                self.record(event.clone(), tries, "dead_lettered", Some(&error));
                event.last_error = Some(error);
                ::metrics::counter!(
                    metrics::DEAD_LETTERED,
                    "source" => event.source.clone(),
                    "reason" => reason
                )
                .increment(1);
                let id = event.id.clone();
                if let Err(error) = self.queue.dead_letter(event).await {
                    tracing::error!(event_id = %id, %error, "Cannot dead-letter an event.");
                }
                self.monitor.dead_lettered().await;
                None
            }
        }
    }
}
