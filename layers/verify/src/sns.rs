//! `verify = aws-sns`: the RSA signature of an AWS SNS message.
//!
//! What is checked, following AWS's "Verifying the signatures of Amazon SNS messages" and the
//! official validators (aws-js-sns-message-validator, aws-php-sns-message-validator):
//!
//! 1. The body is an SNS JSON envelope with a `Signature`; raw message delivery (no envelope, no
//!    signature) cannot be authenticated and is refused with 401.
//! 2. `SignatureVersion` is `1` (RSA PKCS#1 v1.5 with SHA-1) or `2` (with SHA-256).
//! 3. `SigningCertURL` is `https`, ends in `.pem`, has no port or user info, and its host
//!    matches `^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$` ([`is_sns_host`]).
//! 4. The canonical string (`Key\nvalue\n` for `Message, MessageId, Subject` (if present)`,
//!    Timestamp, TopicArn, Type` of a `Notification`; `Message, MessageId, SubscribeURL,
//!    Timestamp, Token, TopicArn, Type` of a `SubscriptionConfirmation` or
//!    `UnsubscribeConfirmation`) verifies with the certificate's RSA key.
//! 5. Optionally (`sns_topic_arn =`), the `TopicArn` is one of the expected ones.
//!
//! The certificate is fetched over HTTPS with normal CA validation, only from such a URL, and
//! cached by URL in the [`SnsTrust`] (shared by every source built with it, kept across reloads
//! when the same `SnsTrust` is reused). A cache hit verifies inline; a miss makes the
//! [`Verify`](crate::Verify) future await the fetch, with no lock held across the await.
//! Concurrent misses on the same URL each fetch (no single-flight: SNS uses a handful of
//! certificates, so a cold cache is rare). A URL whose fetch failed is not fetched again for a
//! minute (answered 503 at once), so forged messages cannot drive outbound requests.
//!
//! Tests need to serve a generated certificate from a loopback HTTPS server: [`SnsTrustBuilder`]
//! can trust an extra root and relax the host rule, but only from code. A mapping file cannot
//! reach it: the verify factory takes an `SnsTrust` only from the
//! [`BuildContext`](genhook_core::BuildContext)'s resources, which code inserts.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine as _;
use genhook_core::stage::Payload;
use genhook_core::WebhookRequest;
use reqwest::Url;
use serde_json::{Map, Value};

use crate::{Check, Verifier, VerifyError};

/// The SNS host rule, defined in core (the identify stage applies it to `SubscribeURL`).
pub use genhook_core::sns::is_sns_host;

// === SNS message ===

/// The kind of an SNS message (`Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnsMessageType {
    /// `Notification`.
    Notification,
    /// `SubscriptionConfirmation`.
    SubscriptionConfirmation,
    /// `UnsubscribeConfirmation`.
    UnsubscribeConfirmation,
}

/// The signature algorithm (`SignatureVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// `1`: RSA PKCS#1 v1.5 with SHA-1.
    V1,
    /// `2`: RSA PKCS#1 v1.5 with SHA-256.
    V2,
}

/// A parsed, not yet verified SNS message.
#[derive(Debug, Clone)]
pub struct SnsMessage {
    message_type: SnsMessageType,
    version: SignatureVersion,
    signature: Vec<u8>,
    signing_cert_url: String,
    canonical: String,
    topic_arn: String,
    value: Arc<Value>,
}

const NOTIFICATION_KEYS: &[(&str, bool)] = &[
    ("Message", true),
    ("MessageId", true),
    ("Subject", false),
    ("Timestamp", true),
    ("TopicArn", true),
    ("Type", true),
];
const CONFIRMATION_KEYS: &[(&str, bool)] = &[
    ("Message", true),
    ("MessageId", true),
    ("SubscribeURL", true),
    ("Timestamp", true),
    ("Token", true),
    ("TopicArn", true),
    ("Type", true),
];

fn text<'a>(
    map: &'a Map<String, Value>,
    key: &'static str,
) -> Result<Option<&'a str>, VerifyError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(VerifyError::MalformedBody("an SNS field is not a string")),
    }
}

