//! `verify = hmac-sha256`: HMAC-SHA256 of the raw body, hex or base64, after an optional prefix,
//! in a configured header. `github`, `jira` and `shopify` are this scheme with fixed settings.

use std::sync::Arc;

use base64::Engine as _;
use genhook_core::WebhookRequest;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::keys::{header, HmacKeys, Secrets};
use crate::{Verifier, VerifyError};

/// How the MAC is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Lower- or upper-case hex.
    Hex,
    /// Standard base64 (padding optional).
    Base64,
}

impl Encoding {
    /// Decodes a signature.
    ///
    /// `None` when the text is not in this encoding.
    pub fn decode(self, text: &str) -> Option<Vec<u8>> {
        match self {
            Self::Hex => hex::decode(text).ok(),
            Self::Base64 => base64::engine::general_purpose::STANDARD
                .decode(text)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
                .ok(),
        }
    }

    /// Encodes a MAC (for signers and tests).
    pub fn encode(self, mac: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(mac),
            Self::Base64 => base64::engine::general_purpose::STANDARD.encode(mac),
        }
    }
}

/// HMAC-SHA256 of the body in a header.
#[derive(Debug, Clone)]
pub struct HmacHeader {
    scheme: &'static str,
    headers: Arc<[Arc<str>]>,
    prefix: Arc<str>,
    encoding: Encoding,
    keys: HmacKeys,
    legacy_sha1: Option<Secrets>,
}

impl HmacHeader {
    /// The MAC in `header`, after `prefix`, in `encoding`, keyed with each secret's UTF-8 bytes.
    pub fn new(
        header: impl Into<Arc<str>>,
        prefix: impl Into<Arc<str>>,
        encoding: Encoding,
        secrets: &Secrets,
    ) -> Self {
        Self {
            scheme: "hmac-sha256",
            headers: Arc::from([header.into()]),
            prefix: prefix.into(),
            encoding,
            keys: HmacKeys::from_secrets(secrets),
            legacy_sha1: None,
        }
    }

    /// The same check under another scheme name.
    pub(crate) fn named(mut self, scheme: &'static str) -> Self {
        self.scheme = scheme;
        self
    }

    /// Also looks in `header` when the first header is absent (e.g. Shopify's unprefixed
    /// `shopify-hmac-sha256`).
    pub(crate) fn or_header(mut self, header: &str) -> Self {
        let mut headers = self.headers.to_vec();
        headers.push(Arc::from(header));
        self.headers = headers.into();
        self
    }

    /// When no header carries a SHA-256 MAC, accepts GitHub's legacy
    /// `X-Hub-Signature: sha1=<hex>`.
    pub(crate) fn with_legacy_sha1(mut self, secrets: Secrets) -> Self {
        self.legacy_sha1 = Some(secrets);
        self
    }

    /// Signs a body the way the sender does (tests, benches, `genhook` tooling).
    pub fn sign(&self, body: &[u8]) -> Option<String> {
        let mac = self.keys.sign(&[body])?;
        Some(format!("{}{}", self.prefix, self.encoding.encode(&mac)))
    }

    /// The header a signature is read from first.
    pub fn header_name(&self) -> &str {
        self.headers.first().map_or("", |h| h)
    }
}

impl Verifier for HmacHeader {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let found = self
            .headers
            .iter()
            .find_map(|name| header(request, name).map(|value| (name, value)));
        let Some((name, value)) = found else {
            if let Some(secrets) = &self.legacy_sha1 {
                if let Some(value) = header(request, "x-hub-signature") {
                    return verify_sha1(secrets, value, request.body());
                }
            }
            return Err(VerifyError::missing_header(self.header_name().to_owned()));
        };
        let text = value
            .trim()
            .strip_prefix(&*self.prefix)
            .ok_or_else(|| VerifyError::malformed_header(name.to_string()))?;
        let tag = self
            .encoding
            .decode(text)
            .ok_or_else(|| VerifyError::malformed_header(name.to_string()))?;
        if self.keys.verify(&[request.body()], &tag) {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

fn verify_sha1(secrets: &Secrets, value: &str, body: &[u8]) -> Result<(), VerifyError> {
    let tag = value
        .trim()
        .strip_prefix("sha1=")
        .and_then(|hex_text| hex::decode(hex_text).ok())
        .ok_or_else(|| VerifyError::malformed_header("X-Hub-Signature"))?;
    let mut ok = false;
    for secret in secrets.iter() {
        if let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.expose().as_bytes()) {
            mac.update(body);
            ok |= mac.verify_slice(&tag).is_ok();
        }
    }
    if ok {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}
