//! `verify = azure`: Azure Event Grid signs nothing. A webhook subscription can carry a secret in
//! its URL's query string (`?code=…`, parameter name `azure_query_param`) or in a static custom
//! delivery header (`azure_header`); either, when it matches a configured secret in constant
//! time, passes. Entra ID (Azure AD) bearer tokens are not supported: the factory refuses the
//! keys that would configure them.

use std::sync::Arc;

use genhook_core::WebhookRequest;

use crate::keys::{header, Secrets};
use crate::{Verifier, VerifyError};

/// The default query parameter.
pub const DEFAULT_QUERY_PARAM: &str = "code";

/// The Azure Event Grid scheme.
#[derive(Debug, Clone)]
pub struct Azure {
    query_param: Arc<str>,
    header: Option<Arc<str>>,
    secrets: Secrets,
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
            secrets,
        }
    }
}

impl Verifier for Azure {
    fn scheme(&self) -> &'static str {
        "azure"
    }

    fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let mut presented = false;
        let mut matched = false;
        if let Some(query) = request.uri().query() {
            for (key, value) in form_urlencoded::parse(query.as_bytes()) {
                if *key == *self.query_param {
                    presented = true;
                    matched |= self.secrets.matches(value.as_bytes());
                }
            }
        }
        if let Some(name) = &self.header {
            if let Some(value) = header(request, name) {
                presented = true;
                matched |= self.secrets.matches(value.as_bytes());
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
