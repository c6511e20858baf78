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

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use genhook_core::WebhookRequest;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::clock::SharedClock;
use crate::{Check, VerifyError};

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
/// The largest key set read.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// The most keys kept per tenant (Entra publishes a handful).
const MAX_KEYS: usize = 64;

/// Whether `text` is a tenant id: a GUID (`8-4-4-4-12` hex digits), the form the issuer uses.
pub fn is_tenant_id(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

// === trust ===

/// Where Entra signing keys come from, how they are fetched, and the keys already fetched, per
/// tenant. Cheap to clone (shared).
#[derive(Clone)]
pub struct EntraTrust {
    inner: Arc<TrustInner>,
}

struct TrustInner {
    client: reqwest::Client,
    /// `https://host[:port]` without a trailing slash.
    authority: String,
    refresh_interval: Duration,
    max_key_age: Duration,
    tenants: RwLock<HashMap<String, Arc<TenantKeys>>>,
}

/// One tenant's keys and the state of their fetching.
#[derive(Default)]
struct TenantKeys {
    state: RwLock<KeyState>,
    /// Held across a fetch: one fetch per tenant at a time.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct KeyState {
    keys: HashMap<String, Arc<DecodingKey>>,
    /// When `keys` were fetched (`None`: pinned, never stale).
    fetched_at: Option<tokio::time::Instant>,
    last_attempt: Option<tokio::time::Instant>,
    last_failed: bool,
}

impl TenantKeys {
    /// The key `kid` when the set holding it is younger than `max_age`.
    fn fresh(&self, kid: &str, max_age: Duration) -> Option<Arc<DecodingKey>> {
        let state = self.state.read().ok()?;
        if state.fetched_at.is_some_and(|at| at.elapsed() >= max_age) {
            return None;
        }
        state.keys.get(kid).cloned()
    }
}

/// An [`EntraTrust`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EntraTrustError {
    /// A root certificate is not a usable PEM certificate.
    #[error("bad certificate: {0}")]
    Certificate(String),
    /// The authority is not an `https` URL without a path.
    #[error("the authority must be an https URL without a path")]
    Authority,
    /// A pinned key set holds no usable RSA signing key, or the tenant is not a tenant id.
    #[error("bad key set: {0}")]
    KeySet(&'static str),
    /// The HTTPS client could not be built.
    #[error("cannot build the HTTPS client: {0}")]
    Client(String),
}

impl fmt::Debug for EntraTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenants = self.inner.tenants.read().map(|t| t.len()).unwrap_or(0);
        f.debug_struct("EntraTrust")
            .field("authority", &self.inner.authority)
            .field("tenants", &tenants)
            .finish_non_exhaustive()
    }
}

impl EntraTrust {
    /// The production trust: public CA roots, keys from `login.microsoftonline.com` only.
    ///
    /// # Errors
    /// When the HTTPS client cannot be built.
    pub fn new() -> Result<Self, EntraTrustError> {
        Self::builder().build()
    }

    /// A builder, for tests and embedders that need another root or authority.
    pub fn builder() -> EntraTrustBuilder {
        EntraTrustBuilder::default()
    }

