//! `log_max_files`: which rotated files of a log file to delete so that at most N are kept.
//!
//! A rotated file is named `NAME.STAMP.N` ([`RotatingFile`](super::RotatingFile)): `STAMP` is a
//! UTC day (`2026-11-28`) or hour (`2026-11-28-17`) and `N` counts from 1 within it, so the
//! names sort by age when compared as (stamp, number). Only files of that exact form are ever
//! touched: the live file and anything else in the directory stay.

use std::io;
use std::path::{Path, PathBuf};

/// Deletes the oldest rotated files of `log` beyond the `keep` newest (`keep` 0: none deleted).
/// Returns the files deleted.
///
/// # Errors
/// When the directory cannot be listed; a file that cannot be deleted is skipped.
pub(super) fn prune(log: &Path, keep: usize) -> io::Result<Vec<PathBuf>> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    let Some(name) = log.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Ok(Vec::new());
    };
    let dir = match log.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("."),
    };
    let mut rotated: Vec<((String, u64), PathBuf)> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            let age = archive_age(&name, &file)?;
            Some((age, entry.path()))
        })
        .collect();
    rotated.sort();
    let excess = rotated.len().saturating_sub(keep);
    let mut deleted = Vec::new();
    for (_, path) in rotated.into_iter().take(excess) {
        if std::fs::remove_file(&path).is_ok() {
            deleted.push(path);
        }
    }
    Ok(deleted)
}

/// `(STAMP, N)` when `file` is `NAME.STAMP.N` of the log file `name`.
fn archive_age(name: &str, file: &str) -> Option<(String, u64)> {
    let rest = file.strip_prefix(name)?.strip_prefix('.')?;
    let (stamp, n) = rest.rsplit_once('.')?;
    let stamped = !stamp.is_empty() && stamp.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    let n: u64 = n.parse().ok()?;
    stamped.then(|| (stamp.to_owned(), n))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_names_of_rotated_files_have_an_age() {
        let age = |file| archive_age("genhook.log", file);
        assert_eq!(
            age("genhook.log.2026-11-28.2"),
            Some(("2026-11-28".into(), 2))
        );
        assert_eq!(
            age("genhook.log.2026-11-28-17.1"),
            Some(("2026-11-28-17".into(), 1))
        );
        for other in [
            "genhook.log",
            "genhook.log.bak",
            "genhook.log.2026-11-28",
            "genhook.log.2026-11-28.x",
            "genhook.logs.2026-11-28.1",
            "other.log.2026-11-28.1",
        ] {
            assert_eq!(age(other), None, "{other}");
        }
    }

    #[test]
    fn the_oldest_rotated_files_go_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("genhook.log");
        let files = [
            "genhook.log",
            "genhook.log.2026-11-27.1",
            "genhook.log.2026-11-28.1",
            "genhook.log.2026-11-28.2",
            "genhook.log.2026-11-28.10",
            "genhook.log.2026-11-29.1",
            "notes.txt",
        ];
        for file in files {
            std::fs::write(dir.path().join(file), "x").unwrap();
        }
        assert!(prune(&log, 0).unwrap().is_empty(), "0 keeps everything");
        let deleted = prune(&log, 3).unwrap();
        let mut names: Vec<String> = deleted
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["genhook.log.2026-11-27.1", "genhook.log.2026-11-28.1"]
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "genhook.log",
                "genhook.log.2026-11-28.10",
                "genhook.log.2026-11-28.2",
                "genhook.log.2026-11-29.1",
                "notes.txt"
            ]
        );
    }
}
