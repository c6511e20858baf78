//! `genhook migrate FROM_DIR TO_DIR`: the Python predecessor's configuration directory (its
//! `app-config.ini` and `webhook-config.ini`) into a `genhook.ini` and a `mappings/` directory
//! that `genhook check` accepts and that deliver the same messages. With `--output json`:
//! `{"config", "mappings": [path…], "notices": [{"file", "line", "severity", "message"}]}`.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{json, Value};

use super::output::{diagnostic, OutputArg, Report};
use crate::config::Migrated;

/// `genhook migrate FROM_DIR TO_DIR`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The predecessor's configuration directory (e.g. backend/config).
    #[arg(value_name = "FROM_DIR")]
    pub from: PathBuf,
    /// Where to write genhook.ini and mappings/ (created if missing).
    #[arg(value_name = "TO_DIR")]
    pub to: PathBuf,
    /// `--output text|json`.
    #[command(flatten)]
    pub output: OutputArg,
}

/// Runs the migration; prints what each of the predecessor's settings became.
pub(crate) fn run(args: &MigrateArgs) -> ExitCode {
    match crate::config::migrate(&args.from, &args.to) {
        Ok(migrated) => {
            args.output.print(&Done(&migrated));
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("genhook migrate: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// What a migration wrote.
struct Done<'a>(&'a Migrated);

impl Report for Done<'_> {
    fn json(&self) -> Value {
        json!({
            "config": self.0.config.display().to_string(),
            "mappings": self.0.mappings.iter().map(|m| m.display().to_string()).collect::<Vec<_>>(),
            "notices": self.0.notices.iter().map(diagnostic).collect::<Vec<_>>(),
        })
    }

    fn text(&self) -> String {
        let mut text: String = self.0.notices.iter().map(|n| format!("{n}\n")).collect();
        text.push_str(&format!(
            "wrote {} and {} mapping file(s); check them with: genhook check --config {}\n",
            self.0.config.display(),
            self.0.mappings.len(),
            self.0.config.display()
        ));
        text
    }
}