    /// The URL of a tenant's key set.
    pub fn jwks_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/discovery/v2.0/keys", self.inner.authority)
    }

    fn tenant(&self, tenant: &str) -> Arc<TenantKeys> {
        if let Some(keys) = self
            .inner
            .tenants
            .read()
            .ok()
            .and_then(|t| t.get(tenant).cloned())
        {
            return keys;
        }
        match self.inner.tenants.write() {
            Ok(mut tenants) => Arc::clone(tenants.entry(tenant.to_owned()).or_default()),
            // A poisoned map: work uncached rather than fail.
            Err(_) => Arc::new(TenantKeys::default()),
        }
    }

    /// A cached key of a tenant, from a key set younger than [`DEFAULT_MAX_KEY_AGE`].
    pub fn cached(&self, tenant: &str, kid: &str) -> Option<Arc<DecodingKey>> {
        self.tenant(tenant).fresh(kid, self.inner.max_key_age)
    }

    /// The key `kid` of `tenant`, fetching the tenant's key set when the key is not cached (or
    /// its set is older than [`DEFAULT_MAX_KEY_AGE`]) and the last fetch is older than the
    /// refresh interval. A key already known stays usable while the set cannot be refreshed.
    ///
    /// # Errors
    /// [`VerifyError::BadToken`] when the key is not in the (fresh) key set,
    /// [`VerifyError::SigningKeysUnavailable`] when the key set cannot be had.
    pub async fn key(&self, tenant: &str, kid: &str) -> Result<Arc<DecodingKey>, VerifyError> {
        let keys = self.tenant(tenant);
        let max_age = self.inner.max_key_age;
        if let Some(key) = keys.fresh(kid, max_age) {
            return Ok(key);
        }
        let _fetching = keys.fetching.lock().await;
        // Another request may have refreshed the set while this one waited.
        if let Some(key) = keys.fresh(kid, max_age) {
            return Ok(key);
        }
        {
            let Ok(mut state) = keys.state.write() else {
                return Err(VerifyError::SigningKeysUnavailable);
            };
            if let Some(at) = state.last_attempt {
                if at.elapsed() < self.inner.refresh_interval {
                    if let Some(stale) = state.keys.get(kid) {
                        return Ok(Arc::clone(stale));
                    }
                    return Err(if state.last_failed {
                        VerifyError::SigningKeysUnavailable
                    } else {
                        VerifyError::BadToken("unknown signing key")
                    });
                }
            }
            state.last_attempt = Some(tokio::time::Instant::now());
        }
        let fetched = self.fetch(tenant).await;
        let Ok(mut state) = keys.state.write() else {
            return Err(VerifyError::SigningKeysUnavailable);
        };
        match fetched {
            Ok(fresh) => {
                state.keys = fresh;
                state.fetched_at = Some(tokio::time::Instant::now());
                state.last_failed = false;
                state
                    .keys
                    .get(kid)
                    .cloned()
                    .ok_or(VerifyError::BadToken("unknown signing key"))
            }
            Err(error) => {
                // The keys already known stay usable.
                state.last_failed = true;
                state.keys.get(kid).cloned().ok_or(error)
            }
        }
    }

    async fn fetch(&self, tenant: &str) -> Result<HashMap<String, Arc<DecodingKey>>, VerifyError> {
        let url = self.jwks_url(tenant);
        let mut response = self
            .inner
            .client
            .get(&url)
            .send()
            .await
            .map_err(|error| unavailable(&url, &error))?;
        if !response.status().is_success() {
            tracing::warn!(%url, status = %response.status(), "Entra signing key fetch failed.");
            return Err(VerifyError::SigningKeysUnavailable);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| unavailable(&url, &error))?
        {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                tracing::warn!(%url, "Entra signing key set is too large.");
                return Err(VerifyError::SigningKeysUnavailable);
            }
            body.extend_from_slice(&chunk);
        }
        match parse_jwks(&body) {
            Ok(keys) => {
                tracing::debug!(%url, keys = keys.len(), "Entra signing keys fetched.");
                Ok(keys)
            }
            Err(reason) => {
                tracing::warn!(%url, reason, "Entra signing key set is not usable.");
                Err(VerifyError::SigningKeysUnavailable)
            }
        }
    }
}

fn unavailable(url: &str, error: &reqwest::Error) -> VerifyError {
    tracing::warn!(url, %error, "Entra signing key fetch failed.");
    VerifyError::SigningKeysUnavailable
}

