//! `genhook sl1 policy create --source NAME [--token T] --severity N [--dry-run]`: creates the
//! SL1 event policy of a source through SL1's GraphQL API (see [`crate::policy`]), with the
//! configuration's `sl1_graphql_url` (or `sl1_api_url`'s `/gql`) and SL1 credentials.
//!
//! `--dry-run` prints the exact HTTP request (credentials not shown) and sends nothing. Exit
//! status: 0 created (the policy id on stdout) or dry run; 1 SL1 could not be reached, answered
//! an error or refused the policy; 2 the request itself is wrong (bad severity, unknown
//! source, messages with nothing to match, a bad configuration or mapping).
//!
//! With `--output json`: `{"id", "name"}` once created; for a dry run `{"dry_run": true,
//! "name", "request": {"method", "url", "headers", "body"}}`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::output::{OutputArg, Report};
use super::print_problems;
use crate::app::Validation;
use crate::config::Config;
use crate::policy::{PolicyRequest, Prepared};

/// `genhook sl1 …`.
#[derive(Debug, Args)]
pub struct Sl1Command {
    /// What to do.
    #[command(subcommand)]
    pub action: Sl1Action,
}

/// A `genhook sl1` action.
#[derive(Debug, Subcommand)]
pub enum Sl1Action {
    /// SL1 event policies.
    #[command(subcommand)]
    Policy(PolicyAction),
}

/// A `genhook sl1 policy` action.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Create the event policy GENHOOK_<source> that turns the source's alerts into events.
    Create(CreateArgs),
}

/// `genhook sl1 policy create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The source (as served at /webhook/<source>).
    #[arg(long)]
    pub source: String,
    /// The token its messages carry, when they carry several (`service|token|` prefixes).
    #[arg(long)]
    pub token: Option<String>,
    /// The events' severity: 0 healthy, 1 notice, 2 minor, 3 major, 4 critical.
    #[arg(long, allow_negative_numbers = true)]
    pub severity: i64,
    /// Print the exact request (credentials not shown) and send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The configuration file (default: ./genhook.ini if present, else built-in defaults).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// `--output text|json`.
    #[command(flatten)]
    pub output: OutputArg,
}

/// Runs `genhook sl1 …`.
pub(super) fn run(command: Sl1Command) -> ExitCode {
    match command.action {
        Sl1Action::Policy(PolicyAction::Create(args)) => create(&args),
    }
}

fn create(args: &CreateArgs) -> ExitCode {
    let config = match Config::load(args.config.as_deref(), &crate::config::env::lookup) {
        Ok(config) => config,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::from(2);
        }
    };
    let loaded = match Validation::loader(args.config.as_deref())
        .and_then(|loader| loader.load_mappings())
    {
        Ok(loaded) => loaded,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::from(2);
        }
    };
    let request = PolicyRequest {
        source: args.source.clone(),
        token: args.token.clone(),
        severity: args.severity,
        dry_run: args.dry_run,
    };
    let sources: Vec<&genhook_mapping::CompiledSource> = loaded
        .mappings
        .sources()
        .filter(|source| source.name() == args.source)
        .map(|source| &**source)
        .collect();
    let prepared = match Prepared::new(&config, &sources, &request) {
        Ok(prepared) => prepared,
        Err(error) => return fail(&error.to_string(), 2),
    };
    if args.dry_run {
        args.output.print(&Outcome::DryRun(&prepared));
        eprintln!(
            "genhook sl1 policy create: dry run, nothing sent; the mutation reads:\n{}",
            prepared.policy.mutation()
        );
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the runtime: {error}"), 1),
    };
    match runtime.block_on(prepared.send(&config)) {
        Ok(id) => {
            args.output.print(&Outcome::Created {
                id: &id,
                name: &prepared.policy.name,
            });
            eprintln!(
                "genhook sl1 policy create: created event policy {} (id {id})",
                prepared.policy.name
            );
            ExitCode::SUCCESS
        }
        Err(error) => fail(
            &error.to_string(),
            if error.is_request_error() { 2 } else { 1 },
        ),
    }
}

fn fail(reason: &str, code: u8) -> ExitCode {
    eprintln!("genhook sl1 policy create: {reason}");
    ExitCode::from(code)
}

/// What `policy create` printed: the request it would send, or the policy it created.
enum Outcome<'a> {
    /// `--dry-run`.
    DryRun(&'a Prepared),
    /// Created, with this id.
    Created { id: &'a str, name: &'a str },
}

impl Report for Outcome<'_> {
    fn json(&self) -> Value {
        match self {
            Self::DryRun(prepared) => json!({
                "dry_run": true,
                "name": prepared.policy.name,
                "request": prepared.preview(),
            }),
            Self::Created { id, name } => json!({"id": id, "name": name}),
        }
    }

    fn text(&self) -> String {
        match self {
            Self::DryRun(prepared) => prepared.preview_text(),
            Self::Created { id, .. } => (*id).to_owned(),
        }
    }
}
