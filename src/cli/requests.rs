//! `genhook requests list | show ID`: the record of refused requests of a running server, over
//! its admin API (`/admin/requests…`, see [`crate::refused::api`]), in the style of `genhook dlq`:
//! `--url`, `--token` (or `GENHOOK_ADMIN_TOKEN`), `--json`; exit status 1 when the server refused
//! or could not be reached.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use genhook_core::Secret;
use serde_json::Value;

use super::dlq::{parse_secret, percent_encode, send, text, CallError};

/// `genhook requests …`.
#[derive(Debug, Args)]
pub struct RequestsCommand {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
    /// The admin token (prefer the GENHOOK_ADMIN_TOKEN environment variable).
    #[arg(long, env = "GENHOOK_ADMIN_TOKEN", hide_env_values = true, value_parser = parse_secret, global = true)]
    pub token: Option<Secret>,
    /// Print the server's JSON answer instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub action: RequestsAction,
}

/// A `genhook requests` action.
#[derive(Debug, Subcommand)]
pub enum RequestsAction {
    /// List refused requests (newest first).
    List {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Only this reason (e.g. bad_signature, unknown_source, ignored, too_large).
        #[arg(long)]
        reason: Option<String>,
        /// At most this many (the server's default is 100).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show one refused request in full (headers and payload, secrets masked).
    Show {
        /// Its id.
        id: String,
    },
}

/// Runs a `genhook requests` command against the server; prints the answer on stdout.
pub fn run(cmd: &RequestsCommand) -> ExitCode {
    match call(cmd) {
        Ok(answer) => {
            print_answer(cmd, &answer);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("genhook requests: {error}");
            ExitCode::FAILURE
        }
    }
}

fn call(cmd: &RequestsCommand) -> Result<Value, CallError> {
    let base = format!("{}/admin/requests", cmd.url.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|source| CallError::Unreachable {
            url: cmd.url.clone(),
            source,
        })?;
    let request = match &cmd.action {
        RequestsAction::List {
            source,
            reason,
            limit,
        } => {
            let mut pairs = Vec::new();
            if let Some(source) = source {
                pairs.push(("source", source.clone()));
            }
            if let Some(reason) = reason {
                pairs.push(("reason", reason.clone()));
            }
            if let Some(limit) = limit {
                pairs.push(("limit", limit.to_string()));
            }
            client.get(&base).query(&pairs)
        }
        RequestsAction::Show { id } => client.get(format!("{base}/{}", percent_encode(id))),
    };
    send(request, &cmd.url, cmd.token.as_ref())
}

/// The `list` answer as a table.
fn list_table(answer: &Value) -> String {
    let empty = Vec::new();
    let requests = answer
        .get("requests")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let rows: Vec<[String; 5]> = requests
        .iter()
        .map(|r| {
            let field = |name: &str| text(r.get(name).unwrap_or(&Value::Null));
            let time = r
                .get("time_ms")
                .and_then(Value::as_u64)
                .map(|ms| {
                    httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_millis(ms))
                })
                .unwrap_or_else(|| "-".into());
            [
                field("id"),
                time,
                field("source"),
                field("reason"),
                field("status"),
            ]
        })
        .collect();
    let width = |column: usize, header: &str| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .chain([header.len()])
            .max()
            .unwrap_or(0)
    };
    let (id, time, source, reason) = (
        width(0, "ID"),
        width(1, "TIME"),
        width(2, "SOURCE"),
        width(3, "REASON"),
    );
    let mut table = format!(
        "{:<id$} {:<time$} {:<source$} {:<reason$} STATUS\n",
        "ID", "TIME", "SOURCE", "REASON"
    );
    for [r_id, r_time, r_source, r_reason, status] in &rows {
        table.push_str(&format!(
            "{r_id:<id$} {r_time:<time$} {r_source:<source$} {r_reason:<reason$} {status}\n"
        ));
    }
    table
}

#[expect(clippy::print_stdout, reason = "the command's output")]
fn print_answer(cmd: &RequestsCommand, answer: &Value) {
    match &cmd.action {
        RequestsAction::List { .. } if !cmd.json => {
            print!("{}", list_table(answer));
            println!(
                "{} shown",
                text(answer.get("count").unwrap_or(&Value::Null))
            );
        }
        _ => println!(
            "{}",
            serde_json::to_string_pretty(answer).unwrap_or_else(|_| answer.to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_shows_one_row_per_request() {
        let answer = serde_json::json!({"count": 1, "requests": [
            {"id": 7, "time_ms": 0, "source": "github", "reason": "bad_signature", "status": 401}
        ]});
        let table = list_table(&answer);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 2, "{table}");
        assert!(lines[1].starts_with("7 "), "{table}");
        assert!(lines[1].contains("bad_signature"), "{table}");
        assert!(lines[1].ends_with("401"), "{table}");
    }
}
