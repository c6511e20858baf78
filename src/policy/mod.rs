//! The SL1 event policy of a source: what `genhook sl1 policy create` and `POST
//! /admin/sl1/policy` create through SL1's GraphQL API, as the Python predecessor did.
//!
//! The request is the predecessor's `eventPolicyCreate` mutation (name `GENHOOK_<source>`,
//! event source 6 "API", severity 0–4), with the policy's patterns fitted to the source's
//! messages ([`pattern`]): a source whose messages start `service|token|` gets the
//! predecessor's `identifierPattern ".*\|.*\|(.*)"` and its token as `regularExpression1`;
//! any other source gets patterns anchored on the fixed beginning of its messages.
//!
//! [`Policy::request`] is the exact GraphQL request body (it never holds credentials, which go
//! in the `Authorization` header only), so a dry run prints what would be sent; [`client`] sends
//! it with `sl1_username`/`sl1_password` and the TLS settings of the SL1 alert client.

pub mod client;
pub mod pattern;
pub mod run;

use serde_json::{json, Value};

pub use client::PolicyClient;
pub use run::{PolicyRequest, Prepared};

/// The highest SL1 severity (4, critical); 0 is healthy.
pub const MAX_SEVERITY: u8 = 4;
/// SL1's event source "API", the source of the alerts GenHook posts.
pub const EVENT_SOURCE_API: u8 = 6;

/// Why a policy could not be built or created. Its text never holds a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A severity outside 0–4.
    #[error("severity {0} is not 0-4 (0 healthy, 1 notice, 2 minor, 3 major, 4 critical)")]
    Severity(i64),
    /// No such source in the mappings.
    #[error("unknown source `{0}`")]
    UnknownSource(String),
    /// The source's messages give the policy nothing to match on, or the token does not fit.
    #[error("{0}")]
    Pattern(String),
    /// Missing or invalid settings (no GraphQL URL, unreadable CA file).
    #[error("invalid SL1 GraphQL settings: {0}")]
    Config(String),
    /// SL1 could not be reached or did not answer in time.
    #[error("cannot reach SL1's GraphQL API: {0}")]
    Transport(String),
    /// SL1 answered with a status other than 200.
    #[error("SL1's GraphQL API answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// SL1 answered 200 with GraphQL errors, or without a policy id.
    #[error("SL1 refused the event policy: {0}")]
    Refused(String),
}

impl PolicyError {
    /// Whether the caller asked for something impossible (as opposed to SL1 failing).
    pub fn is_request_error(&self) -> bool {
        matches!(
            self,
            Self::Severity(_) | Self::UnknownSource(_) | Self::Pattern(_)
        )
    }
}

/// A checked severity, 0–4.
///
/// # Errors
/// [`PolicyError::Severity`] outside 0–4.
pub fn severity(value: i64) -> Result<u8, PolicyError> {
    u8::try_from(value)
        .ok()
        .filter(|s| *s <= MAX_SEVERITY)
        .ok_or(PolicyError::Severity(value))
}

/// One event policy, ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `GENHOOK_<source>`.
    pub name: String,
    /// What SL1 takes as the event's identifier (its first group).
    pub identifier_pattern: String,
    /// What selects the source's alerts.
    pub regular_expression1: String,
    /// 0–4.
    pub severity: u8,
}

impl Policy {
    /// The policy of the source `name` (its compiled mappings: one, or one per token of a
    /// predecessor service) for `token` (needed only when its messages carry several tokens) at
    /// `severity`.
    ///
    /// # Errors
    /// A bad severity, no source, or messages with nothing to match
    /// ([`pattern::Patterns::of`]).
    pub fn for_source(
        name: &str,
        sources: &[&genhook_mapping::CompiledSource],
        token: Option<&str>,
        severity: i64,
    ) -> Result<Self, PolicyError> {
        let severity = self::severity(severity)?;
        if sources.is_empty() {
            return Err(PolicyError::UnknownSource(name.to_owned()));
        }
        let patterns = pattern::Patterns::of(name, sources, token)?;
        Ok(Self {
            name: format!("GENHOOK_{name}"),
            identifier_pattern: patterns.identifier,
            regular_expression1: patterns.select,
            severity,
        })
    }

    /// The GraphQL mutation, laid out as the predecessor's, with every string a GraphQL string
    /// literal (JSON escaping, which GraphQL shares), so no value can change the query.
    pub fn mutation(&self) -> String {
        let quote = |text: &str| Value::String(text.to_owned()).to_string();
        format!(
            "mutation CreateEventPolicy {{\n  eventPolicyCreate(\n    message: \"%I\"\n    \
             messageMatch: false\n    identifierPattern: {identifier}\n    enabled: true\n    \
             identifierResultFormat: \"\"\n    multiMatch: false\n    name: {name}\n    \
             regularExpression1: {select}\n    regularExpression2: \"\"\n    \
             regularExpressionSearch: true\n    severity: {severity}\n    source: {source}\n  \
             ) {{\n    id\n  }}\n}}",
            identifier = quote(&self.identifier_pattern),
            name = quote(&self.name),
            select = quote(&self.regular_expression1),
            severity = self.severity,
            source = EVENT_SOURCE_API,
        )
    }

    /// The request body: `{"query": <mutation>, "variables": {}}`.
    pub fn request(&self) -> Value {
        json!({ "query": self.mutation(), "variables": {} })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_is_zero_to_four() {
        assert_eq!(severity(0).ok(), Some(0));
        assert_eq!(severity(4).ok(), Some(4));
        assert!(matches!(severity(5), Err(PolicyError::Severity(5))));
        assert!(matches!(severity(-1), Err(PolicyError::Severity(-1))));
    }

    #[test]
    fn strings_are_escaped_into_the_mutation() {
        let policy = Policy {
            name: "GENHOOK_x".into(),
            identifier_pattern: r".*\|.*\|(.*)".into(),
            regular_expression1: "a\"b".into(),
            severity: 3,
        };
        let mutation = policy.mutation();
        assert!(mutation.contains(r#"identifierPattern: ".*\\|.*\\|(.*)""#));
        assert!(mutation.contains(r#"regularExpression1: "a\"b""#));
        assert!(mutation.contains("severity: 3\n"));
    }
}
