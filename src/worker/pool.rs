//! The dispatch worker pool: a dispatcher that takes events from the queue as the adaptive
//! in-flight limit allows and delivers each one → `ack` / `requeue` / `dead_letter`.
//!
//! | outcome | what happens to the event |
//! |---|---|
//! | SL1 accepted it (or it went to the outbox) | `ack`; `genhook_delivery_latency_seconds{source}` records receipt → accepted |
//! | rendering had failed (`render_error`) | `dead_letter` at once, SL1 never called |
//! | SL1 refused it (4xx other than 408/429), or retries exhausted | attempts and last error recorded, `dead_letter` (reason `rejected` / `retries_exhausted`) |
//! | `processing_timeout` passed (counted from when the delivery started; no attempt runs past it, no retry starts that would end after it) | `dead_letter`, reason `timed_out` |
//! | circuit open | `requeue(event, cooldown)` and its delivery slot waits out the cooldown instead of spinning |
//!
//! ## Concurrency
//! One [`AdaptiveLimit`] caps the deliveries in flight: an event is taken from the queue only
//! with a [`DeliverySlot`], held until the event is settled (and
//! through the pause after a requeue), so events leave the queue in its priority order and only
//! when they can be sent. Inside the worker stack each attempt takes an attempt slot of the same
//! limit, and the limit adapts to SL1's answers (see [`adaptive`](super::adaptive)): it starts
//! at `max_worker_threads` and moves between 1 and `sl1_max_inflight`. Every delivery, in every
//! model, goes through the same tower stack (retries, breaker, per-source limits, adaptive limit)
//! over the one pooled async SL1 client.
//!
//! ## Threading models (`threading_model`)
//! - [`Hybrid`](ThreadingModel::Hybrid): one dispatcher task on the given runtime handle,
//!   normally the multi-thread runtime the server runs on, spawning a task per delivery.
//! - [`Async`](ThreadingModel::Async): the very same tasks. What makes it "one event loop" is the
//!   caller: the binary builds a `current_thread` runtime for this model and passes its handle, so
//!   HTTP, queue and delivery all share one thread.
//! - [`ThreadPool`](ThreadingModel::ThreadPool): `workers` (`max_worker_threads`) OS threads, each
//!   running one delivery at a time to its end with the runtime handle's `block_on`: the same
//!   slots, stack and client as the async models, at most `min(workers, limit)` in flight.
//!
//! ## Reload
//! The deliveries read their destination (the SL1 stacks or the outbox, with the settings they were
//! built from) through an `ArcSwap`, once per event. [`WorkerControl::reconfigure`] builds a
//! new destination and swaps it in: the next event uses it, events in flight finish on the old one.
//! The breaker is kept while `sl1_api_url` and the breaker settings are unchanged, and each
//! source's semaphore while its limit is unchanged; the adaptive limit is kept, with its new
//! `sl1_max_inflight`. `workers` and `threading` are fixed at start.
//!
//! ## Shutdown
//! [`WorkerPool::shutdown`] drains: deliveries go on until the queue is empty (and nothing is in
//! flight) or the grace period is over. Then no event is taken any more; a delivery still in
//! flight is cancelled and its event requeued (at-least-once: SL1 may see it twice).
//! It returns how many events are left in the queue. Stop the HTTP server (and ideally
//! [`Queue::close`]) first.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use genhook_core::metrics;
use genhook_core::queue::{DeadLetters, Event, Queue};
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;
use tower::BoxError;

use super::adaptive::{AdaptiveLimit, DeliverySlot};
use super::alerts::SelfMonitor;
use super::breaker::Breaker;
use super::outbox::Outbox;
use super::policy::{retry_verdict, Sl1RetryPolicy, Verdict};
use super::settings::{ThreadingModel, WorkerSettings};
use super::sl1::{Sl1Client, Sl1Request};
use super::sl1_error::Sl1Error;
use super::stack::Deliverer;

/// The shortest wait before an event refused by an open circuit is tried again.
const MIN_BREAKER_WAIT: Duration = Duration::from_millis(100);

