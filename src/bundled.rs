//! The default mappings built into the binary: the repository's `mappings/*.ini` at build time.
//!
//! They are served when `mappings_dir` does not exist, so that an installed binary runs with no
//! file beside it; a directory that exists always wins, even an empty one (see
//! [`MappingsOrigin`]). `genhook mappings export DIR` writes them out to edit ([`export`]).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The built-in mapping files: name and text, in name order.
pub const FILES: &[(&str, &str)] = &[
    ("aws.ini", include_str!("../mappings/aws.ini")),
    ("azure.ini", include_str!("../mappings/azure.ini")),
    ("github.ini", include_str!("../mappings/github.ini")),
    ("jira.ini", include_str!("../mappings/jira.ini")),
    ("meraki.ini", include_str!("../mappings/meraki.ini")),
    ("shopify.ini", include_str!("../mappings/shopify.ini")),
    ("slack.ini", include_str!("../mappings/slack.ini")),
    ("stripe.ini", include_str!("../mappings/stripe.ini")),
];

/// The directory name the built-in files are reported under in `FILE:LINE: message`.
pub const BUILT_IN_DIR: &str = "<built-in>";

/// Where the mappings are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingsOrigin {
    /// The `mappings_dir` directory (it exists: a directory always wins).
    Directory(PathBuf),
    /// The built-in defaults, because `mappings_dir` (the path kept here) does not exist.
    BuiltIn(PathBuf),
}

impl MappingsOrigin {
    /// The origin for `mappings_dir` as it is now: the built-in mappings only when nothing is
    /// at that path (a path that exists but is not a readable directory stays an error, which
    /// reading it reports).
    pub fn of(mappings_dir: &Path) -> Self {
        match std::fs::symlink_metadata(mappings_dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Self::BuiltIn(mappings_dir.to_owned()),
            _ => Self::Directory(mappings_dir.to_owned()),
        }
    }

    /// Whether these are the built-in mappings.
    pub fn is_built_in(&self) -> bool {
        matches!(self, Self::BuiltIn(_))
    }
}

impl fmt::Display for MappingsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Directory(dir) => write!(f, "directory {}", dir.display()),
            Self::BuiltIn(dir) => write!(
                f,
                "the built-in mappings (mappings_dir {} does not exist)",
                dir.display()
            ),
        }
    }
}

/// The built-in files as `(<built-in>/NAME, text)`, for [`genhook_mapping::MappingSet::check_texts`].
pub fn texts() -> Vec<(PathBuf, &'static str)> {
    FILES
        .iter()
        .map(|(name, text)| (path(name), *text))
        .collect()
}

/// The path the built-in file `name` (`NAME.ini`) is reported under: `<built-in>/NAME.ini`,
/// the file of its sources' spans.
pub fn path(name: &str) -> PathBuf {
    Path::new(BUILT_IN_DIR).join(name)
}

/// The text of the built-in file `name` (`NAME.ini`), if there is one.
pub fn text(name: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, text)| *text)
}

/// Writes the built-in mapping files into `dir` (created if missing) and returns their paths.
/// An existing file is refused, none being written, unless `force`.
///
/// # Errors
/// `PATH: message` for a file that exists (without `force`) or that cannot be written.
pub fn export(dir: &Path, force: bool) -> Result<Vec<PathBuf>, String> {
    let targets: Vec<PathBuf> = FILES.iter().map(|(name, _)| dir.join(name)).collect();
    if !force {
        let existing: Vec<String> = targets
            .iter()
            .filter(|path| path.exists())
            .map(|path| format!("{}: exists (--force overwrites it)", path.display()))
            .collect();
        if !existing.is_empty() {
            return Err(existing.join("\n"));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let mut written = Vec::with_capacity(FILES.len());
    for ((_, text), path) in FILES.iter().zip(targets) {
        std::fs::write(&path, text)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the repository's mappings/ is built in (a new one cannot be forgotten).
    #[test]
    fn every_file_of_the_mappings_directory_is_built_in() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".ini"))
            .collect();
        on_disk.sort();
        let built_in: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        assert_eq!(on_disk, built_in);
    }

    #[test]
    fn a_missing_path_is_built_in_and_an_existing_one_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nowhere");
        assert!(MappingsOrigin::of(&missing).is_built_in());
        assert_eq!(
            MappingsOrigin::of(dir.path()),
            MappingsOrigin::Directory(dir.path().to_owned())
        );
    }
}