/// The RSA signing keys of a JWKS document, by `kid`. Keys of another type or use, or without a
/// `kid`, are skipped.
fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<DecodingKey>>, &'static str> {
    let document: Value = serde_json::from_slice(body).map_err(|_| "not JSON")?;
    let entries = document
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("no `keys` array")?;
    let mut keys = HashMap::new();
    for entry in entries {
        if keys.len() >= MAX_KEYS {
            break;
        }
        let text = |name: &str| entry.get(name).and_then(Value::as_str);
        if text("kty") != Some("RSA") || text("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let (Some(kid), Some(n), Some(e)) = (text("kid"), text("n"), text("e")) else {
            continue;
        };
        if let Ok(key) = DecodingKey::from_rsa_components(n, e) {
            keys.insert(kid.to_owned(), Arc::new(key));
        }
    }
    if keys.is_empty() {
        return Err("no RSA signing key");
    }
    Ok(keys)
}

/// Builds an [`EntraTrust`]. Only code can use it; no configuration key reaches it.
#[derive(Default)]
pub struct EntraTrustBuilder {
    roots: Vec<reqwest::Certificate>,
    authority: Option<String>,
    pinned: Vec<(String, Vec<u8>)>,
    timeout: Option<Duration>,
    refresh_interval: Option<Duration>,
    max_key_age: Option<Duration>,
}

impl fmt::Debug for EntraTrustBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraTrustBuilder")
            .field("extra_roots", &self.roots.len())
            .field("authority", &self.authority)
            .field("pinned", &self.pinned.len())
            .finish_non_exhaustive()
    }
}

impl EntraTrustBuilder {
    /// Also trusts this root CA (PEM) when fetching keys.
    ///
    /// # Errors
    /// When the PEM is not a certificate.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<Self, EntraTrustError> {
        let cert = reqwest::Certificate::from_pem(pem)
            .map_err(|e| EntraTrustError::Certificate(e.to_string()))?;
        self.roots.push(cert);
        Ok(self)
    }

    /// Fetches keys from `authority` (`https://127.0.0.1:PORT` in tests) in place of
    /// `https://login.microsoftonline.com`; the path stays `/{tenant}/discovery/v2.0/keys`.
    pub fn authority(mut self, authority: &str) -> Self {
        self.authority = Some(authority.trim_end_matches('/').to_owned());
        self
    }

    /// Puts a tenant's key set (a JWKS document) in the cache, as if it had been fetched.
    pub fn pin_keys(mut self, tenant: &str, jwks: &[u8]) -> Self {
        self.pinned.push((tenant.to_owned(), jwks.to_vec()));
        self
    }

    /// The time allowed for one key-set fetch ([`DEFAULT_FETCH_TIMEOUT`] by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The shortest time between two fetches of a tenant's key set
    /// ([`DEFAULT_REFRESH_INTERVAL`] by default).
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = Some(interval);
        self
    }

    /// How long a fetched key set is used before it is fetched again
    /// ([`DEFAULT_MAX_KEY_AGE`] by default), so that a key Entra withdrew stops being accepted.
    pub fn max_key_age(mut self, age: Duration) -> Self {
        self.max_key_age = Some(age);
        self
    }

    /// Builds the trust.
    ///
    /// # Errors
    /// When the authority is not an `https` origin, a pinned key set is not usable, or the
    /// HTTPS client cannot be built.
    pub fn build(self) -> Result<EntraTrust, EntraTrustError> {
        let authority = match self.authority {
            None => AUTHORITY.to_owned(),
            Some(authority) => {
                let url =
                    reqwest::Url::parse(&authority).map_err(|_| EntraTrustError::Authority)?;
                if url.scheme() != "https"
                    || url.host_str().is_none()
                    || url.path() != "/"
                    || url.query().is_some()
                {
                    return Err(EntraTrustError::Authority);
                }
                authority
            }
        };
        let mut client = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout.unwrap_or(DEFAULT_FETCH_TIMEOUT))
            .connect_timeout(Duration::from_secs(3));
        for root in self.roots {
            client = client.add_root_certificate(root);
        }
        let client = client
            .build()
            .map_err(|e| EntraTrustError::Client(e.to_string()))?;
        let mut tenants = HashMap::new();
        for (tenant, jwks) in self.pinned {
            let tenant = tenant.trim().to_ascii_lowercase();
            if !is_tenant_id(&tenant) {
                return Err(EntraTrustError::KeySet("the tenant is not a tenant id"));
            }
            let keys = parse_jwks(&jwks).map_err(EntraTrustError::KeySet)?;
            let state = KeyState {
                keys,
                fetched_at: None,
                last_attempt: None,
                last_failed: false,
            };
            tenants.insert(
                tenant,
                Arc::new(TenantKeys {
                    state: RwLock::new(state),
                    fetching: tokio::sync::Mutex::new(()),
                }),
            );
        }
        Ok(EntraTrust {
            inner: Arc::new(TrustInner {
                client,
                authority,
                refresh_interval: self.refresh_interval.unwrap_or(DEFAULT_REFRESH_INTERVAL),
                max_key_age: self.max_key_age.unwrap_or(DEFAULT_MAX_KEY_AGE),
                tenants: RwLock::new(tenants),
            }),
        })
    }
}

