//! The dispatch loops: how the threading models take events under the adaptive limit (a
//! [`DeliverySlot`] first, then the next event), run each delivery to its end and stop.
//!
//! - `async` and `hybrid`: a *delivery loop* task per slot. The dispatcher waits for room under
//!   the limit and starts a loop holding it; the loop waits for the next event, delivers it,
//!   settles it and goes on with the same slot as long as the limit keeps it (a lowered limit
//!   takes it back and the loop ends). An accepted event so wakes a loop that is
//!   already waiting for it: one hop from the accepting task to the delivery, no task spawned
//!   per event.
//! - `thread_pool`: each thread takes a slot and an event, delivers with the runtime handle's
//!   `block_on`, gives the slot back, and again.

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

/// What a deliverer holding a slot gets next.
// Short-lived and moved once: boxing the event would cost an allocation per delivery.
#[allow(clippy::large_enum_variant)]
enum Next {
    Event(Event),
    /// The limit was lowered and takes this slot back.
    SlotOwed,
    /// The pool stops.
    Stopped,
    /// The queue ended: no deliverer will get another event.
    QueueEnded,
}

/// Waits for the next event while holding `slot`; gives up when the pool stops, the queue ends
/// or the limit took the slot back (looked at before the wait: a loop already waiting when the
/// limit comes down takes one more event, whose SL1 attempt still waits for room under the
/// limit).
async fn next_event(
    ctx: &Ctx,
    slot: &mut DeliverySlot,
    phase: &mut watch::Receiver<Phase>,
) -> Next {
    // Idle from here: a deliverer waiting for an event is not delivering.
    ::metrics::gauge!(metrics::WORKERS_IDLE).increment(1.0);
    let next = loop {
        if is_stopped(phase) {
            break Next::Stopped;
        }
        // Looked at before each wait, never during one: a queue's `next` is cut short only at
        // shutdown (a read cut short may leave entries pending until they are reclaimed).
        if slot.withdraw_if_owed() {
            break Next::SlotOwed;
        }
        let next = tokio::select! {
            biased;
            () = stopped(phase) => break Next::Stopped,
            next = ctx.queue.next() => next,
        };
        match next {
            Ok(Some(event)) => break Next::Event(event),
            Ok(None) => break Next::QueueEnded,
            Err(error) => {
                tracing::error!(%error, "Cannot take the next event from the queue.");
                if pause(Duration::from_secs(1), phase).await {
                    break Next::Stopped;
                }
            }
        }
    };
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

/// Delivers one event and settles it, then waits out the pause a requeue asks for (the caller
/// holds its slot through it, so that an open circuit is not polled in a loop). Whether the pool
/// stopped meanwhile.
async fn run_delivery(ctx: &Ctx, event: Event, phase: &mut watch::Receiver<Phase>) -> bool {
    busy(ctx);
    let attempted = tokio::select! {
        attempted = ctx.deliver(&event) => attempted,
        () = stopped(phase) => Attempted::cancelled(),
    };
    let wait = ctx.finish(event, attempted).await;
    idle(ctx);
    match wait {
        Some(delay) => pause(delay, phase).await,
        None => is_stopped(phase),
    }
}

/// Why a delivery loop ended.
#[derive(Debug, PartialEq, Eq)]
enum LoopEnd {
    /// Its slot was taken back, or the pool stops: nothing else to do.
    Done,
    /// The queue ended: no loop will get another event.
    QueueEnded,
}

/// One delivery loop of the `async` and `hybrid` models (see the module docs).
async fn delivery_loop(
    ctx: Arc<Ctx>,
    mut slot: DeliverySlot,
    mut phase: watch::Receiver<Phase>,
) -> LoopEnd {
    loop {
        let event = match next_event(&ctx, &mut slot, &mut phase).await {
            Next::Event(event) => event,
            Next::SlotOwed | Next::Stopped => return LoopEnd::Done,
            Next::QueueEnded => return LoopEnd::QueueEnded,
        };
        if run_delivery(&ctx, event, &mut phase).await {
            return LoopEnd::Done;
        }
    }
}

/// How a delivery loop ended; a loop that failed (panicked) is logged and counts as done.
fn ended(done: Result<LoopEnd, tokio::task::JoinError>) -> LoopEnd {
    done.unwrap_or_else(|error| {
        tracing::error!(%error, "A delivery task failed.");
        LoopEnd::Done
    })
}

/// The `async` and `hybrid` models: starts a delivery loop for every slot the limit gives;
/// once stopping (or once the queue ended), waits for the loops (a delivery in flight is
/// cancelled and requeued).
pub(super) async fn run_dispatcher(ctx: Arc<Ctx>, mut phase: watch::Receiver<Phase>) {
    let mut loops = JoinSet::new();
    loop {
        let slot = tokio::select! {
            biased;
            () = stopped(&mut phase) => break,
            Some(done) = loops.join_next() => {
                if ended(done) == LoopEnd::QueueEnded {
                    break;
                }
                continue;
            }
            slot = ctx.limit.delivery_slot() => slot,
        };
        loops.spawn(delivery_loop(Arc::clone(&ctx), slot, phase.clone()));
    }
    while let Some(done) = loops.join_next().await {
        ended(done);
    }
}

/// Waits for room under the limit (idle meanwhile: a `thread_pool` thread waiting under a limit
/// that a slow SL1 lowered below `max_worker_threads` is not delivering); `None` once stopping.
async fn room(ctx: &Ctx, phase: &mut watch::Receiver<Phase>) -> Option<DeliverySlot> {
    ::metrics::gauge!(metrics::WORKERS_IDLE).increment(1.0);
    let slot = tokio::select! {
        biased;
        () = stopped(phase) => None,
        slot = ctx.limit.delivery_slot() => Some(slot),
    };
    ::metrics::gauge!(metrics::WORKERS_IDLE).decrement(1.0);
    slot
}

/// The `thread_pool` model: an OS thread delivering one event at a time through the same slots
/// and stack, driven by the runtime handle; the slot is held to the end of each delivery.
pub(super) fn run_thread_worker(
    ctx: &Arc<Ctx>,
    mut phase: watch::Receiver<Phase>,
    handle: &Handle,
) {
    while let Some(mut slot) = handle.block_on(room(ctx, &mut phase)) {
        let event = match handle.block_on(next_event(ctx, &mut slot, &mut phase)) {
            Next::Event(event) => event,
            Next::SlotOwed => continue,
            Next::Stopped | Next::QueueEnded => return,
        };
        if handle.block_on(run_delivery(ctx, event, &mut phase)) {
            return;
        }
    }
}
