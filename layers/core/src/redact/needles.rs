//! [`Needles`]: what a JSON body holding a secret field must contain — one of the secret field
//! names as written, or a `\u` escape that could spell one — searched for in one pass, so that
//! the bodies that hold no secret (nearly all) are stored without being parsed.
//!
//! The search is aho-corasick's packed searcher (Teddy: SIMD over a few short patterns at once):
//! 1.5 µs over a 25 KB GitHub payload, where the automaton `AhoCorasick::new` builds for these
//! patterns (a rare-bytes prefilter, `_` and `\` among them) took 25 µs, ~9 % of all CPU under
//! load (BENCHMARKS.md). Where the packed searcher is not available (no SIMD, or too many
//! names), the automaton is used.

use aho_corasick::{packed, AhoCorasick};

use super::SECRET_BODY_FIELDS;

/// The searcher of a policy's secret field names. Built once, at load, with the policy.
#[derive(Debug, Clone)]
pub(super) struct Needles(Option<Searcher>);

#[derive(Debug, Clone)]
enum Searcher {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Needles {
    /// The searcher for [`SECRET_BODY_FIELDS`], `extra` top-level field names and `\u`.
    pub(super) fn new(extra: &[String]) -> Self {
        let patterns: Vec<&str> = SECRET_BODY_FIELDS
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .chain(["\\u"])
            .collect();
        // Building the automaton fails only past size limits a few short names never reach;
        // without a searcher every body is treated as one that may hold a secret (parsed and
        // scanned).
        let searcher = packed::Searcher::new(&patterns)
            .map(Searcher::Packed)
            .or_else(|| AhoCorasick::new(&patterns).ok().map(Searcher::Automaton));
        Self(searcher)
    }

    /// Whether `text` shows one of the names or a `\u` escape.
    pub(super) fn may_hold_secret(&self, text: &[u8]) -> bool {
        match &self.0 {
            Some(Searcher::Packed(searcher)) => searcher.find(text).is_some(),
            Some(Searcher::Automaton(searcher)) => searcher.is_match(text),
            None => true,
        }
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
        let packed = Needles::new(&["token".to_owned()]);
        #[cfg(target_arch = "x86_64")]
        assert!(
            matches!(packed.0, Some(Searcher::Packed(_))),
            "the packed searcher on x86_64"
        );
        let automaton = Needles(
            AhoCorasick::new(["sharedSecret", "client_secret", "token", "\\u"])
                .ok()
                .map(Searcher::Automaton),
        );
        for needles in [packed, automaton] {
            agrees_on_samples(&needles);
        }
        assert!(!Needles::default().may_hold_secret(br#"{"token":"t"}"#));
    }

    fn agrees_on_samples(needles: &Needles) {
        for text in [
            r#"{"a":{"sharedSecret":"x"}}"#,
            r#"[{"client_secret":1}]"#,
            r#"{"token":"t"}"#,
            r#"{"shared\u0053ecret":"x"}"#,
        ] {
            assert!(needles.may_hold_secret(text.as_bytes()), "{text}");
        }
        assert!(!needles.may_hold_secret(br#"{"tok":"en","secret":"client"}"#));
    }
}
