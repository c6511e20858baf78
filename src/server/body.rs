//! Request bodies, read whole before a webhook enters its stack, within two limits:
//!
//! - `max_body_size`, per request: a larger body (by its `Content-Length`, or as it arrives) is
//!   answered `413`;
//! - `max_inflight_body_bytes`, for all requests together: the [`BodyBudget`] of body bytes held by
//!   the requests in flight. A request reserves its `Content-Length` up front (or its bytes as they
//!   arrive, for a body without one) and keeps the reservation until it is answered; a body that
//!   does not fit is answered `503` with `Retry-After` at once, never queued, so a flood of large
//!   slow uploads cannot grow the process without bound.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::response::Response;
use bytes::BytesMut;
use genhook_core::metrics as names;
use http::StatusCode;
use http_body::Body as _;
use http_body_util::BodyExt as _;

use super::respond::error_response;

/// The body bytes that the requests in flight may hold together (`max_inflight_body_bytes`).
/// Cheap to clone; the limit can change while running (reload), reservations already made stay.
#[derive(Clone)]
pub struct BodyBudget {
    inner: Arc<Budget>,
}

struct Budget {
    held: AtomicU64,
    limit: AtomicU64,
}

impl fmt::Debug for BodyBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyBudget")
            .field("held", &self.held())
            .field("limit", &self.limit())
            .finish()
    }
}

impl BodyBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self {
            inner: Arc::new(Budget {
                held: AtomicU64::new(0),
                limit: AtomicU64::new(limit),
            }),
        }
    }

    /// Changes the limit (reload).
    pub fn set_limit(&self, limit: u64) {
        self.inner.limit.store(limit, Ordering::Relaxed);
    }

    /// The limit in force.
    pub fn limit(&self) -> u64 {
        self.inner.limit.load(Ordering::Relaxed)
    }

    /// The bytes reserved now.
    pub fn held(&self) -> u64 {
        self.inner.held.load(Ordering::SeqCst)
    }

    /// Reserves `bytes`, or `None` when they do not fit.
    pub fn reserve(&self, bytes: u64) -> Option<Reservation> {
        let mut reservation = Reservation {
            budget: self.inner.clone(),
            bytes: 0,
        };
        reservation.grow_to(bytes).then_some(reservation)
    }
}

/// Body bytes held by one request; given back when dropped (once the request is answered).
#[must_use = "the bytes are reserved only while the reservation lives"]
pub struct Reservation {
    budget: Arc<Budget>,
    bytes: u64,
}

impl fmt::Debug for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reservation")
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Reservation {
    /// Grows the reservation to `total` bytes; whether they fit (nothing changes when not).
    fn grow_to(&mut self, total: u64) -> bool {
        let more = total.saturating_sub(self.bytes);
        if more == 0 {
            return true;
        }
        let limit = self.budget.limit.load(Ordering::Relaxed);
        let taken = self
            .budget
            .held
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |held| {
                held.checked_add(more).filter(|after| *after <= limit)
            })
            .is_ok();
        if taken {
            self.bytes = total;
            metrics::gauge!(names::INFLIGHT_BODY_BYTES).increment(more as f64);
        }
        taken
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes > 0 {
            self.budget.held.fetch_sub(self.bytes, Ordering::SeqCst);
            metrics::gauge!(names::INFLIGHT_BODY_BYTES).decrement(self.bytes as f64);
        }
    }
}

/// Reads the whole body within `max_body_size` (`413` beyond it) and `budget` (`503` +
/// `Retry-After` when it does not fit); `400` when the read fails. The reservation is to be kept
/// until the request is answered.
pub async fn read(
    body: Body,
    max_body_size: usize,
    budget: &BodyBudget,
) -> Result<(Bytes, Reservation), Response> {
    let max = u64::try_from(max_body_size).unwrap_or(u64::MAX);
    let hint = body.size_hint();
    if hint.lower() > max {
        return Err(too_large(max_body_size));
    }
    // The declared length is reserved before a byte is read; a body without one, as it arrives.
    let declared = hint.exact().unwrap_or(0);
    let mut reservation = budget.reserve(declared).ok_or_else(over_budget)?;
    let mut bytes = BytesMut::with_capacity(usize::try_from(declared).unwrap_or(0));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            error_response(
                StatusCode::BAD_REQUEST,
                "could not read the request body",
                None,
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let total = (bytes.len() + data.len()) as u64;
        if total > max {
            return Err(too_large(max_body_size));
        }
        if !reservation.grow_to(total) {
            return Err(over_budget());
        }
        bytes.extend_from_slice(&data);
    }
    Ok((bytes.freeze(), reservation))
}

fn too_large(max_body_size: usize) -> Response {
    error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &format!("body is larger than max_body_size ({max_body_size} bytes)"),
        None,
    )
}

fn over_budget() -> Response {
    // Answered to every request while it lasts: counted, logged at debug only.
    tracing::debug!(
        "Request body refused: max_inflight_body_bytes are held by requests in flight."
    );
    metrics::counter!(names::BODIES_REFUSED).increment(1);
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many request bodies in flight (max_inflight_body_bytes); retry later",
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_within_the_limit_and_are_given_back() {
        let budget = BodyBudget::new(100);
        let a = budget.reserve(60).unwrap();
        assert!(budget.reserve(50).is_none(), "60 + 50 > 100");
        let mut b = budget.reserve(40).unwrap();
        assert_eq!(budget.held(), 100);
        assert!(!b.grow_to(41));
        assert_eq!(budget.held(), 100, "a refused growth takes nothing");
        drop(a);
        assert!(b.grow_to(90));
        assert_eq!(budget.held(), 90);
        drop(b);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_lower_limit_applies_to_new_reservations_only() {
        let budget = BodyBudget::new(100);
        let held = budget.reserve(80).unwrap();
        budget.set_limit(50);
        assert!(budget.reserve(1).is_none());
        drop(held);
        assert!(budget.reserve(50).is_some());
    }

    #[tokio::test]
    async fn a_body_without_length_is_reserved_as_it_arrives() {
        let budget = BodyBudget::new(10);
        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"12345")),
            Ok(Bytes::from_static(b"678901")),
        ];
        let body = Body::from_stream(futures_util::stream::iter(chunks));
        let refused = read(body, 100, &budget).await.unwrap_err();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.headers().contains_key(http::header::RETRY_AFTER));
        assert_eq!(budget.held(), 0);

        let (bytes, reservation) = read(Body::from("0123456789"), 100, &budget).await.unwrap();
        assert_eq!(&bytes[..], b"0123456789");
        assert_eq!(budget.held(), 10);
        drop(reservation);
        let too_large = read(Body::from("0123456789"), 9, &budget)
            .await
            .unwrap_err();
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
