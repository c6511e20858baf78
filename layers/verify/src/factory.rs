//! [`VerifyFactory`]: builds the verify stage of a source from its mapping section, once, at
//! load. The scheme is chosen here; no string is looked at per request.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use genhook_core::{
    BuildContext, BuildError, Capability, Diagnostic, LayerFactory, PipelineLayer, Setting, Span,
};
use http::HeaderName;
use tower::util::BoxCloneSyncServiceLayer;

use crate::clock::{SharedClock, Tolerance};
use crate::entra::{EntraTrust, EntraVerifier};
use crate::keys::Secrets;
use crate::scheme::{
    github, jira, shopify, Azure, BasicAuth, Encoding, HeaderSecret, HmacHeader, Meraki,
    NoVerification, Slack, StandardWebhooks, Stripe,
};
use crate::sns::{SnsTrust, SnsVerifier};
use crate::{Verifier, VerifyLayer};

/// Every scheme name accepted after `verify =`.
pub const SCHEMES: &[&str] = &[
    "github",
    "stripe",
    "slack",
    "shopify",
    "jira",
    "meraki",
    "azure",
    "aws-sns",
    "standard-webhooks",
    "hmac-sha256",
    "basic",
    "api-key",
    "token",
    "none",
];

/// Every section key the verify stage reads.
pub const SETTINGS: &[&str] = &[
    "verify",
    "secret",
    "signature_header",
    "signature_prefix",
    "signature_encoding",
    "token_header",
    "api_key_header",
    "username",
    "azure_query_param",
    "azure_header",
    "azure_audience",
    "azure_tenant",
    "azure_app_id",
    "azure_role",
    "tolerance",
    "sns_topic_arn",
];

/// The registry entry of the verify stage (`verify` on a `layers =` line).
#[derive(Debug, Default)]
pub struct VerifyFactory {
    clock: SharedClock,
    default_trust: OnceLock<SnsTrust>,
    default_entra: OnceLock<EntraTrust>,
}

