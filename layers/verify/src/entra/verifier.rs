//! [`EntraVerifier`]: one source's Entra ID token check (tenant, audiences, caller app, role),
//! inline when the signing key is cached, else after the [`EntraTrust`] fetched it.

use std::fmt;
use std::sync::Arc;

use genhook_core::WebhookRequest;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::token::{reason, Claims, Token};
use super::trust::EntraTrust;
use super::{is_tenant_id, CLOCK_SKEW, EVENT_GRID_APP_ID};
use crate::clock::SharedClock;
use crate::{Check, VerifyError};

/// The Entra ID token check of one source: its tenant, audiences, caller app and role.
#[derive(Debug, Clone)]
pub struct EntraVerifier {
    trust: EntraTrust,
    policy: Arc<Policy>,
}

#[derive(Clone)]
struct Policy {
    tenant: String,
    validation: Validation,
    v1_issuer: String,
    app_id: String,
    role: Option<String>,
    clock: SharedClock,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("tenant", &self.tenant)
            .field("audiences", &self.validation.aud)
            .field("app_id", &self.app_id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// An [`EntraVerifier`] could not be configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntraConfigError {
    /// The tenant is not a tenant id (GUID).
    #[error("`azure_tenant` must be the directory (tenant) id, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")]
    Tenant,
    /// No audience.
    #[error("`azure_audience` needs at least one app id or app-ID URI")]
    Audience,
}

impl EntraVerifier {
    /// Tokens of `tenant` for one of `audiences`, called by Event Grid, keys through `trust`,
    /// time from `clock`.
    ///
    /// # Errors
    /// A tenant that is not a GUID, or no audience.
    pub fn new(
        trust: EntraTrust,
        tenant: &str,
        audiences: &[String],
        clock: SharedClock,
    ) -> Result<Self, EntraConfigError> {
        let tenant = tenant.trim().to_ascii_lowercase();
        if !is_tenant_id(&tenant) {
            return Err(EntraConfigError::Tenant);
        }
        let audiences: Vec<&str> = audiences
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .collect();
        if audiences.is_empty() {
            return Err(EntraConfigError::Audience);
        }
        let v1_issuer = format!("https://sts.windows.net/{tenant}/");
        let v2_issuer = format!("https://login.microsoftonline.com/{tenant}/v2.0");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.set_issuer(&[&v1_issuer, &v2_issuer]);
        validation.set_audience(&audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        // Checked below with the stage's clock (and typed claims).
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Ok(Self {
            trust,
            policy: Arc::new(Policy {
                tenant,
                validation,
                v1_issuer,
                app_id: EVENT_GRID_APP_ID.to_owned(),
                role: None,
                clock,
            }),
        })
    }

    /// Requires another caller application id than Event Grid's.
    pub fn with_app_id(mut self, app_id: &str) -> Self {
        Arc::make_mut(&mut self.policy).app_id = app_id.trim().to_owned();
        self
    }

    /// Requires this role in `roles`.
    pub fn with_role(mut self, role: &str) -> Self {
        Arc::make_mut(&mut self.policy).role = Some(role.trim().to_owned());
        self
    }

    /// Checks a token whose key is at hand.
    fn check(policy: &Policy, key: &DecodingKey, token: &Token) -> Result<(), VerifyError> {
        let claims = jsonwebtoken::decode::<Claims>(&token.jwt, key, &policy.validation)
            .map_err(|error| VerifyError::BadToken(reason(error.kind())))?
            .claims;
        let now = policy.clock.now_unix() as f64;
        let skew = CLOCK_SKEW.as_secs_f64();
        if !claims.exp.is_finite() || claims.exp + skew < now {
            return Err(VerifyError::BadToken("expired"));
        }
        if let Some(nbf) = claims.nbf {
            if !nbf.is_finite() || nbf - skew > now {
                return Err(VerifyError::BadToken("not yet valid"));
            }
        }
        let caller = if claims.iss == policy.v1_issuer {
            claims.appid
        } else {
            claims.azp
        };
        if caller.as_deref() != Some(policy.app_id.as_str()) {
            return Err(VerifyError::BadToken(
                "caller is not the expected application",
            ));
        }
        if let Some(role) = &policy.role {
            if !claims.roles.iter().any(|r| r == role) {
                return Err(VerifyError::BadToken("required role is missing"));
            }
        }
        Ok(())
    }

    /// Synchronous check: works only when the key is already cached; otherwise answers
    /// [`VerifyError::SigningKeysUnavailable`].
    ///
    /// # Errors
    /// Why the token is refused.
    pub fn verify(&self, request: &WebhookRequest) -> Result<(), VerifyError> {
        let token = Token::read(request)?;
        let key = self
            .trust
            .cached(&self.policy.tenant, &token.kid)
            .ok_or(VerifyError::SigningKeysUnavailable)?;
        Self::check(&self.policy, &key, &token)
    }

    /// Checks inline when the key is cached, else answers a [`Check::Pending`] that fetches it.
    ///
    /// # Errors
    /// Why the token is refused.
    pub fn start(&self, request: &WebhookRequest) -> Result<Check, VerifyError> {
        let token = Token::read(request)?;
        if let Some(key) = self.trust.cached(&self.policy.tenant, &token.kid) {
            Self::check(&self.policy, &key, &token)?;
            return Ok(Check::Ready);
        }
        let trust = self.trust.clone();
        let policy = Arc::clone(&self.policy);
        Ok(Check::Pending(Box::pin(async move {
            let key = trust.key(&policy.tenant, &token.kid).await?;
            Self::check(&policy, &key, &token)
        })))
    }
}
