//! [`EntraTrust`]: where Entra signing keys come from (the fixed authority, tenants checked at
//! load), the single-flight, rate-limited fetch of a tenant's key set and the keys cached per
//! tenant by `kid`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use serde_json::Value;

use super::{
    is_tenant_id, AUTHORITY, DEFAULT_FETCH_TIMEOUT, DEFAULT_MAX_KEY_AGE, DEFAULT_REFRESH_INTERVAL,
};
use crate::VerifyError;

/// The largest key set read.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// The most keys kept per tenant (Entra publishes a handful).
const MAX_KEYS: usize = 64;

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
