//! The outside tools some tests run (promtool, systemd-analyze, hadolint, python3 with PyYAML):
//! where the repository is, and what a test does when its tool is missing — print
//! "skipped: ..." and pass, except under CI=true, where scripts/setup must have installed it and
//! its absence is a failure.
#![allow(
    dead_code,
    clippy::print_stdout,
    clippy::disallowed_methods,
    unreachable_pub
)]

use std::path::Path;
use std::process::Command;

/// The repository's root (the deploy files, scripts and docs the tests read).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether this run is CI's (`CI=true`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

/// `what` is missing: a failure under CI=true, else a "skipped: ..." line (`how`: how to get it).
pub fn missing(what: &str, how: &str) {
    assert!(!under_ci(), "{what} is missing under CI=true ({how})");
    println!("skipped: {what} is not installed ({how})");
}

/// Whether `tool --version` runs; when it does not, [`missing`] says so.
pub fn installed(tool: &str, how: &str) -> bool {
    let runs = Command::new(tool).arg("--version").output().is_ok();
    if !runs {
        missing(tool, how);
    }
    runs
}
