//! Trust in SNS signing certificates: [`SnsTrust`] says which `SigningCertURL`s may be fetched
//! (HTTPS, an SNS host, no port), fetches them with normal CA validation, caches their
//! [`CertificateKey`] by URL and backs off from URLs whose fetch failed.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::Url;

use super::message::SignatureVersion;
use crate::VerifyError;
use genhook_core::sns::is_sns_host;

/// The RSA public key of a signing certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateKey {
    rsa_public_key: Vec<u8>,
}

impl fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateKey").finish_non_exhaustive()
    }
}

impl CertificateKey {
    /// Reads the RSA public key of the first certificate of a PEM file.
    ///
    /// # Errors
    /// [`VerifyError::BadCertificate`] when there is no parsable X.509 certificate with an RSA key.
    pub fn from_pem(pem: &[u8]) -> Result<Self, VerifyError> {
        use rustls_pki_types::pem::PemObject as _;
        let der = rustls_pki_types::CertificateDer::from_pem_slice(pem)
            .map_err(|_| VerifyError::BadCertificate)?;
        let cert =
            webpki::EndEntityCert::try_from(&der).map_err(|_| VerifyError::BadCertificate)?;
        let spki = cert.subject_public_key_info();
        let rsa_public_key = rsa_key_from_spki(spki.as_ref()).ok_or(VerifyError::BadCertificate)?;
        Ok(Self {
            rsa_public_key: rsa_public_key.to_vec(),
        })
    }

    /// Whether `signature` is this key's signature of `message`.
    pub fn verify(&self, version: SignatureVersion, message: &[u8], signature: &[u8]) -> bool {
        let algorithm: &dyn ring::signature::VerificationAlgorithm = match version {
            SignatureVersion::V1 => &ring::signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            SignatureVersion::V2 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        };
        ring::signature::UnparsedPublicKey::new(algorithm, &self.rsa_public_key)
            .verify(message, signature)
            .is_ok()
    }
}

/// One DER TLV: (tag, content, rest).
fn der_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (len_bytes, rest) = rest.split_at(n);
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    if rest.len() < len {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    Some((tag, content, rest))
}

/// The `RSAPublicKey` inside an RSA `SubjectPublicKeyInfo`.
fn rsa_key_from_spki(spki: &[u8]) -> Option<&[u8]> {
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (0x30, spki, _) = der_tlv(spki)? else {
        return None;
    };
    let (0x30, algorithm, rest) = der_tlv(spki)? else {
        return None;
    };
    let (0x06, oid, _) = der_tlv(algorithm)? else {
        return None;
    };
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (0x03, bits, _) = der_tlv(rest)? else {
        return None;
    };
    match bits.split_first()? {
        (0, key) => Some(key),
        _ => None,
    }
}

// === trust ===

/// A host rule set by code (tests) in place of [`is_sns_host`].
type HostRule = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Where SNS signing certificates may come from, how they are fetched, and the cache of those
/// already fetched. Cheap to clone (shared).
#[derive(Clone)]
pub struct SnsTrust {
    inner: Arc<TrustInner>,
}

struct TrustInner {
    client: reqwest::Client,
    host_rule: Option<HostRule>,
    cache: RwLock<HashMap<String, Arc<CertificateKey>>>,
    /// URLs whose fetch failed, and when: not fetched again for [`FAILURE_BACKOFF`], so that
    /// forged messages naming made-up certificate paths cannot turn into a stream of outbound
    /// requests.
    failures: RwLock<HashMap<String, (tokio::time::Instant, VerifyError)>>,
}

/// The most certificates kept; a full cache is emptied (real SNS uses a handful of URLs).
const CACHE_CAPACITY: usize = 64;
/// How long a failed certificate URL is not fetched again.
const FAILURE_BACKOFF: Duration = Duration::from_secs(60);
/// The most failed URLs remembered; a full list is emptied.
const FAILURE_CAPACITY: usize = 256;
/// The largest certificate file read.
const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

/// An [`SnsTrust`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnsTrustError {
    /// A root or pinned certificate is not a usable PEM certificate.
    #[error("bad certificate: {0}")]
    Certificate(String),
    /// The HTTPS client could not be built.
    #[error("cannot build the HTTPS client: {0}")]
    Client(String),
}

impl fmt::Debug for SnsTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self.inner.cache.read().map(|c| c.len()).unwrap_or(0);
        f.debug_struct("SnsTrust")
            .field(
                "host_rule",
                &if self.inner.host_rule.is_some() {
                    "custom"
                } else {
                    "sns"
                },
            )
            .field("cached", &cached)
            .finish()
    }
}

impl SnsTrust {
    /// The production trust: public CA roots, SNS hosts only.
    ///
    /// # Errors
    /// When the HTTPS client cannot be built.
    pub fn new() -> Result<Self, SnsTrustError> {
        Self::builder().build()
    }

    /// A builder, for tests and embedders that need to trust another root or host.
    pub fn builder() -> SnsTrustBuilder {
        SnsTrustBuilder::default()
    }

    /// Checks a `SigningCertURL`.
    ///
    /// # Errors
    /// [`VerifyError::UntrustedCertificateUrl`].
    pub fn check_url(&self, url: &str) -> Result<(), VerifyError> {
        let parsed = Url::parse(url).map_err(|_| VerifyError::UntrustedCertificateUrl)?;
        let host = parsed.host_str().unwrap_or_default();
        let host_ok = match &self.inner.host_rule {
            Some(rule) => rule(host),
            None => parsed.port().is_none() && is_sns_host(host),
        };
        if parsed.scheme() == "https"
            && host_ok
            && parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.path().ends_with(".pem")
        {
            Ok(())
        } else {
            Err(VerifyError::UntrustedCertificateUrl)
        }
    }