impl VerifyFactory {
    /// The factory, reading time from the system clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// The factory with another clock (tests; `genhook render --verify` on a recorded payload).
    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            clock,
            default_trust: OnceLock::new(),
            default_entra: OnceLock::new(),
        }
    }

    /// Builds the stage from settings looked up with `setting`; errors point at the setting, or
    /// at `section` for a missing one. `trust` is used by `verify = aws-sns`, `entra` by
    /// `verify = azure` with `azure_tenant` (the production trusts when `None`).
    ///
    /// # Errors
    /// Every problem with the settings, each with its `FILE:LINE`.
    pub fn build_with<'s>(
        &self,
        setting: impl Fn(&str) -> Option<&'s Setting>,
        section: &Span,
        trust: Option<&SnsTrust>,
        entra: Option<&EntraTrust>,
    ) -> Result<PipelineLayer, Vec<BuildError>> {
        let cx = Lookup {
            get: &setting,
            section,
        };
        let scheme = match setting("verify") {
            None => "none",
            Some(s) => match SCHEMES.iter().find(|name| **name == s.value.trim()) {
                Some(name) => name,
                None => {
                    return Err(vec![Diagnostic::error(
                        s.span.clone(),
                        format!(
                            "unknown verify scheme `{}`; expected one of: {}",
                            s.value.trim(),
                            SCHEMES.join(", ")
                        ),
                    )])
                }
            },
        };
        let mut errors = Vec::new();
        let layer = self.build_scheme(scheme, &cx, trust, entra, &mut errors);
        match layer {
            Some(layer) if errors.is_empty() => Ok(layer),
            _ => Err(errors),
        }
    }

    fn build_scheme(
        &self,
        scheme: &'static str,
        cx: &Lookup<'_, '_>,
        trust: Option<&SnsTrust>,
        entra: Option<&EntraTrust>,
        errors: &mut Vec<BuildError>,
    ) -> Option<PipelineLayer> {
        let tolerance = cx.duration("tolerance", Tolerance::DEFAULT_WINDOW, errors);
        if matches!(scheme, "none") {
            return Some(boxed(NoVerification));
        }
        if matches!(scheme, "aws-sns") {
            let trust = match trust {
                Some(trust) => trust.clone(),
                None => self.production_trust(cx, errors)?,
            };
            let mut verifier = SnsVerifier::new(trust);
            if let Some(arns) = cx.get("sns_topic_arn") {
                let arns: Vec<String> = arns
                    .value
                    .split(',')
                    .map(|a| a.trim().to_owned())
                    .filter(|a| !a.is_empty())
                    .collect();
                verifier = verifier.with_topic_arns(arns);
            }
            return Some(boxed(verifier));
        }
        if matches!(scheme, "azure") {
            return self.build_azure(cx, entra, errors).map(boxed);
        }
        let secrets = cx.secrets(scheme, errors)?;
        let clock = self.clock.clone();
        let layer = match scheme {
            "github" => boxed(github::verifier(&secrets)),
            "jira" => boxed(jira::verifier(&secrets)),
            "shopify" => boxed(shopify::verifier(&secrets)),
            "stripe" => boxed(Stripe::new(&secrets, tolerance?, clock)),
            "slack" => boxed(Slack::new(&secrets, tolerance?, clock)),
            "standard-webhooks" => match StandardWebhooks::new(&secrets, tolerance?, clock) {
                Ok(verifier) => boxed(verifier),
                Err(error) => {
                    errors.push(cx.error_at("secret", error.to_string()));
                    return None;
                }
            },
            "meraki" => boxed(Meraki::new(secrets)),
            "hmac-sha256" => {
                let Some(header) = cx.get("signature_header") else {
                    errors.push(cx.section_error("verify = hmac-sha256 needs signature_header"));
                    return None;
                };
                let header = cx.header_name(header, errors)?;
                let prefix = cx.get("signature_prefix").map_or("", |s| s.value.as_str());
                let encoding = match cx.get("signature_encoding") {
                    None => Encoding::Hex,
                    Some(s) => {
                        match s.value.trim() {
                            "hex" => Encoding::Hex,
                            "base64" => Encoding::Base64,
                            other => {
                                errors.push(Diagnostic::error(
                                s.span.clone(),
                                format!("unknown signature_encoding `{other}`; expected hex or base64"),
                            ));
                                return None;
                            }
                        }
                    }
                };
                boxed(HmacHeader::new(header.as_str(), prefix, encoding, &secrets))
            }
            "token" => {
                let header =
                    cx.header_or("token_header", HeaderSecret::DEFAULT_TOKEN_HEADER, errors)?;
                boxed(HeaderSecret::token(header, secrets))
            }
            "api-key" => {
                let header = cx.header_or(
                    "api_key_header",
                    HeaderSecret::DEFAULT_API_KEY_HEADER,
                    errors,
                )?;
                boxed(HeaderSecret::api_key(header, secrets))
            }
            "basic" => {
                let Some(user) = cx.get("username") else {
                    errors.push(cx.section_error("verify = basic needs username"));
                    return None;
                };
                boxed(BasicAuth::new(user.value.trim(), secrets))
            }
            _ => {
                errors.push(cx.section_error(format!("verify = {scheme} is not implemented")));
                return None;
            }
        };
        Some(layer)
    }

    /// `verify = azure`: a secret (query parameter or header), an Entra ID bearer token
    /// (`azure_tenant` + `azure_audience`), or both.
    fn build_azure(
        &self,
        cx: &Lookup<'_, '_>,
        entra: Option<&EntraTrust>,
        errors: &mut Vec<BuildError>,
    ) -> Option<Azure> {
        let errors_before = errors.len();
        let param = cx
            .get("azure_query_param")
            .map_or(crate::scheme::azure::DEFAULT_QUERY_PARAM, |s| {
                s.value.trim()
            });
        let header = match cx.get("azure_header") {
            Some(s) => cx.header_name(s, errors),
            None => None,
        };
        let token = match (cx.get("azure_tenant"), cx.get("azure_audience")) {
            (Some(tenant), Some(audience)) => Some((tenant, audience)),
            (Some(_), None) => {
                errors.push(cx.error_at(
                    "azure_tenant",
                    "`azure_tenant` needs `azure_audience` (the app id or app-ID URI of the webhook's Entra application)",
                ));
                None
            }
            (None, Some(_)) => {
                errors.push(cx.error_at(
                    "azure_audience",
                    "`azure_audience` needs `azure_tenant` (the directory (tenant) id of the webhook's Entra application)",
                ));
                None
            }
            (None, None) => {
                for key in ["azure_app_id", "azure_role"] {
                    if cx.get(key).is_some() {
                        errors.push(cx.error_at(
                            key,
                            format!("`{key}` needs `azure_tenant` and `azure_audience`"),
                        ));
                    }
                }
                None
            }
        };
        let Some((tenant, audience)) = token else {
            let secrets = cx.secrets("azure", errors)?;
            if errors.len() > errors_before {
                return None;
            }
            let header = header.map(|h| Arc::from(h.as_str()));
            return Some(Azure::new(param, header, secrets));
        };
        if header
            .as_ref()
            .is_some_and(|h| *h == http::header::AUTHORIZATION)
        {
            errors.push(cx.error_at(
                "azure_header",
                "`azure_header` cannot be Authorization: with `azure_tenant` it carries the bearer token",
            ));
        }
        let secrets = match cx.get("secret") {
            None => {
                for key in ["azure_query_param", "azure_header"] {
                    if cx.get(key).is_some() {
                        errors.push(cx.error_at(key, format!("`{key}` needs `secret`")));
                    }
                }
                None
            }
            Some(setting) => {
                let secrets = Secrets::parse(&setting.value);
                if secrets.is_none() {
                    errors.push(Diagnostic::error(setting.span.clone(), "`secret` is empty"));
                }
                secrets
            }
        };
        let audiences: Vec<String> = audience
            .value
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        let trust = match entra {
            Some(trust) => trust.clone(),
            None => self.production_entra(cx, errors)?,
        };
        let mut verifier =
            match EntraVerifier::new(trust, &tenant.value, &audiences, self.clock.clone()) {
                Ok(verifier) => verifier,
                Err(error) => {
                    let key = match error {
                        crate::entra::EntraConfigError::Tenant => "azure_tenant",
                        _ => "azure_audience",
                    };
                    errors.push(cx.error_at(key, error.to_string()));
                    return None;
                }
            };
        if let Some(app_id) = cx.non_empty("azure_app_id", errors) {
            verifier = verifier.with_app_id(app_id);
        }
        if let Some(role) = cx.non_empty("azure_role", errors) {
            verifier = verifier.with_role(role);
        }
        if errors.len() > errors_before {
            return None;
        }
        Some(match secrets {
            Some(secrets) => {
                let header = header.map(|h| Arc::from(h.as_str()));
                Azure::new(param, header, secrets).with_entra(verifier)
            }
            None => Azure::entra_only(verifier),
        })
    }

    fn production_entra(
        &self,
        cx: &Lookup<'_, '_>,
        errors: &mut Vec<BuildError>,
    ) -> Option<EntraTrust> {
        if let Some(trust) = self.default_entra.get() {
            return Some(trust.clone());
        }
        match EntraTrust::new() {
            Ok(trust) => Some(self.default_entra.get_or_init(|| trust).clone()),
            Err(error) => {
                errors.push(cx.section_error(format!("verify = azure: {error}")));
                None
            }
        }
    }

    fn production_trust(
        &self,
        cx: &Lookup<'_, '_>,
        errors: &mut Vec<BuildError>,
    ) -> Option<SnsTrust> {
        if let Some(trust) = self.default_trust.get() {
            return Some(trust.clone());
        }
        match SnsTrust::new() {
            Ok(trust) => Some(self.default_trust.get_or_init(|| trust).clone()),
            Err(error) => {
                errors.push(cx.section_error(format!("verify = aws-sns: {error}")));
                None
            }
        }
    }
}

