//! [`SnsVerifier`], the `aws-sns` scheme: refuses raw delivery, parses the message, checks the
//! certificate URL and the topic, then the signature with a cached key or after a fetch.

use std::sync::Arc;

use genhook_core::stage::Payload;
use genhook_core::WebhookRequest;

use super::message::{parse_message, SnsMessage};
use super::trust::{CertificateKey, SnsTrust};
use crate::{Check, Verifier, VerifyError};

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
        message.signature_version(),
        message.canonical_string().as_bytes(),
        message.signature(),
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
