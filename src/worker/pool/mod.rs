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
//! with a [`DeliverySlot`](super::adaptive::DeliverySlot), held until the event is settled (and
//! through the pause after a requeue; a delivery loop keeps it for its next event unless the
//! limit was lowered meanwhile), so events leave the queue in its priority order and only when
//! they can be sent. Inside the worker stack each attempt takes an attempt slot of the same
//! limit, and the limit adapts to SL1's answers (see [`adaptive`](super::adaptive)): it starts
//! at `max_worker_threads` and moves between 1 and `sl1_max_inflight`. Every delivery, in every
//! model, goes through the same tower stack (retries, breaker, per-source limits, adaptive limit)
//! over the one pooled async SL1 client.
//!
//! ## Threading models (`threading_model`)
//! - [`Hybrid`](ThreadingModel::Hybrid): on the given runtime handle, normally the
//!   multi-thread runtime the server runs on, a dispatcher task starting one *delivery loop*
//!   task per slot of the limit; a loop waits for an event, delivers it and waits for the next
//!   with the same slot, so an accepted event wakes the task that delivers it (one hop, no task
//!   spawned per event).
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
//!
//! | module | holds |
//! |---|---|
//! | this one | [`spawn`], [`WorkerPool`] (shutdown), [`WorkerControl`] (reload) and what they share |
//! | `destination.rs` | where alerts go (SL1 or the outbox) and how a reload rebuilds it |
//! | `dispatch.rs` | the delivery loops of the threading models |
//! | `settle.rs` | one delivery and its outcome: ack, requeue or dead-letter, and its entry in the record of deliveries |

mod destination;
mod dispatch;
mod settle;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use genhook_core::metrics;
use genhook_core::queue::{DeadLetters, Queue};
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::adaptive::AdaptiveLimit;
use super::alerts::SelfMonitor;
use super::breaker::Breaker;
use super::settings::{ThreadingModel, WorkerSettings};
use super::sl1_error::Sl1Error;
use crate::deliveries::DeliveryLog;
use destination::{build_destination, sender_of, Destination, Live};
use dispatch::{run_dispatcher, run_thread_worker};

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
    /// The record of deliveries each settled event goes to, when there is one.
    deliveries: Option<Arc<DeliveryLog>>,
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
    spawn_recording(settings, queue, dead_letters, handle, None)
}

/// [`spawn`], recording how each event settles in `deliveries` (the record of recent
/// deliveries `serve` keeps).
///
/// # Errors
/// As [`spawn`].
pub fn spawn_recording(
    settings: WorkerSettings,
    queue: Arc<dyn Queue>,
    dead_letters: Arc<dyn DeadLetters>,
    handle: Handle,
    deliveries: Option<Arc<DeliveryLog>>,
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
        deliveries,
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

    /// The circuit breaker towards SL1 now (`None` in outbox mode).
    pub fn breaker(&self) -> Option<Breaker> {
        self.ctx.breaker_slot().0.clone()
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
}
