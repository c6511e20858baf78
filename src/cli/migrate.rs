//! `genhook migrate FROM_DIR TO_DIR`: the Python predecessor's configuration directory (its
//! `app-config.ini` and `webhook-config.ini`) into a `genhook.ini` and a `mappings/` directory
//! that `genhook check` accepts and that deliver the same messages.

use std::path::PathBuf;
use std::process::ExitCode;

/// `genhook migrate FROM_DIR TO_DIR`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The predecessor's configuration directory (e.g. backend/config).
    #[arg(value_name = "FROM_DIR")]
    pub from: PathBuf,
    /// Where to write genhook.ini and mappings/ (created if missing).
    #[arg(value_name = "TO_DIR")]
    pub to: PathBuf,
}

/// Runs the migration; prints what each of the predecessor's settings became.
#[allow(clippy::print_stdout)] // the command's output
pub(crate) fn run(args: &MigrateArgs) -> ExitCode {
    match crate::config::migrate(&args.from, &args.to) {
        Ok(migrated) => {
            for notice in &migrated.notices {
                println!("{notice}");
            }
            println!(
                "wrote {} and {} mapping file(s); check them with: genhook check --config {}",
                migrated.config.display(),
                migrated.mappings.len(),
                migrated.config.display()
            );
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("genhook migrate: {reason}");
            ExitCode::FAILURE
        }
    }
}
