//! `verify = jira`: Jira admin webhooks with a secret send
//! `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>` (GitHub's scheme under the
//! WebSub header name).

use crate::keys::Secrets;
use crate::scheme::{Encoding, HmacHeader};

/// Jira's header.
pub const HEADER: &str = "X-Hub-Signature";

/// The Jira scheme.
pub fn verifier(secrets: &Secrets) -> HmacHeader {
    HmacHeader::new(HEADER, "sha256=", Encoding::Hex, secrets).named("jira")
}
