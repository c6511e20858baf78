//! `verify = none`: every request passes (for sources behind another trust boundary).

use genhook_core::WebhookRequest;

use crate::{Verifier, VerifyError};

/// Accepts every request.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVerification;

impl Verifier for NoVerification {
    fn scheme(&self) -> &'static str {
        "none"
    }

    fn verify(&self, _request: &WebhookRequest) -> Result<(), VerifyError> {
        Ok(())
    }
}
