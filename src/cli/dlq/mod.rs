//! `genhook dlq list | show ID | replay ID | replay --all | purge`: the dead-letter queue of a
//! running server, over its admin API (`/admin/dlq…`, see [`crate::admin`]).
//!
//! `--url` (default `http://127.0.0.1:8080`) and `--token` (or `GENHOOK_ADMIN_TOKEN`) say which
//! server ([`ServerArgs`]); `--output json` prints JSON instead of tables and lines
//! ([`OutputArg`]). `show` decodes the stored body (`show.rs`); `replay --all` goes in batches
//! and shows its progress (`replay_all.rs`); `purge` without `--source`/`--event` needs `--all`.
//!
//! Exit status: 0 on success; 1 when the server refused or could not be reached, or some of a
//! `replay --all` failed (the reason goes to stderr); 2 a `purge` that would delete every dead
//! letter without `--all`.

mod replay_all;
mod show;

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::client::{percent_encode, query, AdminClient, CallError, ServerArgs};
use super::output::{cell, Answer, Column, OutputArg, Table};

/// How many dead letters one request of `replay --all` replays, unless `--batch` says.
const BATCH: usize = 100;

/// `genhook dlq …`.
#[derive(Debug, Args)]
pub struct DlqCommand {
    /// Which server.
    #[command(flatten)]
    pub server: ServerArgs,
    /// `--output text|json`.
    #[command(flatten)]
    pub output: OutputArg,
    /// What to do.
    #[command(subcommand)]
    pub action: DlqAction,
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

impl DlqFilter {
    /// Whether it narrows anything (an empty value does not).
    fn is_empty(&self) -> bool {
        [&self.source, &self.event]
            .iter()
            .all(|value| value.as_deref().is_none_or(str::is_empty))
    }

    fn query(&self, limit: Option<usize>) -> Vec<(&'static str, String)> {
        query(&[
            ("source", self.source.clone()),
            ("event", self.event.clone()),
            ("limit", limit.map(|limit| limit.to_string())),
        ])
    }
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
    /// Show one dead letter in full: headers, and its body as JSON (as text when it is not
    /// JSON, base64 only when it is not UTF-8).
    Show {
        /// Its id.
        id: String,
    },
    /// Render one dead letter again with the current mappings and queue it (or all with --all).
    Replay {
        /// Its id.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Replay every dead letter matching the filter, in batches, showing progress on a
        /// terminal.
        #[arg(long)]
        all: bool,
        /// Which ones, with --all.
        #[command(flatten)]
        filter: DlqFilter,
        /// How many dead letters each request to the server replays, with --all (default 100).
        #[arg(long, value_name = "N", conflicts_with = "id", value_parser = clap::value_parser!(u64).range(1..))]
        batch: Option<u64>,
    },
    /// Delete the dead letters matching --source/--event, or every one with --all.
    Purge {
        /// Which ones.
        #[command(flatten)]
        filter: DlqFilter,
        /// Delete every dead letter (needed when no --source or --event narrows the purge).
        #[arg(long, conflicts_with_all = ["source", "event"])]
        all: bool,
    },
}

/// Runs a `genhook dlq` command against the server; prints the answer on stdout. Exit status 1
/// when the server refused, could not be reached, or some of a `replay --all` failed; 2 for a
/// `purge` with no filter and no `--all`.
pub fn run(cmd: DlqCommand) -> ExitCode {
    if let DlqAction::Purge { filter, all: false } = &cmd.action {
        if filter.is_empty() {
            eprintln!(
                "genhook dlq purge: this would delete every dead letter; \
                 narrow it with --source/--event, or pass --all to mean it"
            );
            return ExitCode::from(2);
        }
    }
    let result = AdminClient::new(&cmd.server).and_then(|client| act(&cmd, &client));
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("genhook dlq: {error}");
            ExitCode::FAILURE
        }
    }
}

fn act(cmd: &DlqCommand, client: &AdminClient) -> Result<ExitCode, CallError> {
    let out = cmd.output;
    match &cmd.action {
        DlqAction::List { filter, limit } => {
            let answer = client.get("/dlq", &filter.query(*limit))?;
            out.print(&Answer {
                json: &answer,
                text: list_text,
            });
        }
        DlqAction::Show { id } => {
            let answer = client.get(&format!("/dlq/{}", percent_encode(id)), &[])?;
            out.print(&show::Shown::new(answer));
        }
        DlqAction::Replay { id: Some(id), .. } => {
            let answer = client.post(&format!("/dlq/{}/replay", percent_encode(id)), &[])?;
            out.print(&Answer {
                json: &answer,
                text: |answer| format!("replayed {} (queued)", cell(answer.get("id"))),
            });
        }
        DlqAction::Replay {
            id: None,
            filter,
            batch,
            ..
        } => {
            let batch = batch.map_or(BATCH, |n| usize::try_from(n).unwrap_or(usize::MAX));
            return Ok(replay_all::run(client, &filter.query(None), batch, out));
        }
        DlqAction::Purge { filter, .. } => {
            let answer = client.delete("/dlq", &filter.query(None))?;
            out.print(&Answer {
                json: &answer,
                text: |answer| format!("purged {}", cell(answer.get("purged"))),
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `list` answer as a table, then how many are shown of how many.
fn list_text(answer: &Value) -> String {
    let mut table = Table::new(&[
        Column::left("ID"),
        Column::left("SOURCE"),
        Column::left("EVENT"),
        Column::right("ATTEMPTS"),
        Column::left("LAST ERROR"),
    ]);
    for letter in answer
        .get("dead_letters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let field = |name: &str| cell(letter.get(name));
        let error = match letter.get("render_error") {
            Some(Value::String(e)) => format!("render: {e}"),
            _ => field("last_error"),
        };
        table.row(vec![
            field("id"),
            field("source"),
            field("event"),
            field("attempts"),
            error,
        ]);
    }
    format!(
        "{}{} shown, {} in the dead-letter queue\n",
        table.render(),
        cell(answer.get("count")),
        cell(answer.get("total"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_shows_one_row_per_dead_letter_and_a_render_error_as_such() {
        let answer = serde_json::json!({
            "count": 2, "total": 7,
            "dead_letters": [
                {"id": "a1", "source": "azure", "event": "Microsoft.ServiceBus.ActiveMessagesAvailableWithNoListeners", "attempts": 4, "last_error": "503"},
                {"id": "b2", "source": "github", "event": "push", "attempts": 1, "render_error": "no such field"},
            ]
        });
        let text = list_text(&answer);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("ID  SOURCE  EVENT"), "{text}");
        assert!(lines[1].ends_with("503"), "{text}");
        assert!(lines[2].ends_with("render: no such field"), "{text}");
        assert_eq!(lines[3], "2 shown, 7 in the dead-letter queue");
    }

    #[test]
    fn an_empty_filter_narrows_nothing() {
        assert!(DlqFilter::default().is_empty());
        let blank = DlqFilter {
            source: Some(String::new()),
            event: None,
        };
        assert!(blank.is_empty());
        let github = DlqFilter {
            source: Some("github".into()),
            event: None,
        };
        assert!(!github.is_empty());
    }
}
