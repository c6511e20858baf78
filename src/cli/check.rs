//! `genhook check`: validate the configuration and every mapping, build every stack, and print
//! every problem as `FILE:LINE: message` (not just the first). Exit 0 when valid, else 1.

use std::process::ExitCode;

use super::{print_problems, ConfigArg};
use crate::app::Validation;

pub(super) fn run(args: &ConfigArg) -> ExitCode {
    let validation = Validation::run(args.config.as_deref());
    print_problems(&validation.problems);
    if validation.has_errors() {
        eprintln!(
            "{} error(s), {} warning(s)",
            validation.problems.iter().filter(|p| p.is_error()).count(),
            validation.problems.iter().filter(|p| !p.is_error()).count()
        );
        ExitCode::FAILURE
    } else {
        eprintln!("ok: {} source(s)", validation.sources);
        ExitCode::SUCCESS
    }
}