/// The pool could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The SL1 client settings are unusable.
    #[error(transparent)]
    Sl1(#[from] Sl1Error),
    /// A worker thread could not be started.
    #[error("cannot start a worker thread")]
    Thread(#[source] std::io::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Draining,
    Stopped,
}

/// Where alerts go: SL1 through the worker stack, or the outbox when `sl1_api_url` is unset.
#[derive(Debug)]
enum Destination {
    Sl1(Box<Deliverer<Sl1Client>>),
    Outbox(Outbox),
}

/// What became of one delivery.
#[derive(Debug)]
enum Outcome {
    Delivered {
        attempts: u32,
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

/// The delivery destination and the settings it was built from: swapped whole on reload. A delivery
/// loads it once per event, so an event in flight finishes on the destination it started with.
#[derive(Debug)]
struct Live {
    destination: Destination,
    settings: WorkerSettings,
}

/// What the workers share.
#[derive(Debug)]
struct Ctx {
    queue: Arc<dyn Queue>,
    live: ArcSwap<Live>,
    monitor: Arc<SelfMonitor>,
    /// Deliveries and SL1 attempts in flight: the adaptive limit, kept across reloads.
    limit: AdaptiveLimit,
    in_flight: AtomicUsize,
    threading: ThreadingModel,
    handle: Handle,
    /// The breaker and the task that follows it for GenHook's own alerts; replaced together.
    breaker: Mutex<(Option<Breaker>, Option<JoinHandle<()>>)>,
    /// Serialises [`WorkerControl::reconfigure`].
    reconfiguring: Mutex<()>,
}

/// The running worker pool.
#[derive(Debug)]
pub struct WorkerPool {
    phase: watch::Sender<Phase>,
    /// Follows the queue's storage for GenHook's own alerts.
    storage_task: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    ctx: Arc<Ctx>,
}

/// Changes the settings of a running pool (hot reload). Cheap to clone.
#[derive(Debug, Clone)]
pub struct WorkerControl {
    ctx: Arc<Ctx>,
}

/// Builds the destination for `settings`; `previous` is the destination in use (a reload): its breaker is
/// kept when the SL1 URL and the breaker settings are unchanged, and its per-source semaphores
/// where the limit is unchanged. Returns the breaker and whether it is a new one.
fn build_destination(
    settings: &WorkerSettings,
    previous: Option<&Live>,
    limit: &AdaptiveLimit,
) -> Result<(Destination, Option<(Breaker, bool)>), WorkerError> {
    if settings.sl1_api_url.is_none() {
        return Ok((
            Destination::Outbox(Outbox::new(settings.outbox_path.clone())),
            None,
        ));
    }
    // One async client for every model. Building it needs no runtime context.
    let client = Sl1Client::new(settings)?;
    let kept = previous.and_then(|live| match &live.destination {
        Destination::Sl1(deliverer)
            if live.settings.sl1_api_url == settings.sl1_api_url
                && live.settings.breaker_threshold == settings.breaker_threshold
                && live.settings.breaker_cooldown == settings.breaker_cooldown =>
        {
            Some(deliverer)
        }
        _ => None,
    });
    let (breaker, fresh) = match kept {
        Some(deliverer) => (deliverer.breaker().clone(), false),
        None => (
            Breaker::with_gauge(
                settings.breaker_threshold,
                settings.breaker_cooldown,
                metrics::CIRCUIT_STATE,
            ),
            true,
        ),
    };
    let previous_deliverer = previous.and_then(|live| match &live.destination {
        Destination::Sl1(deliverer) => Some(&**deliverer),
        Destination::Outbox(_) => None,
    });
    let deliverer = Deliverer::replacing(
        client,
        settings,
        breaker.clone(),
        limit.clone(),
        previous_deliverer,
    );
    Ok((
        Destination::Sl1(Box::new(deliverer)),
        Some((breaker, fresh)),
    ))
}

fn sender_of(destination: &Destination) -> Option<Deliverer<Sl1Client>> {
    match destination {
        Destination::Sl1(deliverer) => Some((**deliverer).clone()),
        Destination::Outbox(_) => None,
    }
}

/// Starts the worker pool on `handle` (see the module docs for the threading models).
///
/// With `sl1_api_url` set, the alerts go to SL1 through the worker stack; without it, to the log and
/// the outbox file.
///
/// # Errors
/// When the SL1 client cannot be built (bad URL, unreadable CA file) or a thread cannot start.
pub fn spawn(
    settings: WorkerSettings,
    queue: Arc<dyn Queue>,
    dead_letters: Arc<dyn DeadLetters>,
    handle: Handle,
) -> Result<WorkerPool, WorkerError> {
    let workers = settings.workers.max(1);
    let limit = AdaptiveLimit::new(workers, settings.sl1_max_inflight);
    let (destination, breaker) = build_destination(&settings, None, &limit)?;
    if let Destination::Outbox(_) = destination {
        tracing::info!(
            path = %settings.outbox_path.display(),
            "No sl1_api_url: alerts go to the log and the outbox file."
        );
    }
    let monitor = Arc::new(SelfMonitor::new(
        dead_letters,
        settings.dlq_alert_threshold,
        sender_of(&destination),
    ));
    {
        let monitor = Arc::clone(&monitor);
        handle.spawn(async move { monitor.refresh_dlq_size().await });
    }
    let storage_task = handle.spawn(Arc::clone(&monitor).watch_storage(Arc::clone(&queue)));
    let breaker = breaker.map(|(breaker, _)| breaker);
    let monitor_task = breaker
        .as_ref()
        .map(|b| handle.spawn(Arc::clone(&monitor).run(b.subscribe())));
    let threading = settings.threading;
    let ctx = Arc::new(Ctx {
        queue,
        live: ArcSwap::from_pointee(Live {
            destination,
            settings,
        }),
        monitor,
        limit,
        in_flight: AtomicUsize::new(0),
        threading,
        handle: handle.clone(),
        breaker: Mutex::new((breaker, monitor_task)),
        reconfiguring: Mutex::new(()),
    });
    let (phase, _) = watch::channel(Phase::Running);
    ::metrics::gauge!(metrics::WORKERS_BUSY).set(0.0);
    ::metrics::gauge!(metrics::WORKERS_IDLE).set(0.0);

    let mut pool = WorkerPool {
        phase,
        storage_task,
        tasks: Vec::new(),
        threads: Vec::new(),
        ctx: Arc::clone(&ctx),
    };
    match ctx.threading {
        ThreadingModel::Async | ThreadingModel::Hybrid => {
            let task = run_dispatcher(Arc::clone(&ctx), pool.phase.subscribe());
            pool.tasks.push(handle.spawn(task));
        }
        ThreadingModel::ThreadPool => {
            for n in 0..workers {
                let ctx = Arc::clone(&ctx);
                let phase = pool.phase.subscribe();
                let handle = handle.clone();
                let thread = std::thread::Builder::new()
                    .name(format!("genhook-worker-{n}"))
                    .spawn(move || run_thread_worker(&ctx, phase, &handle))
                    .map_err(WorkerError::Thread)?;
                pool.threads.push(thread);
            }
        }
    }
    tracing::info!(
        workers,
        sl1_max_inflight = ctx.limit.max(),
        model = ctx.threading.as_str(),
        "Dispatch workers started."
    );
    Ok(pool)
}

impl WorkerPool {
    /// The circuit breaker towards SL1 now (`None` in outbox mode).
    pub fn breaker(&self) -> Option<Breaker> {
        self.ctx.breaker_slot().0.clone()
    }

    /// A handle that changes the pool's settings while it runs.
    pub fn control(&self) -> WorkerControl {
        WorkerControl {
            ctx: Arc::clone(&self.ctx),
        }
    }

    /// Events being delivered right now.
    pub fn in_flight(&self) -> usize {
        self.ctx.in_flight.load(Ordering::Relaxed)
    }

    /// The adaptive limit on deliveries and SL1 attempts in flight.
    pub fn inflight_limit(&self) -> AdaptiveLimit {
        self.ctx.limit.clone()
    }

    /// Drains the queue for up to `grace`, then stops the workers (see the module docs) and
    /// resolves to the number of events left in the queue.
    pub async fn shutdown(self, grace: Duration) -> usize {
        let Self {
            phase,
            storage_task,
            tasks,
            threads,
            ctx,
        } = self;
        phase.send_replace(Phase::Draining);
        let deadline = Instant::now() + grace;
        loop {
            let finished = tasks.iter().all(JoinHandle::is_finished)
                && threads.iter().all(std::thread::JoinHandle::is_finished);
            let idle = ctx.queue.depth() == 0 && ctx.in_flight.load(Ordering::Relaxed) == 0;
            if finished || idle || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        phase.send_replace(Phase::Stopped);
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "The dispatcher task failed.");
            }
        }
        if !threads.is_empty() {
            let joined = tokio::task::spawn_blocking(move || {
                threads
                    .into_iter()
                    .map(std::thread::JoinHandle::join)
                    .filter(Result::is_err)
                    .count()
            })
            .await;
            if !matches!(joined, Ok(0)) {
                tracing::error!("A dispatch worker thread panicked.");
            }
        }
        if let Some(monitor) = ctx.breaker_slot().1.take() {
            monitor.abort();
        }
        storage_task.abort();
        let left = ctx.queue.depth();
        tracing::info!(
            left,
            backend = ctx.queue.backend(),
            "Dispatch workers stopped."
        );
        left
    }
}

/// Resolves once the pool is stopping for good (or the pool is gone).
async fn stopped(phase: &mut watch::Receiver<Phase>) {
    let _ = phase.wait_for(|p| *p == Phase::Stopped).await;
}

fn is_stopped(phase: &watch::Receiver<Phase>) -> bool {
    *phase.borrow() == Phase::Stopped
}

/// Waits `delay`, or less if the pool stops; whether it stopped.
async fn pause(delay: Duration, phase: &mut watch::Receiver<Phase>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = stopped(phase) => true,
    }
}

