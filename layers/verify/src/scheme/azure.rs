//! `verify = azure`: Azure Event Grid signs nothing. What a receiver can check:
//!
//! - a secret in the subscription URL's query string (`?code=…`, parameter name
//!   `azure_query_param`) or in a static custom delivery header (`azure_header`), matched
//!   against the configured secrets in constant time;
//! - a Microsoft Entra ID bearer token (`Authorization: Bearer <JWT>`) when the subscription
//!   delivers to an Entra-protected webhook (`azure_tenant` + `azure_audience`; see
//!   [`crate::entra`]).
//!
//! With both configured, both must pass; the secret is checked first, so a request without it
//! never leads to a key fetch. With a token check only, `secret` may be left out.

use std::sync::Arc;

use genhook_core::WebhookRequest;

use crate::entra::EntraVerifier;
use crate::keys::{header, Secrets};
use crate::{Check, Verifier, VerifyError};

/// The default query parameter.
pub const DEFAULT_QUERY_PARAM: &str = "code";

/// The Azure Event Grid scheme.
#[derive(Debug, Clone)]
pub struct Azure {
    query_param: Arc<str>,
    header: Option<Arc<str>>,
    secrets: Option<Secrets>,
    entra: Option<EntraVerifier>,
}

impl Azure {
    /// The secret in `query_param` or, when set, in `header`.
    pub fn new(
        query_param: impl Into<Arc<str>>,
        header: Option<Arc<str>>,
        secrets: Secrets,
    ) -> Self {
        Self {
            query_param: query_param.into(),
            header,
            secrets: Some(secrets),
            entra: None,
        }
    }

    /// An Entra ID bearer token only (no secret).
    pub fn entra_only(entra: EntraVerifier) -> Self {
        Self {
            query_param: Arc::from(DEFAULT_QUERY_PARAM),
            header: None,
            secrets: None,
            entra: Some(entra),
        }
    }

    /// Also requires an Entra ID bearer token.
    pub fn with_entra(mut self, entra: EntraVerifier) -> Self {
        self.entra = Some(entra);
        self
    }

    fn check_secret(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let Some(secrets) = &self.secrets else {
            return Ok(());
        };
        let mut presented = false;
        let mut matched = false;
        if let Some(query) = request.uri().query() {
            for (key, value) in form_urlencoded::parse(query.as_bytes()) {
                if *key == *self.query_param {
                    presented = true;
                    matched |= secrets.matches(value.as_bytes());
                }
            }
        }
        if let Some(name) = &self.header {
            if let Some(value) = header(request, name) {
                presented = true;
                matched |= secrets.matches(value.as_bytes());
            }
        }
        if matched {
            Ok(())
        } else if presented {
            Err(VerifyError::BadCredential)
        } else {
            Err(VerifyError::Missing(
                format!("`{}` query parameter", self.query_param).into(),
            ))
        }
    }
}

impl Verifier for Azure {
    fn scheme(&self) -> &'static str {
        "azure"
    }

    /// Synchronous check: a token is accepted only when its signing key is already cached.
    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        self.check_secret(request)?;
        match &self.entra {
            Some(entra) => entra.verify(request),
            None => Ok(()),
        }
    }

    fn start(&self, request: &mut WebhookRequest) -> Result<Check, VerifyError> {
        self.check_secret(request)?;
        match &self.entra {
            Some(entra) => entra.start(request),
            None => Ok(Check::Ready),
        }
    }
}
