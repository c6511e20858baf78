//! Where the pool delivers: [`Destination`] (SL1 through the worker stack, or the outbox) and
//! [`Live`], the destination with the settings it was built from, swapped whole on reload.
//! Building one keeps what a reload must not reset: the breaker while the SL1 URL and the
//! breaker settings are unchanged, each source's semaphore while its limit is.

use genhook_core::metrics;

use super::WorkerError;
use crate::worker::adaptive::AdaptiveLimit;
use crate::worker::breaker::Breaker;
use crate::worker::outbox::Outbox;
use crate::worker::settings::WorkerSettings;
use crate::worker::sl1::Sl1Client;
use crate::worker::stack::Deliverer;

/// Where alerts go: SL1 through the worker stack, or the outbox when `sl1_api_url` is unset.
#[derive(Debug)]
pub(super) enum Destination {
    Sl1(Box<Deliverer<Sl1Client>>),
    Outbox(Outbox),
}

/// The delivery destination and the settings it was built from: swapped whole on reload. A delivery
/// loads it once per event, so an event in flight finishes on the destination it started with.
#[derive(Debug)]
pub(super) struct Live {
    pub(super) destination: Destination,
    pub(super) settings: WorkerSettings,
}

/// Builds the destination for `settings`; `previous` is the destination in use (a reload): its breaker is
/// kept when the SL1 URL and the breaker settings are unchanged, and its per-source semaphores
/// where the limit is unchanged. Returns the breaker and whether it is a new one.
pub(super) fn build_destination(
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

pub(super) fn sender_of(destination: &Destination) -> Option<Deliverer<Sl1Client>> {
    match destination {
        Destination::Sl1(deliverer) => Some((**deliverer).clone()),
        Destination::Outbox(_) => None,
    }
}
