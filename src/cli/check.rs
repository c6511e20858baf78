//! `genhook check`: validate the configuration and every mapping, build every stack, and print
//! every problem as `FILE:LINE: message` (not just the first), by file and line, then a summary
//! line, all on stdout: the report is the command's output, including what could not be read
//! (an unreadable configuration file or mappings directory, as `PATH:0: ...`). Exit 0 when valid
//! (warnings allowed), else 1. The summary of a valid set says where the mappings came from: the
//! directory, or the built-in ones when `mappings_dir` does not exist. With `--output json`: one
//! object, `{"ok", "sources", "mappings", "errors", "warnings", "diagnostics": [{"file", "line",
//! "severity", "message"}]}`.

use std::process::ExitCode;

use serde_json::{json, Value};

use super::output::{diagnostic, OutputArg, Report};
use super::ConfigArg;
use crate::app::Validation;

/// `genhook check [--config FILE] [--output text|json]`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The configuration file.
    #[command(flatten)]
    pub config: ConfigArg,
    /// `--output text|json`.
    #[command(flatten)]
    pub output: OutputArg,
}

pub(super) fn run(args: &CheckArgs) -> ExitCode {
    let validation = Validation::run(args.config.config.as_deref());
    args.output.print(&Checked(&validation));
    if validation.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The report of a check.
struct Checked<'a>(&'a Validation);

impl Checked<'_> {
    /// Every problem: what kept a part from being checked (an unreadable file or directory)
    /// too, with the others, so the summary counts what is shown.
    fn problems(&self) -> impl Iterator<Item = &genhook_core::Diagnostic> {
        self.0.failures.iter().chain(&self.0.problems)
    }

    /// A part that could not be checked counts as an error.
    fn errors(&self) -> usize {
        self.0.failures.len() + self.0.problems.iter().filter(|p| p.is_error()).count()
    }

    fn warnings(&self) -> usize {
        self.0.problems.iter().filter(|p| !p.is_error()).count()
    }
}

impl Report for Checked<'_> {
    fn json(&self) -> Value {
        json!({
            "ok": !self.0.has_errors(),
            "sources": self.0.sources,
            "mappings": self.0.mappings.as_ref().map(ToString::to_string),
            "errors": self.errors(),
            "warnings": self.warnings(),
            "diagnostics": self.problems().map(diagnostic).collect::<Vec<_>>(),
        })
    }

    fn text(&self) -> String {
        let mut text = String::new();
        for problem in self.problems() {
            text.push_str(&format!("{problem}\n"));
        }
        if self.0.has_errors() {
            text.push_str(&format!(
                "{} error(s), {} warning(s)\n",
                self.errors(),
                self.warnings()
            ));
        } else {
            match &self.0.mappings {
                Some(origin) => {
                    text.push_str(&format!("ok: {} source(s) from {origin}\n", self.0.sources))
                }
                None => text.push_str(&format!("ok: {} source(s)\n", self.0.sources)),
            }
        }
        text
    }
}
