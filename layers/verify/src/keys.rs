//! The secrets of a source, held for constant-time use: [`Secrets`] (plain values compared with
//! [`subtle`]) and [`HmacKeys`] (HMAC-SHA256 instances keyed once at load). Several secrets are
//! accepted at once so that operators can rotate.

use std::fmt;
use std::sync::Arc;

use genhook_core::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// HMAC-SHA256.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// One or more secrets; a value matches when it equals any of them.
#[derive(Clone)]
pub struct Secrets(Arc<[Secret]>);

impl Secrets {
    /// The secrets; `None` when the list is empty.
    pub fn new(secrets: Vec<Secret>) -> Option<Self> {
        (!secrets.is_empty()).then(|| Self(secrets.into()))
    }

    /// Splits a `secret =` value on commas (blank items are dropped).
    pub fn parse(value: &str) -> Option<Self> {
        Self::new(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::from)
                .collect(),
        )
    }

    /// The secrets, for schemes that derive keys from them.
    pub fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.0.iter()
    }

    /// Whether `candidate` equals one of the secrets, compared in constant time (every secret is
    /// compared, so the time does not tell which one matched).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let mut found = subtle::Choice::from(0);
        for secret in self.0.iter() {
            found |= secret.expose().as_bytes().ct_eq(candidate);
        }
        found.into()
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets(<{} redacted>)", self.0.len())
    }
}

/// HMAC-SHA256 instances, one per secret, keyed once at load.
#[derive(Clone)]
pub struct HmacKeys(Arc<[HmacSha256]>);

impl HmacKeys {
    /// Keys HMAC-SHA256 with each secret's UTF-8 bytes.
    pub fn from_secrets(secrets: &Secrets) -> Self {
        Self::from_raw_keys(secrets.iter().map(|s| s.expose().as_bytes().to_vec()))
    }

    /// Keys HMAC-SHA256 with raw key bytes (e.g. a base64-decoded `whsec_` secret).
    pub fn from_raw_keys(keys: impl IntoIterator<Item = Vec<u8>>) -> Self {
        Self(
            keys.into_iter()
                .filter_map(|key| HmacSha256::new_from_slice(&key).ok())
                .collect(),
        )
    }

    /// Whether `tag` is the HMAC of the concatenated `parts` under any key (constant time per
    /// key).
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        let mut ok = false;
        for key in self.0.iter() {
            let mut mac = key.clone();
            for part in parts {
                mac.update(part);
            }
            ok |= mac.verify_slice(tag).is_ok();
        }
        ok
    }

    /// The HMAC of the concatenated `parts` under the first key (used by tests and signers).
    pub fn sign(&self, parts: &[&[u8]]) -> Option<Vec<u8>> {
        let mut mac = self.0.first()?.clone();
        for part in parts {
            mac.update(part);
        }
        Some(mac.finalize().into_bytes().to_vec())
    }
}

impl fmt::Debug for HmacKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HmacKeys(<{} redacted>)", self.0.len())
    }
}

/// Reads a header as text, `None` when absent or not visible ASCII.
pub(crate) fn header<'r>(request: &'r genhook_core::WebhookRequest, name: &str) -> Option<&'r str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}
