//! A circuit breaker: a generic tower middleware (not tied to SL1 or webhooks) that stops calling
//! an inner service that keeps failing.
//!
//! ```text
//!            N consecutive failures              cooldown elapsed
//!  Closed ─────────────────────────► Open ──────────────────────────► HalfOpen (one probe)
//!    ▲                                 ▲                                   │
//!    │ probe (or any call) succeeds    └──────── probe fails ──────────────┤
//!    └─────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! While open it fails fast with [`BreakerOpen`] (which says how long is left of the cooldown) and
//! never calls the inner service. Which errors count as failures is up to a classifier, so that an
//! SL1 `400` (the request is bad, SL1 is fine) does not open the circuit.
//!
//! The state machine, [`Breaker`], is shared by every clone of the middleware and is usable on
//! its own. Its state is published on
//! a `tokio::sync::watch` channel ([`Breaker::subscribe`]) and, when a gauge name is given, as a
//! metric (0 closed, 1 half-open, 2 open). Time is `tokio::time`, so paused-clock tests drive it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::Duration;
//! use genhook::worker::breaker::{Breaker, BreakerOpen, CircuitBreakerLayer};
//! use tower::{service_fn, BoxError, ServiceBuilder, ServiceExt};
//!
//! let breaker = Breaker::new(1, Duration::from_secs(30));
//! let svc = ServiceBuilder::new()
//!     .layer(CircuitBreakerLayer::new(breaker.clone()))
//!     .service(service_fn(|_: ()| async { Err::<(), BoxError>("down".into()) }));
//! assert!(svc.clone().oneshot(()).await.is_err()); // opens the circuit
//! let error = svc.oneshot(()).await.unwrap_err();
//! assert!(error.is::<BreakerOpen>()); // fails fast
//! # }
//! ```
//!
//! `machine.rs` holds the state machine ([`Breaker`], [`Permit`]), `layer.rs` the tower
//! middleware ([`CircuitBreakerLayer`], [`CircuitBreaker`], [`FailureClassifier`]).

mod layer;
mod machine;

pub use layer::future;
pub use layer::{AnyError, CircuitBreaker, CircuitBreakerLayer, FailureClassifier};
pub use machine::{Breaker, BreakerOpen, BreakerState, Permit};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tower::{BoxError, Layer as _};

    use super::*;
    use tokio_test::{assert_pending, assert_ready_ok};
    use tower::ServiceExt;
    use tower_test::mock;

    fn failing_permits(breaker: &Breaker, n: u32) {
        for _ in 0..n {
            breaker.try_acquire().unwrap().failure();
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_then_half_opens_after_cooldown_then_closes() {
        let breaker = Breaker::new(3, Duration::from_secs(30));
        let mut states = breaker.subscribe();
        failing_permits(&breaker, 2);
        assert_eq!(breaker.state(), BreakerState::Closed);
        failing_permits(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(states.has_changed().unwrap());
        assert_eq!(*states.borrow_and_update(), BreakerState::Open);

        let open = breaker.try_acquire().unwrap_err();
        assert_eq!(open.retry_in(), Duration::from_secs(30));
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(breaker.try_acquire().is_err());
        tokio::time::advance(Duration::from_secs(1)).await;

        let probe = breaker.try_acquire().unwrap();
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let refused = breaker.try_acquire().unwrap_err();
        assert_eq!(
            refused.retry_in(),
            Duration::from_secs(1),
            "only one probe at a time"
        );
        probe.success();
        assert_eq!(breaker.state(), BreakerState::Closed);
        assert!(breaker.try_acquire().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens_for_another_cooldown() {
        let breaker = Breaker::new(1, Duration::from_secs(10));
        failing_permits(&breaker, 1);
        tokio::time::advance(Duration::from_secs(10)).await;
        breaker.try_acquire().unwrap().failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(
            breaker.try_acquire().unwrap_err().retry_in(),
            Duration::from_secs(10)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_probe_frees_the_slot() {
        let breaker = Breaker::new(1, Duration::from_secs(1));
        failing_permits(&breaker, 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        drop(breaker.try_acquire().unwrap());
        assert!(breaker.try_acquire().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_the_consecutive_count() {
        let breaker = Breaker::new(2, Duration::from_secs(1));
        failing_permits(&breaker, 1);
        breaker.try_acquire().unwrap().success();
        failing_permits(&breaker, 1);
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn open_circuit_never_reaches_inner_service() {
        let breaker = Breaker::new(1, Duration::from_secs(5));
        let (service, mut handle) =
            mock::spawn_layer::<(), (), _>(CircuitBreakerLayer::new(breaker.clone()));
        let mut service = service;

        assert_ready_ok!(service.poll_ready());
        let response = service.call(());
        let (_, send) = handle.next_request().await.unwrap();
        send.send_error("down");
        assert!(response.await.is_err());
        assert_eq!(breaker.state(), BreakerState::Open);

        // Refused without being polled ready and without a request reaching the inner service.
        handle.allow(0);
        assert_ready_ok!(service.poll_ready());
        let error = service.call(()).await.unwrap_err();
        assert!(error.is::<BreakerOpen>());
        assert_pending!(handle.poll_request());
    }

    #[tokio::test]
    async fn classifier_decides_what_counts() {
        fn never(_: &BoxError) -> bool {
            false
        }
        let breaker = Breaker::new(1, Duration::from_secs(5));
        let svc =
            CircuitBreakerLayer::with_classifier(breaker.clone(), never as fn(&BoxError) -> bool)
                .layer(tower::service_fn(|_: ()| async {
                    Err::<(), BoxError>("bad request".into())
                }));
        assert!(svc.clone().oneshot(()).await.is_err());
        assert!(svc.oneshot(()).await.is_err());
        assert_eq!(breaker.state(), BreakerState::Closed);
    }
}
