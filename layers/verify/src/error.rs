//! [`VerifyError`]: why the verify stage refused a webhook.
//!
//! Every variant is answered `401 Unauthorized` except a body that is not the JSON the scheme
//! needs (`400`) and a signing certificate or Entra signing key set that could not be fetched
//! (`503`, the sender retries).
//! No variant carries a secret, an expected signature or a received signature: the public reason
//! is the `Display` text and names at most a header.

use std::borrow::Cow;
use std::time::Duration;

use genhook_core::Reject;
use http::StatusCode;

/// Why a webhook was refused by the verify stage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The header (or query parameter, or body field) that carries the signature or credential
    /// is absent.
    #[error("missing {0}")]
    Missing(Cow<'static, str>),
    /// The signature header is present but cannot be read (bad hex or base64, no `v1` entry, …).
    #[error("malformed {0}")]
    Malformed(Cow<'static, str>),
    /// The signature does not match the body with any configured secret.
    #[error("signature does not match")]
    Mismatch,
    /// A token, key, password or shared secret does not match any configured secret.
    #[error("credentials do not match")]
    BadCredential,
    /// The signed timestamp is older than the tolerance allows.
    #[error("timestamp is too old")]
    StaleTimestamp,
    /// The signed timestamp is further in the future than the tolerance allows.
    #[error("timestamp is too far in the future")]
    FutureTimestamp,
    /// The body is not what the scheme needs (e.g. not a JSON object).
    #[error("malformed body: {0}")]
    MalformedBody(&'static str),
    /// An AWS SNS message without a signature (raw message delivery cannot be authenticated).
    #[error("unsigned SNS message (raw message delivery is not supported)")]
    UnsignedSnsMessage,
    /// The SNS `SigningCertURL` is not an `https` URL of a `.pem` file on an SNS host.
    #[error("signing certificate URL is not trusted")]
    UntrustedCertificateUrl,
    /// The SNS signing certificate could not be used (not an RSA certificate, bad PEM, …).
    #[error("signing certificate is not usable")]
    BadCertificate,
    /// The SNS signing certificate could not be fetched; the sender should retry.
    #[error("signing certificate is unavailable")]
    CertificateUnavailable,
    /// An Entra ID bearer token failed a check (named; the token itself never is).
    #[error("bearer token rejected: {0}")]
    BadToken(&'static str),
    /// The Entra ID signing keys could not be fetched; the sender should retry.
    #[error("token signing keys are unavailable")]
    SigningKeysUnavailable,
}

impl VerifyError {
    /// A missing header, named.
    pub fn missing_header(name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        Self::Missing(Cow::Owned(format!("`{name}` header")))
    }

    /// A malformed header, named.
    pub fn malformed_header(name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        Self::Malformed(Cow::Owned(format!("`{name}` header")))
    }
}

impl Reject for VerifyError {
    fn status(&self) -> StatusCode {
        match self {
            Self::MalformedBody(_) => StatusCode::BAD_REQUEST,
            Self::CertificateUnavailable | Self::SigningKeysUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn public_reason(&self) -> Cow<'static, str> {
        Cow::Owned(self.to_string())
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::CertificateUnavailable | Self::SigningKeysUnavailable => {
                Some(Duration::from_secs(10))
            }
            _ => None,
        }
    }

    fn metric_reason(&self) -> &'static str {
        match self {
            Self::Missing(_) | Self::UnsignedSnsMessage => "missing_signature",
            Self::Malformed(_) => "malformed_signature",
            Self::Mismatch => "bad_signature",
            Self::BadCredential => "bad_credential",
            Self::StaleTimestamp => "stale_timestamp",
            Self::FutureTimestamp => "future_timestamp",
            Self::MalformedBody(_) => "malformed_body",
            Self::UntrustedCertificateUrl | Self::BadCertificate => "untrusted_certificate",
            Self::CertificateUnavailable => "certificate_unavailable",
            Self::BadToken(_) => "bad_token",
            Self::SigningKeysUnavailable => "signing_keys_unavailable",
        }
    }
}
