//! `genhook dlq list | show ID | replay ID | replay --all | purge`: the dead-letter queue of a
//! running server, over its admin API (`/admin/dlq…`, see [`crate::admin`]).
//!
//! `--url` (default `http://127.0.0.1:8080`) and `--token` (or `GENHOOK_ADMIN_TOKEN`) say which
//! server; `--json` prints the server's JSON instead of a table. Exit status 0 on success, 1 when
//! the server refused or could not be reached (the reason goes to stderr).

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use genhook_core::Secret;
use serde_json::Value;

/// `genhook dlq …`.
#[derive(Debug, Args)]
pub struct DlqCommand {
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
    pub action: DlqAction,
}

pub(super) fn parse_secret(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::from(text))
}

/// Which dead letters (`--source`, `--event`).
#[derive(Debug, Clone, Default, Args)]
pub struct DlqFilter {
    /// Only this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only this event type.
    #[arg(long)]
    pub event: Option<String>,
}

/// A `genhook dlq` action.
#[derive(Debug, Subcommand)]
pub enum DlqAction {
    /// List dead letters (oldest first).
    List {
        /// Which ones.
        #[command(flatten)]
        filter: DlqFilter,
        /// At most this many (the server's default is 100).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Show one dead letter in full (headers, raw body).
    Show {
        /// Its id.
        id: String,
    },
    /// Render one dead letter again with the current mappings and queue it (or all with --all).
    Replay {
        /// Its id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Replay every dead letter matching the filter.
        #[arg(long)]
        all: bool,
        /// Which ones, with --all.
        #[command(flatten)]
        filter: DlqFilter,
    },
    /// Delete the dead letters matching the filter (all of them without one).
    Purge {
        /// Which ones.
        #[command(flatten)]
        filter: DlqFilter,
    },
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum CallError {
    #[error("cannot reach {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("server answered {status}: {reason}")]
    Refused {
        status: reqwest::StatusCode,
        reason: String,
    },
}

/// Runs a `genhook dlq` command against the server; prints the answer on stdout. Exit status 1
/// when the server refused, could not be reached, or some of a `replay --all` failed.
pub fn run(cmd: DlqCommand) -> ExitCode {
    match call(&cmd) {
        Ok(answer) => {
            print_answer(&cmd, &answer);
            let some_failed = answer
                .get("failed")
                .and_then(Value::as_array)
                .is_some_and(|f| !f.is_empty());
            if some_failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("genhook dlq: {error}");
            ExitCode::FAILURE
        }
    }
}

fn query(filter: &DlqFilter, limit: Option<usize>) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(source) = &filter.source {
        pairs.push(("source", source.clone()));
    }
    if let Some(event) = &filter.event {
        pairs.push(("event", event.clone()));
    }
    if let Some(limit) = limit {
        pairs.push(("limit", limit.to_string()));
    }
    pairs
}

fn call(cmd: &DlqCommand) -> Result<Value, CallError> {
    let base = format!("{}/admin/dlq", cmd.url.trim_end_matches('/'));
    let id_path = |id: &str| format!("{base}/{}", percent_encode(id));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|source| CallError::Unreachable {
            url: cmd.url.clone(),
            source,
        })?;
    let request = match &cmd.action {
        DlqAction::List { filter, limit } => client.get(&base).query(&query(filter, *limit)),
        DlqAction::Show { id } => client.get(id_path(id)),
        DlqAction::Replay { id: Some(id), .. } => client.post(format!("{}/replay", id_path(id))),
        DlqAction::Replay {
            id: None, filter, ..
        } => client
            .post(format!("{base}/replay"))
            .query(&query(filter, None)),
        DlqAction::Purge { filter } => client.delete(&base).query(&query(filter, None)),
    };
    send(request, &cmd.url, cmd.token.as_ref())
}

