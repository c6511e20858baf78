//! Microsoft Entra ID (Azure AD) bearer tokens, as Azure Event Grid sends them to a webhook
//! protected by an Entra application (`verify = azure` with `azure_tenant` and
//! `azure_audience`).
//!
//! What is checked, following Microsoft's "Deliver events to Microsoft Entra protected
//! endpoints" and the access-token claims reference:
//!
//! 1. `Authorization: Bearer <JWT>` is present (another scheme, e.g. `Basic`, is refused).
//! 2. The header's `alg` is `RS256` (`none`, `HS*`, `ES*`, … are refused before any key is
//!    looked up) and it names a `kid`.
//! 3. The signature verifies with the key of that `kid` from the tenant's JWKS
//!    (`https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`).
//! 4. `iss` is the tenant's v1 (`https://sts.windows.net/{tenant}/`) or v2
//!    (`https://login.microsoftonline.com/{tenant}/v2.0`) issuer.
//! 5. `aud` is one of the configured audiences (app id or app-ID URI).
//! 6. `exp` is a number and not past, `nbf` (when present) a number and not future, both with
//!    [`CLOCK_SKEW`] of leeway (Microsoft.IdentityModel's default), read from the verify stage's
//!    clock.
//! 7. The caller is the expected application: `appid` (v1 tokens) or `azp` (v2 tokens) equals
//!    the configured app id, by default Event Grid's first-party app [`EVENT_GRID_APP_ID`].
//! 8. Optionally, `roles` contains the configured role (`AzureEventGridSecureWebhookSubscriber`
//!    in Microsoft's setup script).
//!
//! Signature, `alg`, `iss` and `aud` are checked by the `jsonwebtoken` crate; the rest here.
//! A refusal names the failed check, never the token.
//!
//! Keys are fetched over HTTPS, only from the fixed authority `https://login.microsoftonline.com`
//! (the tenant is a GUID checked at load, so nothing from a request reaches the URL), and cached
//! per tenant by `kid` in the [`EntraTrust`] (shared by every source built with it, kept across
//! reloads when the same trust is reused). A token naming a cached `kid` verifies inline; an
//! unknown `kid` makes the [`Verify`](crate::Verify) future await one refresh of the tenant's
//! key set, and so does a key set older than a day ([`DEFAULT_MAX_KEY_AGE`]), so that a key
//! Entra withdrew stops being accepted. Refreshes are single-flight per tenant and at most one a
//! minute ([`DEFAULT_REFRESH_INTERVAL`]), so forged tokens naming made-up keys cannot drive
//! outbound requests: within that minute an unknown `kid` is refused with 401, or answered 503
//! when the last fetch failed (Event Grid retries). While a refresh fails, keys already known
//! stay usable.
//!
//! Tests serve a generated key set from a loopback HTTPS server: [`EntraTrustBuilder`] can trust
//! an extra root and replace the authority, but only from code. A mapping file cannot reach it:
//! the verify factory takes an `EntraTrust` only from the
//! [`BuildContext`](genhook_core::BuildContext)'s resources, which code inserts.
//!
//! | module | holds |
//! |---|---|
//! | `token.rs` | the bearer token and its header, the typed claims, the refusal reasons |
//! | `trust.rs` | [`EntraTrust`]: the key sets per tenant, their fetch and cache |
//! | `verifier.rs` | [`EntraVerifier`]: one source's checks, token and trust put together |

mod token;
mod trust;
mod verifier;

use std::time::Duration;

pub use trust::{EntraTrust, EntraTrustBuilder, EntraTrustError};
pub use verifier::{EntraConfigError, EntraVerifier};

/// Azure Event Grid's first-party application id: the caller (`appid` / `azp`) of the tokens it
/// sends to Entra-protected webhooks.
pub const EVENT_GRID_APP_ID: &str = "4962773b-9cdb-44cf-a8bf-237846a00ab7";
/// Where production keys come from.
pub const AUTHORITY: &str = "https://login.microsoftonline.com";
/// The leeway on `exp` and `nbf` (Microsoft.IdentityModel's default clock skew).
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);
/// The shortest time between two fetches of one tenant's key set.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(60);
/// How long a fetched key set is used before it is fetched again (Microsoft advises refreshing
/// signing keys daily).
pub const DEFAULT_MAX_KEY_AGE: Duration = Duration::from_secs(24 * 3600);
/// The time allowed for one key-set fetch.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `text` is a tenant id: a GUID (`8-4-4-4-12` hex digits), the form the issuer uses.
pub fn is_tenant_id(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}