    /// A cached certificate key.
    pub fn cached(&self, url: &str) -> Option<Arc<CertificateKey>> {
        self.inner.cache.read().ok()?.get(url).cloned()
    }

    fn remember(&self, url: &str, key: Arc<CertificateKey>) {
        if let Ok(mut cache) = self.inner.cache.write() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(url.to_owned(), key);
        }
    }

    /// Fetches (and caches) the certificate at a URL already checked with
    /// [`SnsTrust::check_url`].
    ///
    /// # Errors
    /// [`VerifyError::CertificateUnavailable`] when it cannot be fetched,
    /// [`VerifyError::BadCertificate`] when it is not a usable certificate.
    pub async fn fetch(&self, url: &str) -> Result<Arc<CertificateKey>, VerifyError> {
        if let Some(error) = self.failed_recently(url) {
            return Err(error);
        }
        let result = self.fetch_uncached(url).await;
        match &result {
            Ok(key) => self.remember(url, Arc::clone(key)),
            Err(error) => self.remember_failure(url, error.clone()),
        }
        result
    }

    /// The error of a fetch of `url` that failed less than [`FAILURE_BACKOFF`] ago.
    fn failed_recently(&self, url: &str) -> Option<VerifyError> {
        let failures = self.inner.failures.read().ok()?;
        let (at, error) = failures.get(url)?;
        (at.elapsed() < FAILURE_BACKOFF).then(|| error.clone())
    }

    fn remember_failure(&self, url: &str, error: VerifyError) {
        if let Ok(mut failures) = self.inner.failures.write() {
            if failures.len() >= FAILURE_CAPACITY {
                failures.clear();
            }
            failures.insert(url.to_owned(), (tokio::time::Instant::now(), error));
        }
    }

    async fn fetch_uncached(&self, url: &str) -> Result<Arc<CertificateKey>, VerifyError> {
        let mut response = self
            .inner
            .client
            .get(url)
            .send()
            .await
            .map_err(|error| unavailable(url, &error))?;
        if !response.status().is_success() {
            tracing::warn!(url, status = %response.status(), "SNS signing certificate fetch failed.");
            return Err(VerifyError::CertificateUnavailable);
        }
        let mut pem = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| unavailable(url, &error))?
        {
            if pem.len() + chunk.len() > MAX_CERTIFICATE_BYTES {
                return Err(VerifyError::BadCertificate);
            }
            pem.extend_from_slice(&chunk);
        }
        let key = Arc::new(CertificateKey::from_pem(&pem)?);
        tracing::debug!(url, "SNS signing certificate fetched.");
        Ok(key)
    }
}

fn unavailable(url: &str, error: &reqwest::Error) -> VerifyError {
    tracing::warn!(url, %error, "SNS signing certificate fetch failed.");
    VerifyError::CertificateUnavailable
}

/// Builds an [`SnsTrust`]. Only code can use it; no configuration key reaches it.
#[derive(Default)]
pub struct SnsTrustBuilder {
    roots: Vec<reqwest::Certificate>,
    host_rule: Option<HostRule>,
    pinned: Vec<(String, CertificateKey)>,
    timeout: Option<Duration>,
}

impl fmt::Debug for SnsTrustBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnsTrustBuilder")
            .field("extra_roots", &self.roots.len())
            .field("custom_host_rule", &self.host_rule.is_some())
            .field("pinned", &self.pinned.len())
            .finish()
    }
}

impl SnsTrustBuilder {
    /// Also trusts this root CA (PEM) when fetching certificates.
    ///
    /// # Errors
    /// When the PEM is not a certificate.
    pub fn add_root_certificate_pem(mut self, pem: &[u8]) -> Result<Self, SnsTrustError> {
        let cert = reqwest::Certificate::from_pem(pem)
            .map_err(|e| SnsTrustError::Certificate(e.to_string()))?;
        self.roots.push(cert);
        Ok(self)
    }

    /// Replaces the SNS host rule (and the no-port rule) with `rule`: for tests serving a
    /// certificate from `127.0.0.1`. `https` and `.pem` are still required.
    pub fn allow_hosts(mut self, rule: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.host_rule = Some(Arc::new(rule));
        self
    }

    /// Puts a certificate in the cache for `url`, as if it had been fetched.
    ///
    /// # Errors
    /// When the PEM is not an RSA certificate.
    pub fn pin_certificate(mut self, url: &str, pem: &[u8]) -> Result<Self, SnsTrustError> {
        let key =
            CertificateKey::from_pem(pem).map_err(|e| SnsTrustError::Certificate(e.to_string()))?;
        self.pinned.push((url.to_owned(), key));
        Ok(self)
    }

    /// The time allowed for one certificate fetch (5 s by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Builds the trust.
    ///
    /// # Errors
    /// When the HTTPS client cannot be built.
    pub fn build(self) -> Result<SnsTrust, SnsTrustError> {
        let mut client = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout.unwrap_or(Duration::from_secs(5)))
            .connect_timeout(Duration::from_secs(3));
        for root in self.roots {
            client = client.add_root_certificate(root);
        }
        let client = client
            .build()
            .map_err(|e| SnsTrustError::Client(e.to_string()))?;
        let cache = self
            .pinned
            .into_iter()
            .map(|(url, key)| (url, Arc::new(key)))
            .collect();
        Ok(SnsTrust {
            inner: Arc::new(TrustInner {
                client,
                host_rule: self.host_rule,
                cache: RwLock::new(cache),
                failures: RwLock::new(HashMap::new()),
            }),
        })
    }
}
