//! `GENHOOK_*` environment variables that nothing reads: a typo in an override
//! (`GENHOOK_QUEUE_BACKEN=memory`) would otherwise be ignored in silence while the same typo in
//! the file is an error. Each is a warning naming the variable and the closest known one.

use std::path::Path;

use genhook_core::{hint, Diagnostic};

use super::env::var_name;
use super::keys::{key_names, MAX_CONCURRENT_SUFFIX};
use super::origin::{span, ENVIRONMENT};

/// A warning for each of `names` (the environment's `GENHOOK_*` variables, see
/// [`env::genhook_names`](super::env::genhook_names)) that is neither a key's override, nor a
/// `GENHOOK_<SOURCE>_MAX_CONCURRENT`, nor named by a mapping file (`referenced`, e.g. a
/// `${GENHOOK_GITHUB_SECRET}`), sorted: `environment:0: warning: GENHOOK_X: unknown variable,
/// ignored (did you mean `GENHOOK_Y`?)`.
pub fn unknown_variables<'a>(
    names: impl IntoIterator<Item = &'a str>,
    referenced: &dyn Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let known: Vec<String> = key_names().into_iter().map(var_name).collect();
    let mut warnings: Vec<Diagnostic> = names
        .into_iter()
        .filter(|name| name.starts_with(super::env::PREFIX))
        .filter(|name| !known.iter().any(|k| k == name) && !referenced(name))
        .filter(|name| !is_max_concurrent(name))
        .map(|name| {
            let hint = hint::did_you_mean(name, known.iter().map(String::as_str));
            Diagnostic::warning(
                span(Path::new(ENVIRONMENT), 0),
                format!("{name}: unknown variable, ignored{hint}"),
            )
        })
        .collect();
    warnings.sort();
    warnings
}

/// `GENHOOK_<SOURCE>_MAX_CONCURRENT`, with a source (the file's `<source>_max_concurrent`).
fn is_max_concurrent(name: &str) -> bool {
    let suffix = MAX_CONCURRENT_SUFFIX.to_ascii_uppercase();
    name.strip_prefix(super::env::PREFIX)
        .and_then(|rest| rest.strip_suffix(suffix.as_str()))
        .is_some_and(|source| !source.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(names: &[&str]) -> Vec<String> {
        let referenced = |name: &str| name == "GENHOOK_GITHUB_SECRET";
        unknown_variables(names.iter().copied(), &referenced)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn only_what_nothing_reads_is_reported_with_a_hint() {
        assert_eq!(
            shown(&[
                "GENHOOK_QUEUE_BACKEN",
                "GENHOOK_SERVER_PORT",
                "GENHOOK_MAX_THREADS",
                "GENHOOK_SHOPIFY_MAX_CONCURRENT",
                "GENHOOK_GITHUB_SECRET",
                "GENHOOK_COLOUR",
                "GENHOOK__MAX_CONCURRENT",
                "PATH",
            ]),
            vec![
                "environment:0: warning: GENHOOK_COLOUR: unknown variable, ignored",
                "environment:0: warning: GENHOOK_QUEUE_BACKEN: unknown variable, ignored (did you mean `GENHOOK_QUEUE_BACKEND`?)",
                "environment:0: warning: GENHOOK__MAX_CONCURRENT: unknown variable, ignored",
            ]
        );
    }
}
