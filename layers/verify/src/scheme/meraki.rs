//! `verify = meraki`: Cisco Meraki sends its shared secret in clear in the JSON body's
//! `sharedSecret` field; it is compared in constant time with each configured secret. The body
//! is parsed once here and left on the request as a [`Payload`] so `identify` does not parse it
//! again.

use std::sync::Arc;

use genhook_core::stage::Payload;
use genhook_core::WebhookRequest;
use serde_json::Value;

use crate::keys::Secrets;
use crate::{Check, Verifier, VerifyError};

/// The body field holding the secret.
pub const FIELD: &str = "sharedSecret";

/// The Meraki scheme.
#[derive(Debug, Clone)]
pub struct Meraki {
    secrets: Secrets,
}

impl Meraki {
    /// Meraki with the given shared secrets.
    pub fn new(secrets: Secrets) -> Self {
        Self { secrets }
    }

    fn check(&self, request: &WebhookRequest) -> Result<Value, VerifyError> {
        let value: Value = serde_json::from_slice(request.body())
            .map_err(|_| VerifyError::MalformedBody("not JSON"))?;
        let secret = match &value {
            Value::Object(map) => map.get(FIELD),
            _ => return Err(VerifyError::MalformedBody("not a JSON object")),
        };
        let Some(secret) = secret else {
            return Err(VerifyError::Missing("`sharedSecret` field".into()));
        };
        let Value::String(secret) = secret else {
            return Err(VerifyError::Malformed("`sharedSecret` field".into()));
        };
        if self.secrets.matches(secret.as_bytes()) {
            Ok(value)
        } else {
            Err(VerifyError::BadCredential)
        }
    }
}

impl Verifier for Meraki {
    fn scheme(&self) -> &'static str {
        "meraki"
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        self.check(request).map(drop)
    }

    fn start(&self, request: &mut WebhookRequest) -> Result<Check, VerifyError> {
        let value = self.check(request)?;
        request.extensions_mut().insert(Payload(Arc::new(value)));
        Ok(Check::Ready)
    }
}
