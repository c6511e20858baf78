//! A span-keeping INI line lexer, shared by mapping files and GenHook's own configuration file.
//!
//! It only classifies lines; what a key means is up to the caller. Every line keeps its 1-based
//! number so that every later error can say `FILE:LINE: message`.
//!
//! - `[name]` is a section header;
//! - `;` or `#` at the start of a line (after blanks) begins a comment line;
//! - a trailing ` ;` or ` #` comment after a value is *not* stripped here: mapping templates may
//!   contain `;` and `#`. Callers of plain settings use [`strip_inline_comment`].
//! - anything else is kept as an entry line, trimmed, for the caller to split.

/// One meaningful line of an INI file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IniLine<'a> {
    /// `[name]`, the name trimmed.
    Section {
        /// The 1-based line number.
        line: u32,
        /// The section name.
        name: &'a str,
    },
    /// Any other non-blank, non-comment line, trimmed.
    Entry {
        /// The 1-based line number.
        line: u32,
        /// The text.
        text: &'a str,
    },
    /// A line starting with `[` that does not end with `]`.
    BadSection {
        /// The 1-based line number.
        line: u32,
        /// The text.
        text: &'a str,
    },
}

/// Classifies every meaningful line of `text` (blank lines and comment lines are skipped).
pub fn lines(text: &str) -> impl Iterator<Item = IniLine<'_>> {
    text.lines().enumerate().filter_map(|(index, raw)| {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
            return None;
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            return Some(match rest.strip_suffix(']') {
                Some(name) => IniLine::Section {
                    line,
                    name: name.trim(),
                },
                None => IniLine::BadSection {
                    line,
                    text: trimmed,
                },
            });
        }
        Some(IniLine::Entry {
            line,
            text: trimmed,
        })
    })
}

/// Splits `key = value` (or `key: value`) at the first `=` or `:`; both sides trimmed.
pub fn split_key_value(text: &str) -> Option<(&str, &str)> {
    let at = text.find(['=', ':'])?;
    let (key, rest) = text.split_at(at);
    Some((key.trim(), rest.get(1..).unwrap_or("").trim()))
}

/// The value of a setting: `"quoted"` taken verbatim without its quotes (so it may hold ` ;` or
/// ` #`), else the text without its trailing comment. Used by the config file and by the
/// mapping files' section settings, so both read `secret = "a b ; c"` the same way.
///
/// # Errors
/// A quote that is not closed, or text after the closing quote.
pub fn setting_value(raw: &str) -> Result<&str, &'static str> {
    let raw = raw.trim();
    let Some(rest) = raw.strip_prefix('"') else {
        return Ok(strip_inline_comment(raw));
    };
    let Some((inner, after)) = rest.split_once('"') else {
        return Err("missing closing quote");
    };
    let after = after.trim_start();
    if after.is_empty() || after.starts_with(';') || after.starts_with('#') {
        Ok(inner)
    } else {
        Err("unexpected text after the closing quote")
    }
}

/// Removes a trailing ` ; comment` or ` # comment` (a `;`/`#` preceded by white space).
pub fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if (b == b';' || b == b'#') && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return value.get(..i).unwrap_or(value).trim_end();
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_sections_entries_and_skips_comments() {
        let text = "; c\n# c\n\n[github]\nverify = github ; inline\n[bad\n";
        let got: Vec<_> = lines(text).collect();
        assert_eq!(
            got,
            vec![
                IniLine::Section {
                    line: 4,
                    name: "github"
                },
                IniLine::Entry {
                    line: 5,
                    text: "verify = github ; inline"
                },
                IniLine::BadSection {
                    line: 6,
                    text: "[bad"
                },
            ]
        );
    }

    #[test]
    fn splits_and_strips() {
        assert_eq!(split_key_value("a = b = c"), Some(("a", "b = c")));
        assert_eq!(split_key_value("a: b"), Some(("a", "b")));
        assert_eq!(split_key_value("nothing"), None);
        assert_eq!(strip_inline_comment("github ; the scheme"), "github");
        assert_eq!(strip_inline_comment("a;b"), "a;b");
    }

    #[test]
    fn setting_values_lose_their_quotes_or_their_comment() {
        assert_eq!(setting_value("github ; the scheme"), Ok("github"));
        assert_eq!(
            setting_value(r#""It's a Secret ; to Everybody" ; a comment"#),
            Ok("It's a Secret ; to Everybody")
        );
        assert_eq!(setting_value("\"\""), Ok(""));
        assert_eq!(setting_value("\"open"), Err("missing closing quote"));
        assert_eq!(
            setting_value("\"a\" b"),
            Err("unexpected text after the closing quote")
        );
    }
}
