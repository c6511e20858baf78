//! Value forms of the configuration file: durations, sizes and booleans (the shared grammar
//! of `genhook_core::value`), counts, ports, URLs and
//! the enumerated settings. Each parser returns the problem as a lower-case message that the
//! loader prefixes with `FILE:LINE:` (or the environment variable's name).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A problem with one value, without its location.
pub(crate) type ValueResult<T> = Result<T, String>;

/// Durations, sizes and booleans: the one grammar every value form has, shared with the
/// mapping files' section keys and the stages' settings ([`genhook_core::value`]; a bare
/// number is seconds for every duration key here).
pub(crate) use genhook_core::value::{boolean, duration, size};

/// Parses a TCP port (0 asks the system for a free one).
pub(crate) fn port(value: &str) -> ValueResult<u16> {
    value
        .parse()
        .map_err(|_| format!("not a port number: {value:?}"))
}

/// Parses a whole number of at least `min`.
pub(crate) fn count<T>(value: &str, min: T) -> ValueResult<T>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    let n: T = value
        .parse()
        .map_err(|_| format!("not a whole number: {value:?}"))?;
    if n < min {
        return Err(format!("must be at least {min}: {value:?}"));
    }
    Ok(n)
}

/// Parses a URL whose scheme is one of `schemes`.
pub(crate) fn url(value: &str, schemes: &[&str]) -> ValueResult<reqwest::Url> {
    // A URL may hold a password (`https://user:pw@host`): do not echo one that might.
    let shown = if value.contains('@') {
        "<hidden: it may hold a password>".to_owned()
    } else {
        format!("{value:?}")
    };
    let parsed =
        reqwest::Url::parse(value).map_err(|e| format!("not a valid URL ({e}): {shown}"))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(format!(
            "URL scheme must be {}: {shown}",
            schemes.join(" or ")
        ));
    }
    Ok(parsed)
}

/// A non-empty path.
pub(crate) fn path(value: &str) -> ValueResult<PathBuf> {
    if value.is_empty() {
        return Err("empty path".to_owned());
    }
    Ok(PathBuf::from(value))
}

/// A host name or address to listen on.
pub(crate) fn host(value: &str) -> ValueResult<String> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(format!("not a host name or IP address: {value:?}"))
    }
}

/// Parses one of an enumeration's names, case-insensitively.
pub(crate) fn one_of<T: Choice>(value: &str) -> ValueResult<T> {
    let lower = value.to_ascii_lowercase();
    T::ALL
        .iter()
        .copied()
        .find(|c| c.name() == lower)
        .ok_or_else(|| {
            let names: Vec<&str> = T::ALL.iter().map(|c| c.name()).collect();
            format!("must be one of {}: {value:?}", names.join(", "))
        })
}

/// An enumerated setting: its values and their names.
pub(crate) trait Choice: Copy + 'static {
    /// Every value.
    const ALL: &'static [Self];
    /// The value's name in the file.
    fn name(self) -> &'static str;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_ports_urls() {
        assert_eq!(count::<u32>("3", 0), Ok(3));
        assert_eq!(
            count::<u32>("0", 1),
            Err("must be at least 1: \"0\"".to_owned())
        );
        assert!(count::<u32>("x", 0).is_err());
        assert_eq!(port("8080"), Ok(8080));
        assert_eq!(port("abc"), Err("not a port number: \"abc\"".to_owned()));
        assert!(port("70000").is_err());
        assert!(url("https://sl1.example/api/alert", &["http", "https"]).is_ok());
        assert!(url("ftp://x", &["http", "https"]).is_err());
        assert!(url("not a url", &["http"]).is_err());
        assert!(host("127.0.0.1").is_ok());
        assert!(host("::1").is_ok());
        assert!(host("bad host").is_err());
    }
}