/// Takes the next event, or `None` when the pool stops or the queue ends.
async fn take(ctx: &Ctx, phase: &mut watch::Receiver<Phase>) -> Option<Event> {
    loop {
        if is_stopped(phase) {
            return None;
        }
        let next = tokio::select! {
            biased;
            () = stopped(phase) => return None,
            next = ctx.queue.next() => next,
        };
        match next {
            Ok(Some(event)) => return Some(event),
            Ok(None) => return None,
            Err(error) => {
                tracing::error!(%error, "Cannot take the next event from the queue.");
                if pause(Duration::from_secs(1), phase).await {
                    return None;
                }
            }
        }
    }
}

/// Waits for a delivery slot, then takes the next event; `None` when the pool stops or the
/// queue ends.
async fn next_delivery(
    ctx: &Ctx,
    phase: &mut watch::Receiver<Phase>,
) -> Option<(DeliverySlot, Event)> {
    // Idle from here: a `thread_pool` thread waiting for room under the limit (lowered below
    // `max_worker_threads` by a slow SL1) is not delivering either.
    ::metrics::gauge!(metrics::WORKERS_IDLE).increment(1.0);
    let next = async {
        let slot = tokio::select! {
            biased;
            () = stopped(phase) => return None,
            slot = ctx.limit.delivery_slot() => slot,
        };
        take(ctx, phase).await.map(|event| (slot, event))
    }
    .await;
    ::metrics::gauge!(metrics::WORKERS_IDLE).decrement(1.0);
    next
}