impl LayerFactory for VerifyFactory {
    fn name(&self) -> &'static str {
        "verify"
    }

    fn provides(&self) -> &'static [Capability] {
        &[Capability::VERIFIED]
    }

    fn settings(&self) -> &'static [&'static str] {
        SETTINGS
    }

    fn build(&self, cx: &BuildContext<'_>) -> Result<PipelineLayer, Vec<BuildError>> {
        self.build_with(
            |key| cx.setting(key),
            cx.section().span(),
            cx.resource::<SnsTrust>(),
            cx.resource::<EntraTrust>(),
        )
    }
}

/// Boxes one concrete scheme's layer at the stage boundary.
fn boxed<V: Verifier + Clone>(verifier: V) -> PipelineLayer {
    BoxCloneSyncServiceLayer::new(VerifyLayer::new(verifier))
}

/// Settings lookup with `FILE:LINE` errors.
struct Lookup<'f, 's> {
    get: &'f dyn Fn(&str) -> Option<&'s Setting>,
    section: &'f Span,
}

impl<'s> Lookup<'_, 's> {
    fn get(&self, key: &str) -> Option<&'s Setting> {
        (self.get)(key)
    }

    fn section_error(&self, message: impl Into<String>) -> BuildError {
        Diagnostic::error(self.section.clone(), message)
    }

    fn error_at(&self, key: &str, message: impl Into<String>) -> BuildError {
        match self.get(key) {
            Some(setting) => Diagnostic::error(setting.span.clone(), message),
            None => self.section_error(message),
        }
    }

    fn secrets(&self, scheme: &str, errors: &mut Vec<BuildError>) -> Option<Secrets> {
        let secrets = self.get("secret").and_then(|s| Secrets::parse(&s.value));
        if secrets.is_none() {
            errors.push(self.error_at("secret", format!("verify = {scheme} needs secret")));
        }
        secrets
    }

    /// The trimmed value of an optional key that must not be empty when given.
    fn non_empty(&self, key: &str, errors: &mut Vec<BuildError>) -> Option<&'s str> {
        let setting = self.get(key)?;
        let value = setting.value.trim();
        if value.is_empty() {
            errors.push(Diagnostic::error(
                setting.span.clone(),
                format!("`{key}` is empty"),
            ));
            return None;
        }
        Some(value)
    }

    fn header_name(&self, setting: &Setting, errors: &mut Vec<BuildError>) -> Option<HeaderName> {
        match HeaderName::try_from(setting.value.trim()) {
            Ok(name) => Some(name),
            Err(_) => {
                errors.push(Diagnostic::error(
                    setting.span.clone(),
                    format!("`{}` is not a valid header name", setting.value.trim()),
                ));
                None
            }
        }
    }

    fn header_or(
        &self,
        key: &str,
        default: &'static str,
        errors: &mut Vec<BuildError>,
    ) -> Option<HeaderName> {
        match self.get(key) {
            Some(setting) => self.header_name(setting, errors),
            None => HeaderName::try_from(default).ok(),
        }
    }

    fn duration(
        &self,
        key: &str,
        default: Duration,
        errors: &mut Vec<BuildError>,
    ) -> Option<Duration> {
        let Some(setting) = self.get(key) else {
            return Some(default);
        };
        match genhook_core::value::duration(&setting.value) {
            // 0 would disable the check in Stripe's libraries; here it is refused instead.
            Ok(duration) if !duration.is_zero() => Some(duration),
            _ => {
                errors.push(Diagnostic::error(
                    setting.span.clone(),
                    format!("`{key}` must be a positive duration such as 300s or 5m"),
                ));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_setting_naming_a_secret_header_is_a_verify_setting() {
        // The redaction policy (genhook_core::redact) reads these keys to hide the headers.
        for key in genhook_core::redact::SECRET_HEADER_SETTINGS {
            assert!(super::SETTINGS.contains(key), "{key}");
        }
    }
}
