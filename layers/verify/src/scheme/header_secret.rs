//! `verify = token` and `verify = api-key`: a shared value in a named header, compared in
//! constant time with each configured secret (EventBridge API destinations' API-key connections,
//! and any sender that can add a static header).

use std::sync::Arc;

use genhook_core::WebhookRequest;
use http::HeaderName;

use crate::keys::Secrets;
use crate::{Verifier, VerifyError};

/// A secret carried as-is in a header.
#[derive(Debug, Clone)]
pub struct HeaderSecret {
    scheme: &'static str,
    header: HeaderName,
    header_label: Arc<str>,
    secrets: Secrets,
}

impl HeaderSecret {
    /// The default header of `verify = token`.
    pub const DEFAULT_TOKEN_HEADER: &'static str = "X-Webhook-Token";
    /// The default header of `verify = api-key`.
    pub const DEFAULT_API_KEY_HEADER: &'static str = "X-API-Key";

    /// `verify = token`: the token in `header`.
    pub fn token(header: HeaderName, secrets: Secrets) -> Self {
        Self::new("token", header, secrets)
    }

    /// `verify = api-key`: the key in `header`.
    pub fn api_key(header: HeaderName, secrets: Secrets) -> Self {
        Self::new("api-key", header, secrets)
    }

    fn new(scheme: &'static str, header: HeaderName, secrets: Secrets) -> Self {
        Self {
            scheme,
            header_label: Arc::from(header.as_str()),
            header,
            secrets,
        }
    }
}

impl Verifier for HeaderSecret {
    fn scheme(&self) -> &'static str {
        self.scheme
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let value = request
            .headers()
            .get(&self.header)
            .ok_or_else(|| VerifyError::missing_header(self.header_label.to_string()))?;
        if self.secrets.matches(value.as_bytes()) {
            Ok(())
        } else {
            Err(VerifyError::BadCredential)
        }
    }
}
