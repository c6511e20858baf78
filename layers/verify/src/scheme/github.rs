//! `verify = github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`.
//! When that header is absent, the legacy `X-Hub-Signature: sha1=<hex>` is accepted (GitHub sends
//! both; the SHA-1 one is only looked at when the SHA-256 one is missing).

use crate::keys::Secrets;
use crate::scheme::{Encoding, HmacHeader};

/// GitHub's header.
pub const HEADER: &str = "X-Hub-Signature-256";

/// The GitHub scheme.
pub fn verifier(secrets: &Secrets) -> HmacHeader {
    HmacHeader::new(HEADER, "sha256=", Encoding::Hex, secrets)
        .named("github")
        .with_legacy_sha1(secrets.clone())
}
