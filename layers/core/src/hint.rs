//! "Did you mean" hints: the known name closest to a misspelt one, by edit distance, for the
//! configuration file's keys, mapping sections' keys and `GENHOOK_*` environment variables.

/// The most edits (insertions, deletions, substitutions) a hint may be away from the name.
pub const MAX_EDITS: usize = 2;

/// The known name closest to `name`, if one is at most [`MAX_EDITS`] edits away (the first of
/// the closest when several tie).
///
/// ```
/// use genhook_core::hint::closest;
///
/// assert_eq!(closest("sever_port", ["server_host", "server_port"]), Some("server_port"));
/// assert_eq!(closest("colour", ["server_port"]), None);
/// ```
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= MAX_EDITS)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// ` (did you mean `x`?)` for the closest known name, else nothing: appended to an
/// "unknown key" message.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, known)
        .map(|known| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default()
}

/// Levenshtein distance of two strings, by characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let delete = previous.get(j + 1).copied().unwrap_or(0) + 1;
            let insert = current.get(j).copied().unwrap_or(0) + 1;
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_hints() {
        assert_eq!(edit_distance("sever_port", "server_port"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("QUEUE_BACKEN", "QUEUE_BACKEND"), 1);
        assert_eq!(closest("verfy", ["token", "verify"]), Some("verify"));
        assert_eq!(closest("x", ["abcd"]), None);
        assert_eq!(did_you_mean("alig", ["align"]), " (did you mean `align`?)");
        assert_eq!(did_you_mean("colour", ["align"]), "");
    }
}
