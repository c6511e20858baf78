//! [`PolicyError`]: why an event policy could not be built or created, and which of those the
//! caller caused ([`PolicyError::is_request_error`]).

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
