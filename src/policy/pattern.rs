//! The patterns of a source's event policy, from the beginning of its messages.
//!
//! - Messages that start `service|token|` (a predecessor `[webhooks]` line, or `message_prefix
//!   = service|token|`): the predecessor's `identifierPattern` `.*\|.*\|(.*)` (the identifier is
//!   the message after the prefix) and the token as `regularExpression1`. A source served with
//!   several tokens (a predecessor service with several lines) needs `--token` to say which.
//! - Any other source: `regularExpression1` is `^` and the fixed text every one of its messages
//!   starts with (its `message_prefix` and the literal start its templates share, regex-escaped),
//!   `identifierPattern` is `^`, the escaped `message_prefix` and `(.*)`. A source whose
//!   messages share no fixed start cannot be told apart from others and is refused: give it a
//!   `message_prefix`.

use genhook_mapping::CompiledSource;

use super::error::PolicyError;

/// The predecessor's identifier pattern for `service|token|message`.
pub const PREDECESSOR_IDENTIFIER: &str = r".*\|.*\|(.*)";

/// The two patterns of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patterns {
    /// `identifierPattern`.
    pub identifier: String,
    /// `regularExpression1`.
    pub select: String,
}

impl Patterns {
    /// The patterns of the messages of `name`'s sources (one, or one per token of a predecessor
    /// service).
    ///
    /// # Errors
    /// [`PolicyError::Pattern`] when the token is not one the messages carry, when several
    /// tokens leave the choice open, or when the messages share no fixed beginning.
    pub fn of(
        name: &str,
        sources: &[&CompiledSource],
        token: Option<&str>,
    ) -> Result<Self, PolicyError> {
        let starts: Vec<(&str, String)> = sources
            .iter()
            .flat_map(|source| source.lines())
            .map(|line| {
                let prefix = line.message_prefix();
                (
                    prefix,
                    format!("{prefix}{}", literal_start(line.template_text())),
                )
            })
            .collect();
        let mut tokens: Vec<&str> = starts
            .iter()
            .filter_map(|(prefix, _)| predecessor_token(prefix))
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        if !tokens.is_empty() {
            let chosen = match (token, tokens.as_slice()) {
                (Some(given), _) if tokens.contains(&given) => given,
                (Some(_), _) => {
                    return Err(PolicyError::Pattern(format!(
                        "the messages of `{name}` do not carry that token (they carry {})",
                        tokens.len()
                    )))
                }
                (None, [only]) => only,
                (None, _) => {
                    return Err(PolicyError::Pattern(format!(
                        "the messages of `{name}` carry {} tokens: say which with --token",
                        tokens.len()
                    )))
                }
            };
            return Ok(Self {
                identifier: PREDECESSOR_IDENTIFIER.to_owned(),
                select: chosen.to_owned(),
            });
        }
        if token.is_some() {
            return Err(PolicyError::Pattern(format!(
                "the messages of `{name}` carry no `service|token|` prefix: leave out the token"
            )));
        }
        let common = common_start(starts.iter().map(|(_, start)| start.as_str()));
        let prefix = common_start(starts.iter().map(|(prefix, _)| *prefix));
        if common.trim().is_empty() {
            return Err(PolicyError::Pattern(format!(
                "the messages of `{name}` share no fixed beginning for SL1 to match: set \
                 `message_prefix = {name}|` in its section"
            )));
        }
        Ok(Self {
            identifier: format!("^{}(.*)", escape(prefix)),
            select: format!("^{}", escape(common)),
        })
    }
}

/// The token of a `service|token|` prefix (exactly two `|`, the last at the end).
fn predecessor_token(prefix: &str) -> Option<&str> {
    let body = prefix.strip_suffix('|')?;
    let (service, token) = body.split_once('|')?;
    (!service.is_empty() && !token.is_empty() && !token.contains('|')).then_some(token)
}

/// A template's text before its first placeholder (`$…$`, `{{…}}`).
fn literal_start(template: &str) -> &str {
    let end = [template.find('$'), template.find("{{")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(template.len());
    template.get(..end).unwrap_or_default()
}

/// The longest beginning all the texts share (on a character boundary); empty for none.
fn common_start<'a>(mut texts: impl Iterator<Item = &'a str>) -> &'a str {
    let Some(first) = texts.next() else {
        return "";
    };
    let mut end = first.len();
    for text in texts {
        end = first
            .char_indices()
            .zip(text.chars())
            .find(|((_, a), b)| a != b)
            .map_or(end.min(text.len()), |((at, _), _)| at)
            .min(end);
    }
    first.get(..end).unwrap_or_default()
}

/// `text` with every regular-expression metacharacter escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_two_bar_prefixes_only() {
        assert_eq!(predecessor_token("github|tok123|"), Some("tok123"));
        assert_eq!(predecessor_token("github|"), None);
        assert_eq!(predecessor_token("a|b|c|"), None);
        assert_eq!(predecessor_token(""), None);
    }

    #[test]
    fn literal_start_stops_at_the_first_placeholder() {
        assert_eq!(literal_start("GitHub $action$ x"), "GitHub ");
        assert_eq!(literal_start("A {{upper x}} $y$"), "A ");
        assert_eq!(literal_start("$x$"), "");
        assert_eq!(literal_start("plain"), "plain");
    }

    #[test]
    fn common_start_is_shared_by_all() {
        assert_eq!(
            common_start(["GitHub PR ", "GitHub push "].into_iter()),
            "GitHub "
        );
        assert_eq!(common_start(["abc", "ab"].into_iter()), "ab");
        assert_eq!(common_start(["é1", "é2"].into_iter()), "é");
        assert_eq!(common_start(["x", "y"].into_iter()), "");
    }

    #[test]
    fn metacharacters_are_escaped() {
        assert_eq!(escape("a|b (c)."), r"a\|b \(c\)\.");
    }
}
