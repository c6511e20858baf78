//! `verify = stripe`: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…][,v0=…]`, the MAC being
//! HMAC-SHA256 keyed with the whole `whsec_…` string (not base64-decoded) over `"<t>.<body>"`.
//! Only `v1` entries count (anything else is ignored, against downgrades); the request passes if
//! any `v1` matches any secret. Like stripe-node and stripe-python, only timestamps older than
//! the tolerance are refused: a timestamp in the future is accepted.

use genhook_core::WebhookRequest;

use crate::clock::{SharedClock, Tolerance};
use crate::keys::{header, HmacKeys, Secrets};
use crate::{Verifier, VerifyError};

/// Stripe's header.
pub const HEADER: &str = "Stripe-Signature";

/// A parsed `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeSignature {
    /// The signed timestamp (`t=`).
    pub timestamp: i64,
    /// The decoded `v1=` signatures (entries that are not hex are dropped).
    pub v1: Vec<Vec<u8>>,
}

/// Parses a `Stripe-Signature` header.
///
/// # Errors
/// [`VerifyError::Malformed`] when there is no single integer `t=` or no `v1=` entry.
pub fn parse_header(value: &str) -> Result<StripeSignature, VerifyError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    let mut has_v1 = false;
    for item in value.split(',') {
        let Some((key, val)) = item.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => {
                if timestamp.is_some() {
                    return Err(VerifyError::malformed_header(HEADER));
                }
                timestamp = Some(
                    val.parse::<i64>()
                        .map_err(|_| VerifyError::malformed_header(HEADER))?,
                );
            }
            "v1" => {
                has_v1 = true;
                if let Ok(sig) = hex::decode(val) {
                    v1.push(sig);
                }
            }
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if has_v1 => Ok(StripeSignature { timestamp, v1 }),
        _ => Err(VerifyError::malformed_header(HEADER)),
    }
}

/// The Stripe scheme.
#[derive(Debug, Clone)]
pub struct Stripe {
    keys: HmacKeys,
    tolerance: Tolerance,
    clock: SharedClock,
}

impl Stripe {
    /// Stripe with the given endpoint secrets, tolerance window and clock.
    pub fn new(secrets: &Secrets, window: std::time::Duration, clock: SharedClock) -> Self {
        Self {
            keys: HmacKeys::from_secrets(secrets),
            tolerance: Tolerance {
                window,
                reject_future: false,
            },
            clock,
        }
    }

    /// Builds the header value for a body (tests and tooling).
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> Option<String> {
        let ts = timestamp.to_string();
        let mac = self.keys.sign(&[ts.as_bytes(), b".", body])?;
        Some(format!("t={ts},v1={}", hex::encode(mac)))
    }
}

impl Verifier for Stripe {
    fn scheme(&self) -> &'static str {
        "stripe"
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let value = header(request, HEADER).ok_or_else(|| VerifyError::missing_header(HEADER))?;
        let parsed = parse_header(value)?;
        let ts = parsed.timestamp.to_string();
        let body = request.body();
        let mut matched = false;
        for sig in &parsed.v1 {
            matched |= self.keys.verify(&[ts.as_bytes(), b".", body], sig);
        }
        if !matched {
            return Err(VerifyError::Mismatch);
        }
        self.tolerance
            .check(parsed.timestamp, self.clock.now_unix())
    }
}
