//! The dispatch loops: how the threading models take events under the adaptive limit (a
//! [`DeliverySlot`] first, then the next event), run each delivery to its end and stop. The
//! `async` and `hybrid` models spawn a task per delivery; `thread_pool` threads run one at a
//! time with the runtime handle's `block_on`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use genhook_core::metrics;
use genhook_core::queue::Event;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::settle::Attempted;
use super::{Ctx, Phase};
use crate::worker::adaptive::DeliverySlot;

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
    let attempted = tokio::select! {
        attempted = ctx.deliver(&event) => attempted,
        () = stopped(&mut phase) => Attempted::cancelled(),
    };
    let wait = ctx.finish(event, attempted).await;
    idle(&ctx);
    if let Some(delay) = wait {
        pause(delay, &mut phase).await;
    }
    drop(slot);
}

/// The `async` and `hybrid` models: one task takes events as slots free up and spawns a task per
/// delivery; once stopping, it waits for the deliveries in flight (cancelled and requeued).
pub(super) async fn run_dispatcher(ctx: Arc<Ctx>, mut phase: watch::Receiver<Phase>) {
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
pub(super) fn run_thread_worker(
    ctx: &Arc<Ctx>,
    mut phase: watch::Receiver<Phase>,
    handle: &Handle,
) {
    while let Some((slot, event)) = handle.block_on(next_delivery(ctx, &mut phase)) {
        handle.block_on(run_delivery(Arc::clone(ctx), event, slot, phase.clone()));
    }
}