/// Sends an admin API request (with the bearer token when given): the JSON answer of a
/// success, or why it failed.
pub(super) fn send(
    request: reqwest::blocking::RequestBuilder,
    url: &str,
    token: Option<&Secret>,
) -> Result<Value, CallError> {
    let request = match token {
        Some(token) => request.bearer_auth(token.expose()),
        None => request,
    };
    let response = request.send().map_err(|source| CallError::Unreachable {
        url: url.to_owned(),
        source,
    })?;
    let status = response.status();
    let body: Value = response.json().unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        let reason = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no reason given")
            .to_owned();
        Err(CallError::Refused { status, reason })
    }
}

pub(super) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub(super) fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `list` answer as a table: each column as wide as its widest cell.
fn list_table(answer: &Value) -> String {
    let empty = Vec::new();
    let letters = answer
        .get("dead_letters")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let rows: Vec<[String; 5]> = letters
        .iter()
        .map(|l| {
            let field = |name: &str| text(l.get(name).unwrap_or(&Value::Null));
            let error = match l.get("render_error") {
                Some(Value::String(e)) => format!("render: {e}"),
                _ => field("last_error"),
            };
            [
                field("id"),
                field("source"),
                field("event"),
                field("attempts"),
                error,
            ]
        })
        .collect();
    // Each column as wide as its widest cell, so long event names keep the table straight.
    let width = |column: usize, header: &str| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .chain([header.len()])
            .max()
            .unwrap_or(0)
    };
    let (id, source, event) = (width(0, "ID"), width(1, "SOURCE"), width(2, "EVENT"));
    let mut table = format!(
        "{:<id$} {:<source$} {:<event$} {:>8}  LAST ERROR\n",
        "ID", "SOURCE", "EVENT", "ATTEMPTS"
    );
    for [row_id, row_source, row_event, attempts, error] in &rows {
        table.push_str(&format!(
            "{row_id:<id$} {row_source:<source$} {row_event:<event$} {attempts:>8}  {error}\n"
        ));
    }
    table
}

#[expect(clippy::print_stdout, reason = "the command's output")]
fn print_answer(cmd: &DlqCommand, answer: &Value) {
    if cmd.json || matches!(cmd.action, DlqAction::Show { .. }) {
        println!(
            "{}",
            serde_json::to_string_pretty(answer).unwrap_or_else(|_| answer.to_string())
        );
        return;
    }
    match &cmd.action {
        DlqAction::List { .. } => {
            print!("{}", list_table(answer));
            println!(
                "{} shown, {} in the dead-letter queue",
                text(answer.get("count").unwrap_or(&Value::Null)),
                text(answer.get("total").unwrap_or(&Value::Null))
            );
        }
        DlqAction::Replay { id: Some(_), .. } => {
            println!(
                "replayed {} (queued)",
                text(answer.get("id").unwrap_or(&Value::Null))
            );
        }
        DlqAction::Replay { id: None, .. } => {
            println!(
                "replayed {}",
                text(answer.get("replayed").unwrap_or(&Value::Null))
            );
            for failed in answer
                .get("failed")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                println!(
                    "failed {}: {}",
                    text(failed.get("id").unwrap_or(&Value::Null)),
                    text(failed.get("error").unwrap_or(&Value::Null))
                );
            }
        }
        DlqAction::Purge { .. } => {
            println!(
                "purged {}",
                text(answer.get("purged").unwrap_or(&Value::Null))
            );
        }
        DlqAction::Show { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_columns_are_as_wide_as_their_widest_cell() {
        let answer = serde_json::json!({
            "dead_letters": [
                {"id": "a1", "source": "azure", "event": "Microsoft.ServiceBus.ActiveMessagesAvailableWithNoListeners", "attempts": 4, "last_error": "503"},
                {"id": "b2", "source": "github", "event": "push", "attempts": 1, "render_error": "no such field"},
            ]
        });
        let table = list_table(&answer);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        // Every row's ATTEMPTS column ends where the header's does.
        let end = lines[0].find("ATTEMPTS").map(|at| at + "ATTEMPTS".len());
        assert_eq!(lines[1].find(" 4 ").map(|at| at + 2), end, "{table}");
        assert_eq!(lines[2].find(" 1 ").map(|at| at + 2), end, "{table}");
        assert!(lines[2].ends_with("render: no such field"), "{table}");
    }
}