fn busy(ctx: &Ctx) {
    ctx.in_flight.fetch_add(1, Ordering::Relaxed);
    ::metrics::gauge!(metrics::WORKERS_BUSY).increment(1.0);
}

fn idle(ctx: &Ctx) {
    ctx.in_flight.fetch_sub(1, Ordering::Relaxed);
    ::metrics::gauge!(metrics::WORKERS_BUSY).decrement(1.0);
}

/// Delivers one event and settles it. The slot is held to the end, through the pause after a
/// requeue, so that an open circuit is not polled in a loop.
async fn run_delivery(
    ctx: Arc<Ctx>,
    event: Event,
    slot: DeliverySlot,
    mut phase: watch::Receiver<Phase>,
) {
    busy(&ctx);
    let outcome = tokio::select! {
        outcome = ctx.deliver(&event) => outcome,
        () = stopped(&mut phase) => Outcome::Requeue { delay: Duration::ZERO, attempts: 0 },
    };
    let wait = ctx.finish(event, outcome).await;
    idle(&ctx);
    if let Some(delay) = wait {
        pause(delay, &mut phase).await;
    }
    drop(slot);
}

/// The `async` and `hybrid` models: one task takes events as slots free up and spawns a task per
/// delivery; once stopping, it waits for the deliveries in flight (cancelled and requeued).
async fn run_dispatcher(ctx: Arc<Ctx>, mut phase: watch::Receiver<Phase>) {
    let mut deliveries = JoinSet::new();
    while let Some((slot, event)) = next_delivery(&ctx, &mut phase).await {
        deliveries.spawn(run_delivery(Arc::clone(&ctx), event, slot, phase.clone()));
        while let Some(done) = deliveries.try_join_next() {
            log_failed(done);
        }
    }
    while let Some(done) = deliveries.join_next().await {
        log_failed(done);
    }
}

fn log_failed(done: Result<(), tokio::task::JoinError>) {
    if let Err(error) = done {
        tracing::error!(%error, "A delivery task failed.");
    }
}