fn required<'a>(map: &'a Map<String, Value>, key: &'static str) -> Result<&'a str, VerifyError> {
    text(map, key)?.ok_or(VerifyError::MalformedBody("an SNS field is missing"))
}

/// Parses an SNS message and builds its canonical string.
///
/// # Errors
/// [`VerifyError::UnsignedSnsMessage`] for a body that is not a signed SNS envelope (raw message
/// delivery), [`VerifyError::MalformedBody`] or [`VerifyError::Malformed`] for a broken one.
pub fn parse_message(body: &[u8]) -> Result<SnsMessage, VerifyError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| VerifyError::UnsignedSnsMessage)?;
    let Value::Object(map) = &value else {
        return Err(VerifyError::UnsignedSnsMessage);
    };
    let Some(signature) = text(map, "Signature")? else {
        return Err(VerifyError::UnsignedSnsMessage);
    };
    let signature = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .map_err(|_| VerifyError::Malformed("`Signature` field".into()))?;
    let version = match required(map, "SignatureVersion")? {
        "1" => SignatureVersion::V1,
        "2" => SignatureVersion::V2,
        _ => return Err(VerifyError::Malformed("`SignatureVersion` field".into())),
    };
    let (message_type, keys) = match required(map, "Type")? {
        "Notification" => (SnsMessageType::Notification, NOTIFICATION_KEYS),
        "SubscriptionConfirmation" => (SnsMessageType::SubscriptionConfirmation, CONFIRMATION_KEYS),
        "UnsubscribeConfirmation" => (SnsMessageType::UnsubscribeConfirmation, CONFIRMATION_KEYS),
        _ => return Err(VerifyError::MalformedBody("unknown SNS message type")),
    };
    let mut canonical = String::new();
    for &(key, is_required) in keys {
        let value = if is_required {
            Some(required(map, key)?)
        } else {
            text(map, key)?
        };
        if let Some(value) = value {
            canonical.push_str(key);
            canonical.push('\n');
            canonical.push_str(value);
            canonical.push('\n');
        }
    }
    let signing_cert_url = required(map, "SigningCertURL")?.to_owned();
    let topic_arn = required(map, "TopicArn")?.to_owned();
    Ok(SnsMessage {
        message_type,
        version,
        signature,
        signing_cert_url,
        canonical,
        topic_arn,
        value: Arc::new(value),
    })
}

impl SnsMessage {
    /// The message type.
    pub fn message_type(&self) -> SnsMessageType {
        self.message_type
    }

    /// The signature version.
    pub fn signature_version(&self) -> SignatureVersion {
        self.version
    }

    /// The string the signature covers.
    pub fn canonical_string(&self) -> &str {
        &self.canonical
    }

    /// The `SigningCertURL`, unchecked.
    pub fn signing_cert_url(&self) -> &str {
        &self.signing_cert_url
    }

    /// The `TopicArn`.
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// The whole envelope as JSON.
    pub fn value(&self) -> &Arc<Value> {
        &self.value
    }
}

// === certificate key ===

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

// === verifier ===

/// The AWS SNS scheme.
#[derive(Debug, Clone)]
pub struct SnsVerifier {
    trust: SnsTrust,
    topic_arns: Option<Arc<[String]>>,
}

impl SnsVerifier {
    /// SNS messages whose certificates come through `trust`.
    pub fn new(trust: SnsTrust) -> Self {
        Self {
            trust,
            topic_arns: None,
        }
    }

    /// Accepts only messages of these topics.
    pub fn with_topic_arns(mut self, arns: Vec<String>) -> Self {
        self.topic_arns = Some(arns.into());
        self
    }

    /// Parses and checks everything but the signature.
    fn prepare(&self, request: &WebhookRequest) -> Result<SnsMessage, VerifyError> {
        let raw = request
            .headers()
            .get("x-amz-sns-rawdelivery")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        if raw {
            return Err(VerifyError::UnsignedSnsMessage);
        }
        let message = parse_message(request.body())?;
        self.trust.check_url(message.signing_cert_url())?;
        if let Some(arns) = &self.topic_arns {
            if !arns.iter().any(|arn| arn == message.topic_arn()) {
                return Err(VerifyError::BadCredential);
            }
        }
        Ok(message)
    }
}

