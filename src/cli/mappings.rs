//! `genhook mappings export DIR [--force]`: writes the default mappings built into the binary
//! ([`crate::bundled`]) into a directory to edit; point `mappings_dir` at it and it wins over
//! the built-in ones. An existing file is refused (nothing is written) unless `--force`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

/// `genhook mappings …`.
#[derive(Debug, Args)]
pub struct MappingsCommand {
    /// What to do.
    #[command(subcommand)]
    pub action: MappingsAction,
}

/// A `genhook mappings` action.
#[derive(Debug, Subcommand)]
pub enum MappingsAction {
    /// Write the built-in mapping files into DIR (created if missing).
    Export {
        /// The directory to write into.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `genhook mappings` command; prints each file written.
#[allow(clippy::print_stdout)] // the command's output
pub(crate) fn run(cmd: &MappingsCommand) -> ExitCode {
    let MappingsAction::Export { dir, force } = &cmd.action;
    match crate::bundled::export(dir, *force) {
        Ok(written) => {
            for path in &written {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(reason) => {
            for line in reason.lines() {
                eprintln!("genhook mappings export: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