/// The `thread_pool` model: an OS thread delivering one event at a time through the same slots
/// and stack, driven by the runtime handle.
fn run_thread_worker(ctx: &Arc<Ctx>, mut phase: watch::Receiver<Phase>, handle: &Handle) {
    while let Some((slot, event)) = handle.block_on(next_delivery(ctx, &mut phase)) {
        handle.block_on(run_delivery(Arc::clone(ctx), event, slot, phase.clone()));
    }
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

// === impl Ctx ===

impl WorkerControl {
    /// Replaces the delivery settings: the next event goes through a destination built from
    /// `settings`; events in flight finish on the old one. The breaker is kept when the SL1 URL and
    /// the breaker settings are unchanged, and so is each source's semaphore whose limit is
    /// unchanged; the adaptive limit is kept and takes the new `sl1_max_inflight` (coming down to
    /// it at once when above). The number of workers and the threading model are fixed at start
    /// (their fields of `settings` are ignored).
    ///
    /// # Errors
    /// When the new SL1 client cannot be built (e.g. an unreadable `sl1_ca_file`); the old destination
    /// stays in use.
    pub fn reconfigure(&self, settings: WorkerSettings) -> Result<(), WorkerError> {
        let ctx = &self.ctx;
        let _one_at_a_time = ctx
            .reconfiguring
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let old = ctx.live.load_full();
        let settings = WorkerSettings {
            workers: old.settings.workers,
            threading: old.settings.threading,
            ..settings
        };
        let (destination, breaker) = build_destination(&settings, Some(&old), &ctx.limit)?;
        ctx.limit.set_max(settings.sl1_max_inflight);
        ctx.monitor
            .reconfigure(settings.dlq_alert_threshold, sender_of(&destination));
        {
            let mut slot = ctx.breaker_slot();
            match breaker {
                Some((_, false)) => {}
                Some((breaker, true)) => {
                    if let Some(task) = slot.1.take() {
                        task.abort();
                    }
                    let task = ctx
                        .handle
                        .spawn(Arc::clone(&ctx.monitor).run(breaker.subscribe()));
                    *slot = (Some(breaker), Some(task));
                }
                None => {
                    if let Some(task) = slot.1.take() {
                        task.abort();
                    }
                    slot.0 = None;
                }
            }
        }
        ctx.live.store(Arc::new(Live {
            destination,
            settings,
        }));
        Ok(())
    }

    /// The settings in use now.
    pub fn settings(&self) -> WorkerSettings {
        self.ctx.live.load().settings.clone()
    }
}

impl Ctx {
    fn breaker_slot(&self) -> std::sync::MutexGuard<'_, (Option<Breaker>, Option<JoinHandle<()>>)> {
        self.breaker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn deliver(&self, event: &Event) -> Outcome {
        if let Some(outcome) = unrenderable(event) {
            return outcome;
        }
        // Loaded once: this event finishes on this destination even if a reload swaps it.
        let live = self.live.load_full();
        match &live.destination {
            Destination::Outbox(outbox) => match outbox.append(event).await {
                Ok(()) => Outcome::Delivered { attempts: 1 },
                Err(error) => outbox_failed(&error),
            },
            Destination::Sl1(deliverer) => {
                let request = request(&live.settings, event);
                let result = deliverer.deliver(request.clone()).await;
                let attempts = request.attempts();
                match result {
                    Ok(_) => Outcome::Delivered { attempts },
                    Err(error) => {
                        let out_of_time = self.out_of_time(&request, deliverer.policy());
                        outcome_of_error(&error, attempts, out_of_time)
                    }
                }
            }
        }
    }

    /// Whether a failed delivery stopped for want of time rather than of retries: its deadline
    /// passed, or retries were left that the deadline did not allow.
    fn out_of_time(&self, request: &Sl1Request, policy: &Sl1RetryPolicy) -> bool {
        request.is_past_deadline() || request.attempts() <= policy.max_retries()
    }

    /// Acks, requeues or dead-letters the event; how long its slot should wait afterwards.
    async fn finish(&self, mut event: Event, outcome: Outcome) -> Option<Duration> {
        match outcome {
            Outcome::Delivered { attempts } => {
                let now_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let latency = now_ms.saturating_sub(event.received_at_ms) as f64 / 1000.0;
                ::metrics::histogram!(metrics::DELIVERY_LATENCY, "source" => event.source.clone())
                    .record(latency);
                tracing::debug!(
                    event_id = %event.id,
                    delivery_id = event.delivery_id.as_deref().unwrap_or(""),
                    source = %event.source,
                    attempts,
                    "Event delivered."
                );
                if let Err(error) = self.queue.ack(&event).await {
                    tracing::error!(
                        event_id = %event.id,
                        %error,
                        "Cannot ack a delivered event; it may be delivered again."
                    );
                }
                None
            }
            Outcome::Requeue { delay, attempts } => {
                event.attempts = event.attempts.saturating_add(attempts);
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
