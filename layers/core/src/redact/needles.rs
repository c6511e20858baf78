//! [`Needles`]: what a JSON body holding a secret field must contain — one of the secret field
//! names as written, or a `\u` escape that could spell one — searched for in one pass
//! (Aho-Corasick: a vectorised search for a few short patterns at once), so that the bodies that
//! hold no secret (nearly all) are stored without being parsed.

use aho_corasick::AhoCorasick;

use super::SECRET_BODY_FIELDS;

/// The searcher of a policy's secret field names. Built once, at load, with the policy.
#[derive(Debug, Clone)]
pub(super) struct Needles(Option<AhoCorasick>);

impl Needles {
    /// The searcher for [`SECRET_BODY_FIELDS`], `extra` top-level field names and `\u`.
    pub(super) fn new(extra: &[String]) -> Self {
        let patterns = SECRET_BODY_FIELDS
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .chain(["\\u"]);
        // Building fails only past size limits a few short names never reach; without a
        // searcher every body is treated as one that may hold a secret (parsed and scanned).
        Self(AhoCorasick::new(patterns).ok())
    }

    /// Whether `text` shows one of the names or a `\u` escape.
    pub(super) fn may_hold_secret(&self, text: &[u8]) -> bool {
        self.0
            .as_ref()
            .is_none_or(|searcher| searcher.is_match(text))
    }
}

impl Default for Needles {
    fn default() -> Self {
        Self::new(&[])
    }
}

/// Built from the policy's field names, which the policy compares itself: two policies with the
/// same names have equal searchers.
impl PartialEq for Needles {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Needles {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_and_an_escape_are_found_and_nothing_else() {
        let needles = Needles::new(&["token".to_owned()]);
        for text in [
            r#"{"a":{"sharedSecret":"x"}}"#,
            r#"[{"client_secret":1}]"#,
            r#"{"token":"t"}"#,
            r#"{"shared\u0053ecret":"x"}"#,
        ] {
            assert!(needles.may_hold_secret(text.as_bytes()), "{text}");
        }
        assert!(!needles.may_hold_secret(br#"{"tok":"en","secret":"client"}"#));
        assert!(!Needles::default().may_hold_secret(br#"{"token":"t"}"#));
    }
}
