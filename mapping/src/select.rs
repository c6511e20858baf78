//! Choosing a source's mapping line for an event type.
//!
//! The order, fixed at load: the line whose key is the event type itself; else the most
//! specific glob that matches (`*` matches any run of characters, dots included; the glob with
//! the most literal characters wins, then the one written first); else the `*` line; else the
//! line written outside any section, which maps every event of its source.

use std::collections::HashMap;

/// A source's lines, indexed for selection.
#[derive(Debug, Default)]
pub(crate) struct Selector {
    exact: HashMap<String, usize>,
    /// Globs, most specific first.
    globs: Vec<(String, usize)>,
    star: Option<usize>,
    fallback: Option<usize>,
}

impl Selector {
    /// Indexes `keys` (each line's key, and whether it was written outside any section).
    pub(crate) fn new<'a>(keys: impl IntoIterator<Item = (&'a str, bool)>) -> Self {
        let mut selector = Self::default();
        for (index, (key, sectionless)) in keys.into_iter().enumerate() {
            if sectionless {
                selector.fallback.get_or_insert(index);
            } else if key == "*" {
                selector.star.get_or_insert(index);
            } else if key.contains('*') {
                selector.globs.push((key.to_owned(), index));
            } else {
                selector.exact.entry(key.to_owned()).or_insert(index);
            }
        }
        // Stable: equally specific globs keep the order they were written in.
        selector
            .globs
            .sort_by_key(|(glob, _)| std::cmp::Reverse(glob.chars().filter(|c| *c != '*').count()));
        selector
    }

    /// The index of the line for `event`.
    pub(crate) fn select(&self, event: &str) -> Option<usize> {
        self.exact
            .get(event)
            .copied()
            .or_else(|| {
                self.globs
                    .iter()
                    .find(|(glob, _)| glob_match(glob, event))
                    .map(|(_, i)| *i)
            })
            .or(self.star)
            .or(self.fallback)
    }
}

/// Whether `text` matches `glob`, where `*` matches any run of characters (iterative, linear
/// backtracking: no recursion whatever the input).
pub(crate) fn glob_match(glob: &str, text: &str) -> bool {
    let pattern: Vec<char> = glob.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(c) if Some(c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("payment_intent.*", "payment_intent.succeeded"));
        assert!(!glob_match("payment_intent.*", "charge.succeeded"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(glob_match(
            "customer.subscription.*",
            "customer.subscription.updated"
        ));
        assert!(glob_match("*.created", "invoice.created"));
        assert!(!glob_match("abc", "abcd"));
    }

    #[test]
    fn order() {
        let s = Selector::new([
            ("github", true),
            ("*", false),
            ("customer.*", false),
            ("customer.subscription.*", false),
            ("customer.subscription.created", false),
        ]);
        assert_eq!(s.select("customer.subscription.created"), Some(4));
        assert_eq!(s.select("customer.subscription.deleted"), Some(3));
        assert_eq!(s.select("customer.created"), Some(2));
        assert_eq!(s.select("other"), Some(1));
        let s = Selector::new([("github", true), ("push", false)]);
        assert_eq!(s.select("push"), Some(1));
        assert_eq!(s.select("other"), Some(0));
        assert_eq!(Selector::new([("push", false)]).select("other"), None);
    }
}