// === token check ===

/// The Entra ID token check of one source: its tenant, audiences, caller app and role.
#[derive(Debug, Clone)]
pub struct EntraVerifier {
    trust: EntraTrust,
    policy: Arc<Policy>,
}

#[derive(Clone)]
struct Policy {
    tenant: String,
    validation: Validation,
    v1_issuer: String,
    app_id: String,
    role: Option<String>,
    clock: SharedClock,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("tenant", &self.tenant)
            .field("audiences", &self.validation.aud)
            .field("app_id", &self.app_id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// An [`EntraVerifier`] could not be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntraConfigError {
    /// The tenant is not a tenant id (GUID).
    #[error("`azure_tenant` must be the directory (tenant) id, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")]
    Tenant,
    /// No audience.
    #[error("`azure_audience` needs at least one app id or app-ID URI")]
    Audience,
}

/// The claims read after the library checked signature, `iss` and `aud`. Typed so that a claim
/// of the wrong JSON type refuses the token instead of being skipped.
#[derive(Deserialize)]
struct Claims {
    iss: String,
    exp: f64,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    appid: Option<String>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

/// A bearer token whose header was read (not yet verified).
struct Token {
    jwt: String,
    kid: String,
}

impl EntraVerifier {
    /// Tokens of `tenant` for one of `audiences`, called by Event Grid, keys through `trust`,
    /// time from `clock`.
    ///
    /// # Errors
    /// A tenant that is not a GUID, or no audience.
    pub fn new(
        trust: EntraTrust,
        tenant: &str,
        audiences: &[String],
        clock: SharedClock,
    ) -> Result<Self, EntraConfigError> {
        let tenant = tenant.trim().to_ascii_lowercase();
        if !is_tenant_id(&tenant) {
            return Err(EntraConfigError::Tenant);
        }
        let audiences: Vec<&str> = audiences
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .collect();
        if audiences.is_empty() {
            return Err(EntraConfigError::Audience);
        }
        let v1_issuer = format!("https://sts.windows.net/{tenant}/");
        let v2_issuer = format!("https://login.microsoftonline.com/{tenant}/v2.0");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.set_issuer(&[&v1_issuer, &v2_issuer]);
        validation.set_audience(&audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        // Checked below with the stage's clock (and typed claims).
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Ok(Self {
            trust,
            policy: Arc::new(Policy {
                tenant,
                validation,
                v1_issuer,
                app_id: EVENT_GRID_APP_ID.to_owned(),
                role: None,
                clock,
            }),
        })
    }

    /// Requires another caller application id than Event Grid's.
    pub fn with_app_id(mut self, app_id: &str) -> Self {
        Arc::make_mut(&mut self.policy).app_id = app_id.trim().to_owned();
        self
    }

    /// Requires this role in `roles`.
    pub fn with_role(mut self, role: &str) -> Self {
        Arc::make_mut(&mut self.policy).role = Some(role.trim().to_owned());
        self
    }

    /// Reads the bearer token's header.
    fn prepare(&self, request: &WebhookRequest) -> Result<Token, VerifyError> {
        let value = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| VerifyError::missing_header("Authorization"))?;
        let value = value
            .to_str()
            .map_err(|_| VerifyError::malformed_header("Authorization"))?;
        let (scheme, jwt) = value.trim().split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(VerifyError::BadToken("not a Bearer token"));
        }
        let jwt = jwt.trim();
        if jwt.is_empty() {
            return Err(VerifyError::malformed_header("Authorization"));
        }
        let header =
            jsonwebtoken::decode_header(jwt).map_err(|_| VerifyError::BadToken("malformed"))?;
        if header.alg != Algorithm::RS256 {
            return Err(VerifyError::BadToken("algorithm is not RS256"));
        }
        let kid = header.kid.ok_or(VerifyError::BadToken("no key id"))?;
        Ok(Token {
            jwt: jwt.to_owned(),
            kid,
        })
    }

