//! The one path of `genhook sl1 policy create` and `POST /admin/sl1/policy`: build the policy of
//! a source, then either show the request ([`Prepared::preview`], the dry run) or send it.

use serde_json::{json, Value};

use super::client::{self, PolicyClient};
use super::error::PolicyError;
use super::request::Policy;
use crate::config::Config;

/// What to create.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct PolicyRequest {
    /// The source (its mapping section or line name).
    pub source: String,
    /// The token, when its messages carry several.
    #[serde(default)]
    pub token: Option<String>,
    /// 0–4.
    pub severity: i64,
    /// Show the request, send nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// A policy and where it would go.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The policy.
    pub policy: Policy,
    /// The GraphQL endpoint; `None` when no SL1 URL is configured.
    pub url: Option<reqwest::Url>,
    /// Whether an `Authorization: Basic` header would be sent.
    pub authenticated: bool,
}

impl Prepared {
    /// The policy of `request.source` (`sources`: the compiled sources served under that name)
    /// with the endpoint of `config`.
    ///
    /// # Errors
    /// An unknown source, a bad severity, or messages with nothing to match.
    pub fn new(
        config: &Config,
        sources: &[&genhook_mapping::CompiledSource],
        request: &PolicyRequest,
    ) -> Result<Self, PolicyError> {
        let policy = Policy::for_source(
            &request.source,
            sources,
            request.token.as_deref(),
            request.severity,
        )?;
        let url = client::endpoint(config);
        let in_url = [&config.sl1_graphql_url, &config.sl1_api_url]
            .into_iter()
            .flatten()
            .next()
            .is_some_and(|u| !u.username().is_empty() || u.password().is_some());
        let authenticated = config
            .sl1_username
            .as_deref()
            .is_some_and(|u| !u.is_empty())
            || config
                .sl1_password
                .as_ref()
                .is_some_and(|p| !p.expose().is_empty())
            || in_url;
        Ok(Self {
            policy,
            url,
            authenticated,
        })
    }

    /// The exact request as JSON, credentials replaced by a note: `{"method", "url", "headers",
    /// "body"}` (`url` null when no SL1 URL is set).
    pub fn preview(&self) -> Value {
        let mut headers = json!({
            "Content-Type": "application/json",
            "Accept": "application/json",
        });
        if self.authenticated {
            headers["Authorization"] = json!("Basic (sl1_username:sl1_password, not shown)");
        }
        json!({
            "method": "POST",
            "url": self.url.as_ref().map(reqwest::Url::as_str),
            "headers": headers,
            "body": self.policy.request(),
        })
    }

    /// The preview as the HTTP request's text: request line, headers, blank line, the body as
    /// sent.
    pub fn preview_text(&self) -> String {
        let url = self.url.as_ref().map_or(
            "(sl1_graphql_url and sl1_api_url unset)",
            reqwest::Url::as_str,
        );
        let mut text =
            format!("POST {url}\nContent-Type: application/json\nAccept: application/json\n");
        if self.authenticated {
            text.push_str("Authorization: Basic (sl1_username:sl1_password, not shown)\n");
        }
        text.push('\n');
        text.push_str(&self.policy.request().to_string());
        text
    }

    /// Sends the policy to SL1; its id.
    ///
    /// # Errors
    /// No SL1 URL or bad TLS settings, or SL1 failed or refused.
    pub async fn send(&self, config: &Config) -> Result<String, PolicyError> {
        PolicyClient::new(config)?.create(&self.policy).await
    }
}