fn check_signature(key: &CertificateKey, message: &SnsMessage) -> Result<(), VerifyError> {
    if key.verify(
        message.version,
        message.canonical.as_bytes(),
        &message.signature,
    ) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

impl Verifier for SnsVerifier {
    fn scheme(&self) -> &'static str {
        "aws-sns"
    }

    /// Synchronous check: works only when the certificate is already cached (or pinned);
    /// otherwise answers [`VerifyError::CertificateUnavailable`]. The service uses
    /// [`Verifier::start`], which fetches.
    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let message = self.prepare(request)?;
        let key = self
            .trust
            .cached(message.signing_cert_url())
            .ok_or(VerifyError::CertificateUnavailable)?;
        check_signature(&key, &message)
    }

    fn start(&self, request: &mut WebhookRequest) -> Result<Check, VerifyError> {
        let message = self.prepare(request)?;
        let payload = Payload(Arc::clone(message.value()));
        let check = if let Some(key) = self.trust.cached(message.signing_cert_url()) {
            check_signature(&key, &message)?;
            Check::Ready
        } else {
            let trust = self.trust.clone();
            Check::Pending(Box::pin(async move {
                let key = trust.fetch(message.signing_cert_url()).await?;
                check_signature(&key, &message)
            }))
        };
        request.extensions_mut().insert(payload);
        Ok(check)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sns_hosts_follow_the_official_validators_pattern() {
        for good in [
            "sns.us-east-1.amazonaws.com",
            "sns.eu-central-2.amazonaws.com",
            "sns.cn-north-1.amazonaws.com.cn",
            "sns.us-gov-west-1.amazonaws.com",
        ] {
            assert!(is_sns_host(good), "{good}");
        }
        for bad in [
            "sns.us-east-1.amazonaws.com.evil.example",
            "evil.example",
            "sns.amazonaws.com",
            "sns.eu.amazonaws.com",
            "s3.us-east-1.amazonaws.com",
            "sns.us-east-1.amazonaws.co",
            "xsns.us-east-1.amazonaws.com",
            "sns.us.east.amazonaws.com",
            "sns.us_east_1.amazonaws.com",
            "sns.us-east-1.amazonaws.com.",
            "",
        ] {
            assert!(!is_sns_host(bad), "{bad}");
        }
    }

    #[test]
    fn canonical_string_follows_the_message_type() {
        let body = br#"{"Type":"Notification","MessageId":"m","TopicArn":"t","Message":"a\nb","Timestamp":"ts","SignatureVersion":"2","Signature":"AAAA","SigningCertURL":"https://sns.us-east-1.amazonaws.com/c.pem"}"#;
        let message = parse_message(body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            message.canonical_string(),
            "Message\na\nb\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"
        );
        assert_eq!(message.signature_version(), SignatureVersion::V2);
        let confirmation = br#"{"Type":"SubscriptionConfirmation","MessageId":"m","TopicArn":"t","Message":"x","Timestamp":"ts","Token":"k","SubscribeURL":"u","SignatureVersion":"1","Signature":"AAAA","SigningCertURL":"c"}"#;
        let message = parse_message(confirmation).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            message.canonical_string(),
            "Message\nx\nMessageId\nm\nSubscribeURL\nu\nTimestamp\nts\nToken\nk\nTopicArn\nt\nType\nSubscriptionConfirmation\n"
        );
        let no_token = br#"{"Type":"SubscriptionConfirmation","MessageId":"m","TopicArn":"t","Message":"x","Timestamp":"ts","SubscribeURL":"u","SignatureVersion":"1","Signature":"AAAA","SigningCertURL":"c"}"#;
        assert!(parse_message(no_token).is_err());
        let v3 = br#"{"Type":"Notification","MessageId":"m","TopicArn":"t","Message":"x","Timestamp":"ts","SignatureVersion":"3","Signature":"AAAA","SigningCertURL":"c"}"#;
        assert!(parse_message(v3).is_err());
    }
}
