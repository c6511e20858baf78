//! `verify = standard-webhooks` (Svix and every sender following standardwebhooks.com):
//! `webhook-id`, `webhook-timestamp`, `webhook-signature` (or the `svix-` names), the signature
//! list holding space-separated `v1,<base64 HMAC-SHA256(key, "id.ts.body")>` entries, where the
//! key is the base64-decoded secret after its `whsec_` prefix. Any matching `v1` entry passes;
//! other versions (`v1a`, unknown) are ignored. Timestamps beyond the tolerance in either
//! direction are refused, as the official libraries do.

use base64::Engine as _;
use genhook_core::WebhookRequest;

use crate::clock::{SharedClock, Tolerance};
use crate::keys::{header, HmacKeys, Secrets};
use crate::{Verifier, VerifyError};

/// The secret could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a standard-webhooks secret must be base64 (after an optional `whsec_` prefix)")]
pub struct BadSecret;

/// Decodes a `whsec_…` (or bare base64) secret into the HMAC key.
///
/// # Errors
/// [`BadSecret`] when it is not base64 (padding optional, as the python library allows).
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, BadSecret> {
    let text = secret.strip_prefix("whsec_").unwrap_or(secret);
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|_| BadSecret)
        .and_then(|key| {
            if key.is_empty() {
                Err(BadSecret)
            } else {
                Ok(key)
            }
        })
}

/// The `v1` signatures of a `webhook-signature` header, decoded; other versions and entries
/// that are not base64 are skipped.
pub fn parse_signatures(value: &str) -> impl Iterator<Item = Vec<u8>> + '_ {
    value.split(' ').filter_map(|entry| {
        let (version, sig) = entry.split_once(',')?;
        if version != "v1" {
            return None;
        }
        base64::engine::general_purpose::STANDARD.decode(sig).ok()
    })
}

/// The Standard Webhooks scheme.
#[derive(Debug, Clone)]
pub struct StandardWebhooks {
    keys: HmacKeys,
    tolerance: Tolerance,
    clock: SharedClock,
}

impl StandardWebhooks {
    /// Standard Webhooks with the given secrets, tolerance window and clock.
    ///
    /// # Errors
    /// [`BadSecret`] when a secret is not base64.
    pub fn new(
        secrets: &Secrets,
        window: std::time::Duration,
        clock: SharedClock,
    ) -> Result<Self, BadSecret> {
        let keys = secrets
            .iter()
            .map(|s| decode_secret(s.expose()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            keys: HmacKeys::from_raw_keys(keys),
            tolerance: Tolerance {
                window,
                reject_future: true,
            },
            clock,
        })
    }

    /// The `webhook-signature` value for a message (tests and tooling).
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
        let ts = timestamp.to_string();
        let mac = self
            .keys
            .sign(&[id.as_bytes(), b".", ts.as_bytes(), b".", body])?;
        Some(format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac)
        ))
    }
}

fn either<'r>(request: &'r WebhookRequest, name: &'static str) -> Result<&'r str, VerifyError> {
    header(request, name)
        .or_else(|| header(request, &name.replacen("webhook-", "svix-", 1)))
        .ok_or_else(|| VerifyError::missing_header(name))
}

impl Verifier for StandardWebhooks {
    fn scheme(&self) -> &'static str {
        "standard-webhooks"
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let id = either(request, "webhook-id")?;
        let ts_text = either(request, "webhook-timestamp")?.trim();
        let signatures = either(request, "webhook-signature")?;
        let timestamp: i64 = ts_text
            .parse()
            .map_err(|_| VerifyError::malformed_header("webhook-timestamp"))?;
        self.tolerance.check(timestamp, self.clock.now_unix())?;
        let content: [&[u8]; 5] = [
            id.as_bytes(),
            b".",
            ts_text.as_bytes(),
            b".",
            request.body(),
        ];
        let mut any = false;
        let mut matched = false;
        for sig in parse_signatures(signatures) {
            any = true;
            matched |= self.keys.verify(&content, &sig);
        }
        if !any {
            Err(VerifyError::malformed_header("webhook-signature"))
        } else if matched {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}
