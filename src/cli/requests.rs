//! `genhook requests list | show ID`: the record of refused requests of a running server, over
//! its admin API (`/admin/requests…`, see [`crate::refused::api`]), in the style of `genhook dlq`:
//! `--url`, `--token` (or `GENHOOK_ADMIN_TOKEN`), `--output text|json`; exit status 1 when the
//! server refused or could not be reached.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::client::{percent_encode, query, AdminClient, ServerArgs};
use super::output::{cell, fields, time_ms, Answer, Column, OutputArg, Table};

/// `genhook requests …`.
#[derive(Debug, Args)]
pub struct RequestsCommand {
    /// Which server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// `--output text|json`.
    #[command(flatten)]
    pub output: OutputArg,
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
    let answer = AdminClient::new(&cmd.server).and_then(|client| match &cmd.action {
        RequestsAction::List {
            source,
            reason,
            limit,
        } => client.get(
            "/requests",
            &query(&[
                ("source", source.clone()),
                ("reason", reason.clone()),
                ("limit", limit.map(|limit| limit.to_string())),
            ]),
        ),
        RequestsAction::Show { id } => {
            client.get(&format!("/requests/{}", percent_encode(id)), &[])
        }
    });
    match answer {
        Ok(answer) => {
            let text = match cmd.action {
                RequestsAction::List { .. } => list_text,
                RequestsAction::Show { .. } => show_text,
            };
            cmd.output.print(&Answer {
                json: &answer,
                text,
            });
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("genhook requests: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The `list` answer as a table, then how many are shown.
fn list_text(answer: &Value) -> String {
    let mut table = Table::new(&[
        Column::left("ID"),
        Column::left("TIME"),
        Column::left("SOURCE"),
        Column::left("REASON"),
        Column::right("STATUS"),
    ]);
    for refusal in answer
        .get("requests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = |name: &str| cell(refusal.get(name));
        table.row(vec![
            field("id"),
            time_ms(refusal.get("time_ms")),
            field("source"),
            field("reason"),
            field("status"),
        ]);
    }
    format!("{}{} shown\n", table.render(), cell(answer.get("count")))
}

/// One refusal: its fields, its headers, then its payload (or why it was not kept).
fn show_text(refusal: &Value) -> String {
    let field = |name: &str| cell(refusal.get(name));
    let mut text = fields(&[
        ("id", field("id")),
        ("time", time_ms(refusal.get("time_ms"))),
        ("source", field("source")),
        ("reason", field("reason")),
        ("status", field("status")),
        ("client", field("client")),
    ]);
    text.push_str("headers:\n");
    for header in refusal
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        text.push_str(&format!(
            "  {}: {}\n",
            cell(header.get(0)),
            cell(header.get(1))
        ));
    }
    if let Some(Value::String(note)) = refusal.get("payload_note") {
        text.push_str(&format!("payload note: {note}\n"));
    }
    if let Some(Value::String(payload)) = refusal.get("payload") {
        text.push_str("payload:\n");
        text.push_str(payload);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_shows_one_row_per_request() {
        let answer = serde_json::json!({"count": 1, "requests": [
            {"id": 7, "time_ms": 0, "source": "github", "reason": "bad_signature", "status": 401}
        ]});
        let text = list_text(&answer);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].starts_with("7 "), "{text}");
        assert!(lines[1].contains("Thu, 01 Jan 1970 00:00:00 GMT"), "{text}");
        assert!(lines[1].contains("bad_signature"), "{text}");
        assert!(lines[1].ends_with("401"), "{text}");
        assert_eq!(lines[2], "1 shown");
    }

    #[test]
    fn show_has_the_fields_the_headers_and_the_payload() {
        let refusal = serde_json::json!({"id": 7, "time_ms": 0, "source": "github",
            "reason": "bad_signature", "status": 401, "client": "127.0.0.1",
            "headers": [["x-github-event", "issues"]], "payload": "{\"a\":\"<redacted>\"}"});
        let text = show_text(&refusal);
        assert!(text.starts_with("id:"), "{text}");
        assert!(text.contains("reason:  bad_signature\n"), "{text}");
        assert!(text.contains("  x-github-event: issues\n"), "{text}");
        assert!(
            text.ends_with("payload:\n{\"a\":\"<redacted>\"}\n"),
            "{text}"
        );
    }
}