    /// Checks a token whose key is at hand.
    fn check(policy: &Policy, key: &DecodingKey, token: &Token) -> Result<(), VerifyError> {
        let claims = jsonwebtoken::decode::<Claims>(&token.jwt, key, &policy.validation)
            .map_err(|error| VerifyError::BadToken(reason(error.kind())))?
            .claims;
        let now = policy.clock.now_unix() as f64;
        let skew = CLOCK_SKEW.as_secs_f64();
        if !claims.exp.is_finite() || claims.exp + skew < now {
            return Err(VerifyError::BadToken("expired"));
        }
        if let Some(nbf) = claims.nbf {
            if !nbf.is_finite() || nbf - skew > now {
                return Err(VerifyError::BadToken("not yet valid"));
            }
        }
        let caller = if claims.iss == policy.v1_issuer {
            claims.appid
        } else {
            claims.azp
        };
        if caller.as_deref() != Some(policy.app_id.as_str()) {
            return Err(VerifyError::BadToken(
                "caller is not the expected application",
            ));
        }
        if let Some(role) = &policy.role {
            if !claims.roles.iter().any(|r| r == role) {
                return Err(VerifyError::BadToken("required role is missing"));
            }
        }
        Ok(())
    }

    /// Synchronous check: works only when the key is already cached; otherwise answers
    /// [`VerifyError::SigningKeysUnavailable`].
    ///
    /// # Errors
    /// Why the token is refused.
    pub fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let token = self.prepare(request)?;
        let key = self
            .trust
            .cached(&self.policy.tenant, &token.kid)
            .ok_or(VerifyError::SigningKeysUnavailable)?;
        Self::check(&self.policy, &key, &token)
    }

    /// Checks inline when the key is cached, else answers a [`Check::Pending`] that fetches it.
    ///
    /// # Errors
    /// Why the token is refused.
    pub fn start(&self, request: &WebhookRequest) -> Result<Check, VerifyError> {
        let token = self.prepare(request)?;
        if let Some(key) = self.trust.cached(&self.policy.tenant, &token.kid) {
            Self::check(&self.policy, &key, &token)?;
            return Ok(Check::Ready);
        }
        let trust = self.trust.clone();
        let policy = Arc::clone(&self.policy);
        Ok(Check::Pending(Box::pin(async move {
            let key = trust.key(&policy.tenant, &token.kid).await?;
            Self::check(&policy, &key, &token)
        })))
    }
}

/// The public reason of a refusal by the library (names the check, never the token).
fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSignature => "signature does not match",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => "algorithm is not RS256",
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        ErrorKind::Json(_) => "malformed claims",
        _ => "invalid",
    }
}
