//! `verify = slack`: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:<ts>:<body>")>`
//! with `X-Slack-Request-Timestamp: <ts>`; timestamps more than the tolerance away from now in
//! either direction are refused (python-slack-sdk uses `abs()`).

use genhook_core::WebhookRequest;

use crate::clock::{SharedClock, Tolerance};
use crate::keys::{header, HmacKeys, Secrets};
use crate::{Verifier, VerifyError};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";

/// The Slack scheme.
#[derive(Debug, Clone)]
pub struct Slack {
    keys: HmacKeys,
    tolerance: Tolerance,
    clock: SharedClock,
}

impl Slack {
    /// Slack with the given signing secrets, tolerance window and clock.
    pub fn new(secrets: &Secrets, window: std::time::Duration, clock: SharedClock) -> Self {
        Self {
            keys: HmacKeys::from_secrets(secrets),
            tolerance: Tolerance {
                window,
                reject_future: true,
            },
            clock,
        }
    }

    /// The `X-Slack-Signature` value for a body (tests and tooling).
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> Option<String> {
        let ts = timestamp.to_string();
        let mac = self.keys.sign(&[b"v0:", ts.as_bytes(), b":", body])?;
        Some(format!("v0={}", hex::encode(mac)))
    }
}

impl Verifier for Slack {
    fn scheme(&self) -> &'static str {
        "slack"
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let signature = header(request, SIGNATURE_HEADER)
            .ok_or_else(|| VerifyError::missing_header(SIGNATURE_HEADER))?;
        let ts_text = header(request, TIMESTAMP_HEADER)
            .ok_or_else(|| VerifyError::missing_header(TIMESTAMP_HEADER))?
            .trim();
        let timestamp: i64 = ts_text
            .parse()
            .map_err(|_| VerifyError::malformed_header(TIMESTAMP_HEADER))?;
        let tag = signature
            .trim()
            .strip_prefix("v0=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| VerifyError::malformed_header(SIGNATURE_HEADER))?;
        self.tolerance.check(timestamp, self.clock.now_unix())?;
        if self
            .keys
            .verify(&[b"v0:", ts_text.as_bytes(), b":", request.body()], &tag)
        {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}
