//! `verify = basic`: HTTP Basic authentication, as EventBridge API destinations send it
//! (`Authorization: Basic base64(user:password)`). `username =` names the user; every
//! `secret =` value is an accepted password.

use base64::Engine as _;
use genhook_core::{Secret, WebhookRequest};
use subtle::ConstantTimeEq;

use crate::keys::{header, Secrets};
use crate::{Verifier, VerifyError};

/// HTTP Basic authentication with one user and one or more passwords.
#[derive(Debug, Clone)]
pub struct BasicAuth {
    username: Secret,
    passwords: Secrets,
}

impl BasicAuth {
    /// Accepts `username` with any of `passwords`.
    pub fn new(username: impl Into<Secret>, passwords: Secrets) -> Self {
        Self {
            username: username.into(),
            passwords,
        }
    }
}

impl Verifier for BasicAuth {
    fn scheme(&self) -> &'static str {
        "basic"
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let value = header(request, "authorization")
            .ok_or_else(|| VerifyError::missing_header("Authorization"))?;
        let (kind, encoded) = value
            .trim()
            .split_once(' ')
            .ok_or_else(|| VerifyError::malformed_header("Authorization"))?;
        if !kind.eq_ignore_ascii_case("basic") {
            return Err(VerifyError::malformed_header("Authorization"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| VerifyError::malformed_header("Authorization"))?;
        let split = decoded
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| VerifyError::malformed_header("Authorization"))?;
        let (user, password) = decoded.split_at(split);
        let password = password.get(1..).unwrap_or_default();
        let user_ok: bool = self.username.expose().as_bytes().ct_eq(user).into();
        let password_ok = self.passwords.matches(password);
        if user_ok & password_ok {
            Ok(())
        } else {
            Err(VerifyError::BadCredential)
        }
    }
}
