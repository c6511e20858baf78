//! `genhook check`: validate the configuration and every mapping, build every stack, and print
//! every problem as `FILE:LINE: message` (not just the first), by file and line, then a summary
//! line, all on stdout: the report is the command's output, including what could not be read
//! (an unreadable configuration file or mappings directory, as `PATH:0: ...`). Exit 0 when valid
//! (warnings allowed), else 1. The summary of a valid set says where the mappings came from: the
//! directory, or the built-in ones when `mappings_dir` does not exist.

use std::process::ExitCode;

use super::ConfigArg;
use crate::app::Validation;

#[expect(clippy::print_stdout, reason = "the report is the command's output")]
pub(super) fn run(args: &ConfigArg) -> ExitCode {
    let validation = Validation::run(args.config.as_deref());
    // What kept a part from being checked (an unreadable file or directory) is a problem too:
    // it goes with the others, so the summary counts what is shown.
    for problem in validation.failures.iter().chain(&validation.problems) {
        println!("{problem}");
    }
    if validation.has_errors() {
        let errors =
            validation.failures.len() + validation.problems.iter().filter(|p| p.is_error()).count();
        let warnings = validation.problems.iter().filter(|p| !p.is_error()).count();
        println!("{errors} error(s), {warnings} warning(s)");
        ExitCode::FAILURE
    } else {
        match &validation.mappings {
            Some(origin) => println!("ok: {} source(s) from {origin}", validation.sources),
            None => println!("ok: {} source(s)", validation.sources),
        }
        ExitCode::SUCCESS
    }
}
