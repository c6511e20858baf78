//! The admin API client that `genhook dlq` and `genhook requests` share: which server (`--url`,
//! `--token` or `GENHOOK_ADMIN_TOKEN`), one call with the bearer token, and why a call failed
//! (the server's `{"error": ...}` reason, or that it could not be reached).

use std::time::Duration;

use clap::Args;
use genhook_core::Secret;
use serde_json::Value;

/// `--url` and `--token`: which running server.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
    /// The admin token (prefer the GENHOOK_ADMIN_TOKEN environment variable).
    #[arg(long, env = "GENHOOK_ADMIN_TOKEN", hide_env_values = true, value_parser = parse_secret, global = true)]
    pub token: Option<Secret>,
}

fn parse_secret(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::from(text))
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("server answered {status}: {reason}")]
    Refused {
        status: reqwest::StatusCode,
        reason: String,
    },
}

/// A client of one server's admin API (`{url}/admin/…`).
#[derive(Debug)]
pub(crate) struct AdminClient {
    http: reqwest::blocking::Client,
    url: String,
    token: Option<Secret>,
}

impl AdminClient {
    /// A client of the server `args` name.
    pub(crate) fn new(args: &ServerArgs) -> Result<Self, CallError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| CallError::Unreachable {
                url: args.url.clone(),
                source,
            })?;
        Ok(Self {
            http,
            url: args.url.trim_end_matches('/').to_owned(),
            token: args.token.clone(),
        })
    }

    /// `GET /admin{path}?query`.
    pub(crate) fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CallError> {
        self.send(self.http.get(self.at(path)).query(query))
    }

    /// `POST /admin{path}?query`.
    pub(crate) fn post(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CallError> {
        self.send(self.http.post(self.at(path)).query(query))
    }

    /// `DELETE /admin{path}?query`.
    pub(crate) fn delete(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CallError> {
        self.send(self.http.delete(self.at(path)).query(query))
    }

    fn at(&self, path: &str) -> String {
        format!("{}/admin{path}", self.url)
    }

    /// Sends the request (with the bearer token when given): the JSON answer of a success, or
    /// why it failed.
    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Result<Value, CallError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token.expose()),
            None => request,
        };
        let response = request.send().map_err(|source| CallError::Unreachable {
            url: self.url.clone(),
            source,
        })?;
        let status = response.status();
        let body: Value = response.json().unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            let reason = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no reason given")
                .to_owned();
            Err(CallError::Refused { status, reason })
        }
    }
}

/// `text` as one URL path segment.
pub(crate) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The query pairs of the options that are set.
pub(crate) fn query(pairs: &[(&'static str, Option<String>)]) -> Vec<(&'static str, String)> {
    pairs
        .iter()
        .filter_map(|(name, value)| value.clone().map(|value| (*name, value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_one_path_segment() {
        assert_eq!(percent_encode("a/b c"), "a%2Fb%20c");
        assert_eq!(percent_encode("0190-ab_c.~"), "0190-ab_c.~");
    }

    #[test]
    fn only_the_options_set_are_sent() {
        assert_eq!(
            query(&[("source", Some("github".into())), ("event", None)]),
            [("source", "github".to_owned())]
        );
    }
}
