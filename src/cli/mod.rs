//! The command line: `genhook serve | check | render | dlq | requests | migrate | sl1 | mappings |
//! health`, one file per subcommand.
//!
//! What they share: [`output`], the `--output text|json` every command that prints data takes
//! (one [`output::Report`] per answer, [`output::Table`] for lists), and [`client`], the admin
//! API client of `dlq` and `requests`.

mod check;
pub mod client;
pub mod dlq;
mod health;
mod mappings;
mod migrate;
pub mod output;
mod render;
pub mod requests;
mod serve;
pub mod sl1;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// GenHook: verifies provider webhooks, renders each into one line with a mapping file and
/// delivers it to ScienceLogic SL1 as an alert.
#[derive(Debug, Parser)]
#[command(name = "genhook", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the receiver.
    Serve(ConfigArg),
    /// Validate the configuration and every mapping; print FILE:LINE: message for each problem.
    Check(check::CheckArgs),
    /// Offline: identify, extract and render one payload; print the SL1 message.
    Render(render::RenderArgs),
    /// Inspect and replay the dead-letter queue of a running server.
    Dlq(dlq::DlqCommand),
    /// List and show the refused requests a running server recorded.
    Requests(requests::RequestsCommand),
    /// Write a genhook.ini and mappings/ from the Python predecessor's config directory.
    Migrate(migrate::MigrateArgs),
    /// SL1 itself: create a source's event policy through SL1's GraphQL API.
    Sl1(sl1::Sl1Command),
    /// The default mappings built into the binary: export them to edit.
    Mappings(mappings::MappingsCommand),
    /// Ask a running server's /healthz; exit 0 when healthy (the container HEALTHCHECK).
    Health(health::HealthArgs),
}

/// `--config FILE`.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// The configuration file (default: ./genhook.ini if present, else built-in defaults).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Render(args) => render::run(&args),
        Command::Dlq(command) => dlq::run(command),
        Command::Requests(command) => requests::run(&command),
        Command::Migrate(args) => migrate::run(&args),
        Command::Sl1(command) => sl1::run(command),
        Command::Mappings(command) => mappings::run(&command),
        Command::Health(args) => health::run(&args),
    }
}

/// Prints problems to stderr, one per line.
fn print_problems(problems: &[genhook_mapping::Diagnostic]) {
    for problem in problems {
        eprintln!("{problem}");
    }
}
