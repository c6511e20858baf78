//! Sends a [`Policy`] to SL1's GraphQL API: `POST sl1_graphql_url` (default derived from
//! `sl1_api_url`, see [`crate::config::defaults::sl1_graphql_url`]) with Basic auth from
//! `sl1_username`/`sl1_password` (or the credentials written into the URL, as the alert client
//! takes them), `sl1_timeout` for the whole request and the TLS settings of the alert client
//! (`sl1_ca_file`, a pinned self-signed certificate). Success is `200` with
//! `data.eventPolicyCreate.id`; anything else is a [`PolicyError`] that names SL1's reason.

use std::fmt;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::HeaderValue;
use serde_json::Value;

use super::error::PolicyError;
use super::request::Policy;
use crate::config::{defaults, Config};

/// The most of an error body an error repeats.
const BODY_EXCERPT: usize = 200;

/// The GraphQL endpoint of a configuration: `sl1_graphql_url`, else derived from `sl1_api_url`;
/// `None` when neither is set. Credentials written into the URL are left out.
pub fn endpoint(config: &Config) -> Option<reqwest::Url> {
    let mut url = match (&config.sl1_graphql_url, &config.sl1_api_url) {
        (Some(url), _) => url.clone(),
        (None, Some(api)) => defaults::sl1_graphql_url(api),
        (None, None) => return None,
    };
    let _ = url.set_password(None);
    let _ = url.set_username("");
    Some(url)
}

/// A client for SL1's GraphQL API, built from the configuration.
pub struct PolicyClient {
    http: reqwest::Client,
    url: reqwest::Url,
    authorization: Option<HeaderValue>,
}

impl fmt::Debug for PolicyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The Authorization header holds the credentials: never print it.
        f.debug_struct("PolicyClient")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl PolicyClient {
    /// The client of `config`.
    ///
    /// # Errors
    /// [`PolicyError::Config`] without a URL, or with a CA file that cannot be used.
    pub fn new(config: &Config) -> Result<Self, PolicyError> {
        let mut written = config
            .sl1_graphql_url
            .as_ref()
            .or(config.sl1_api_url.as_ref())
            .ok_or_else(|| {
                PolicyError::Config("neither sl1_graphql_url nor sl1_api_url is set".into())
            })?
            .clone();
        let url = endpoint(config)
            .ok_or_else(|| PolicyError::Config("sl1_graphql_url is not set".into()))?;
        let password = config
            .sl1_password
            .as_ref()
            .map(|p| p.expose().to_owned())
            .unwrap_or_default();
        let authorization = crate::worker::basic_auth::take_basic_auth(
            &mut written,
            config.sl1_username.as_deref().unwrap_or_default(),
            &password,
        )
        .map_err(PolicyError::Config)?;
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(crate::worker::USER_AGENT)
            .timeout(config.sl1_timeout);
        if let Some(path) = &config.sl1_ca_file {
            let tls = crate::worker::tls::client_config(path)
                .map_err(|e| PolicyError::Config(e.to_string()))?;
            builder = builder.use_preconfigured_tls(tls);
        }
        let http = builder
            .build()
            .map_err(|e| PolicyError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            url,
            authorization,
        })
    }

    /// Where the request goes.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// Creates `policy`; its SL1 id.
    ///
    /// # Errors
    /// SL1 unreachable, a status other than 200, GraphQL errors or no id in the answer.
    pub async fn create(&self, policy: &Policy) -> Result<String, PolicyError> {
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(policy.request().to_string());
        if let Some(auth) = &self.authorization {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| PolicyError::Transport(transport_reason(&e)))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| PolicyError::Transport(transport_reason(&e)))?;
        if status != http::StatusCode::OK {
            return Err(PolicyError::Status {
                status: status.as_u16(),
                body: excerpt(&body),
            });
        }
        read_answer(&body)
    }
}

/// The policy id of a `200` answer, or why there is none.
fn read_answer(body: &str) -> Result<String, PolicyError> {
    let answer: Value = serde_json::from_str(body)
        .map_err(|_| PolicyError::Refused(format!("not JSON: {}", excerpt(body))))?;
    if let Some(errors) = answer.get("errors").and_then(Value::as_array) {
        let messages: Vec<&str> = errors
            .iter()
            .map(|e| {
                e.get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown GraphQL error")
            })
            .collect();
        if !messages.is_empty() {
            return Err(PolicyError::Refused(messages.join("; ")));
        }
    }
    match answer.pointer("/data/eventPolicyCreate/id") {
        Some(Value::String(id)) => Ok(id.clone()),
        Some(Value::Number(id)) => Ok(id.to_string()),
        _ => Err(PolicyError::Refused(format!(
            "no policy id in the answer: {}",
            excerpt(body)
        ))),
    }
}

/// A transport error without the URL (which may carry credentials).
fn transport_reason(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "no answer within sl1_timeout"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(BODY_EXCERPT) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or_default()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        let ok = r#"{"data":{"eventPolicyCreate":{"id":"42"}}}"#;
        assert_eq!(read_answer(ok).ok().as_deref(), Some("42"));
        let refused = r#"{"errors":[{"message":"name taken"}]}"#;
        assert_eq!(
            read_answer(refused).err().map(|e| e.to_string()).as_deref(),
            Some("SL1 refused the event policy: name taken")
        );
        assert!(read_answer(r#"{"data":{}}"#).is_err());
        assert!(read_answer("<html>").is_err());
    }

    #[test]
    fn endpoint_is_derived_without_credentials() {
        let mut config = Config::defaults();
        assert!(endpoint(&config).is_none());
        config.sl1_api_url = reqwest::Url::parse("https://u:p@sl1.example:8443/api/alert?x=1").ok();
        assert_eq!(
            endpoint(&config).map(String::from).as_deref(),
            Some("https://sl1.example:8443/gql")
        );
        config.sl1_graphql_url = reqwest::Url::parse("http://other/graphql").ok();
        assert_eq!(
            endpoint(&config).map(String::from).as_deref(),
            Some("http://other/graphql")
        );
    }
}
