//! `genhook health [--url URL]`: asks a running server's `/healthz` and exits 0 when it answers
//! 2xx, else 1 with the reason on stderr. The container image's `HEALTHCHECK` runs it (the image
//! carries no curl).

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

/// `genhook health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The URL to ask.
    #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
    pub url: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
}

/// Asks the URL once.
pub(crate) fn run(args: &HealthArgs) -> ExitCode {
    match probe(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("genhook health: {}: {reason}", args.url);
            ExitCode::FAILURE
        }
    }
}

fn probe(args: &HealthArgs) -> Result<(), String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client.get(&args.url).send().map_err(|e| e.to_string())?;
    let status = answer.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("answered {status}"))
    }
}
