//! The only place that reads the process environment.
//!
//! Everything else takes the environment as a function (`&dyn Fn(&str) -> Option<String>`), so
//! tests pass a map and never touch the real environment. In production pass [`lookup`]:
//! `Config::load(path, &genhook::config::env::lookup)`; it is also the `${VAR}` resolver of
//! mapping files.

use std::collections::BTreeMap;

/// The environment as the loader sees it: a variable's value by name.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The prefix of override variables: `GENHOOK_<KEY>`.
pub const PREFIX: &str = "GENHOOK_";

/// The process environment variable `name`; `None` when unset or not valid UTF-8.
#[allow(
    clippy::disallowed_methods,
    reason = "this module is the one place allowed to read the process environment"
)]
pub fn lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The names of the process environment's `GENHOOK_*` variables (those not valid UTF-8 are
/// left out), for [`unknown_variables`](super::unknown_variables).
#[allow(
    clippy::disallowed_methods,
    reason = "this module is the one place allowed to read the process environment"
)]
pub fn genhook_names() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with(PREFIX))
        .collect()
}

/// The override variable of a key: `server_port` -> `GENHOOK_SERVER_PORT`
/// (`-` becomes `_`, so `aws-sns_max_concurrent` -> `GENHOOK_AWS_SNS_MAX_CONCURRENT`).
pub fn var_name(key: &str) -> String {
    let mut name = String::with_capacity(PREFIX.len() + key.len());
    name.push_str(PREFIX);
    name.extend(key.chars().map(|c| match c {
        '-' | '.' => '_',
        c => c.to_ascii_uppercase(),
    }));
    name
}

/// An environment made of fixed pairs, for tests and embedding:
/// `Config::load(None, &env::from_pairs([("GENHOOK_SERVER_PORT", "9000")]))`.
pub fn from_pairs<I, K, V>(pairs: I) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let map: BTreeMap<String, String> = pairs
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    move |name| map.get(name).cloned()
}

/// An empty environment.
pub fn empty(_name: &str) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_maps() {
        assert_eq!(var_name("sl1_password"), "GENHOOK_SL1_PASSWORD");
        assert_eq!(
            var_name("aws-sns_max_concurrent"),
            "GENHOOK_AWS_SNS_MAX_CONCURRENT"
        );
        let env = from_pairs([("A", "1")]);
        assert_eq!(env("A").as_deref(), Some("1"));
        assert_eq!(env("B"), None);
        assert_eq!(empty("A"), None);
    }

    #[test]
    fn lookup_reads_the_process_environment() {
        // PATH is set in every environment tests run in; a name nobody sets is not.
        assert!(lookup("PATH").is_some());
        assert_eq!(lookup("GENHOOK_TEST_SURELY_UNSET_VARIABLE_0x5f"), None);
    }
}
