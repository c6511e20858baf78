//! One event policy ([`Policy`]) and its GraphQL request: the predecessor's `eventPolicyCreate`
//! mutation with every value an escaped GraphQL string literal, and `"variables": {}`.

use serde_json::{json, Value};

use super::error::PolicyError;
use super::pattern;

/// The highest SL1 severity (4, critical); 0 is healthy.
pub const MAX_SEVERITY: u8 = 4;
/// SL1's event source "API", the source of the alerts GenHook posts.
pub const EVENT_SOURCE_API: u8 = 6;

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
