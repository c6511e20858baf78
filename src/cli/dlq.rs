//! `genhook dlq` (placeholder until the admin client lands).

use std::process::ExitCode;

/// The dead-letter subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DlqCommand {
    /// List dead letters.
    List,
}

/// Runs a dead-letter subcommand.
pub fn run(command: DlqCommand) -> ExitCode {
    let _ = command;
    ExitCode::FAILURE
}
