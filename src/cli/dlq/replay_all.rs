//! `genhook dlq replay --all`: every dead letter matching the filter, in batches of `--batch`
//! through the admin API's `POST /admin/dlq/replay?limit=`, so a long replay shows its progress
//! ("replayed N…" on stderr, only when stderr is a terminal). A summary follows either way,
//! also when the server stops answering part way (what was replayed until then, then why).
//!
//! A dead letter that fails to replay goes back to the end of the dead-letter queue, so a
//! later batch may meet it again: the replay ends when a batch comes back short (nothing left)
//! or brings nothing new (only dead letters that failed already).

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;

use serde_json::{json, Value};

use crate::cli::client::{AdminClient, CallError};
use crate::cli::output::{cell, Column, OutputArg, Report, Table};

/// What a `replay --all` did.
#[derive(Debug, Default)]
pub(super) struct Summary {
    /// The ids replayed (queued again).
    replayed: Vec<String>,
    /// The ids that failed (still dead letters) and the last reason for each.
    failed: Vec<(String, String)>,
    /// How many requests it took.
    batches: usize,
}

impl Summary {
    /// Adds a batch's answer (`{"replayed", "ids", "failed": [{"id", "error"}]}`): whether it
    /// brought anything new, and how many dead letters it went through.
    fn add(&mut self, answer: &Value) -> (bool, usize) {
        self.batches += 1;
        let ids: Vec<String> = answer
            .get("ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|id| cell(Some(id)))
            .collect();
        let replayed = answer
            .get("replayed")
            .and_then(Value::as_u64)
            .map_or(ids.len(), |n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut new = replayed > 0;
        let mut seen = replayed;
        for failure in answer
            .get("failed")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            seen += 1;
            let id = cell(failure.get("id"));
            let error = cell(failure.get("error"));
            match self.failed.iter_mut().find(|(known, _)| *known == id) {
                Some(known) => known.1 = error,
                None => {
                    new = true;
                    self.failed.push((id, error));
                }
            }
        }
        // Failed earlier but replayed now (a mapping fixed meanwhile): no longer a failure.
        self.failed.retain(|(id, _)| !ids.contains(id));
        self.replayed.extend(ids);
        (new, seen)
    }

    /// How many were replayed.
    fn count(&self) -> usize {
        self.replayed.len()
    }
}

impl Report for Summary {
    fn json(&self) -> Value {
        json!({
            "replayed": self.count(),
            "ids": self.replayed,
            "failed": self.failed.iter().map(|(id, error)| json!({"id": id, "error": error})).collect::<Vec<_>>(),
            "batches": self.batches,
        })
    }

    fn text(&self) -> String {
        let mut text = format!(
            "replayed {}, {} failed ({} batch(es))\n",
            self.count(),
            self.failed.len(),
            self.batches
        );
        if !self.failed.is_empty() {
            let mut table = Table::new(&[Column::left("FAILED ID"), Column::left("ERROR")]);
            for (id, error) in &self.failed {
                table.row(vec![id.clone(), error.clone()]);
            }
            text.push_str(&table.render());
        }
        text
    }
}

/// Replays the dead letters `filter` (`source`, `event` query pairs) matches, in batches of
/// `batch`, until nothing is left; what was done, and the error that stopped it early if one
/// did.
pub(super) fn replay(
    client: &AdminClient,
    filter: &[(&'static str, String)],
    batch: usize,
    mut progress: impl FnMut(&Summary),
) -> (Summary, Option<CallError>) {
    let mut summary = Summary::default();
    let mut query = filter.to_vec();
    query.push(("limit", batch.to_string()));
    loop {
        let answer = match client.post("/dlq/replay", &query) {
            Ok(answer) => answer,
            Err(error) => return (summary, Some(error)),
        };
        let (new, seen) = summary.add(&answer);
        progress(&summary);
        if seen < batch || !new {
            return (summary, None);
        }
    }
}

/// Runs `replay --all`: progress on a terminal, then the summary; exit 1 when some failed or
/// the server stopped answering.
pub(super) fn run(
    client: &AdminClient,
    filter: &[(&'static str, String)],
    batch: usize,
    out: OutputArg,
) -> ExitCode {
    let terminal = std::io::stderr().is_terminal();
    let (summary, error) = replay(client, filter, batch, |so_far| {
        if terminal {
            show_progress(so_far);
        }
    });
    if terminal {
        eprintln!();
    }
    out.print(&summary);
    let failed = !summary.failed.is_empty();
    if let Some(error) = error {
        eprintln!("genhook dlq: replay stopped: {error}");
        return ExitCode::FAILURE;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Rewrites the progress line on stderr.
fn show_progress(so_far: &Summary) {
    let mut stderr = std::io::stderr().lock();
    let failed = match so_far.failed.len() {
        0 => String::new(),
        n => format!(" ({n} failed)"),
    };
    // The progress line is a courtesy: a stderr that cannot be written is no reason to stop.
    let _ = write!(stderr, "\rreplayed {}…{failed}", so_far.count());
    let _ = stderr.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_of_only_known_failures_brings_nothing_new() {
        let mut summary = Summary::default();
        let first =
            json!({"replayed": 1, "ids": ["a"], "failed": [{"id": "b", "error": "no mapping"}]});
        assert_eq!(summary.add(&first), (true, 2));
        let again =
            json!({"replayed": 0, "ids": [], "failed": [{"id": "b", "error": "still no mapping"}]});
        assert_eq!(summary.add(&again), (false, 1));
        assert_eq!(
            summary.failed,
            [("b".to_owned(), "still no mapping".to_owned())]
        );
        let fixed = json!({"replayed": 1, "ids": ["b"], "failed": []});
        assert_eq!(summary.add(&fixed), (true, 1));
        assert!(summary.failed.is_empty());
        assert_eq!(summary.count(), 2);
        assert_eq!(summary.json()["batches"], 3);
    }

    #[test]
    fn the_text_summary_counts_and_lists_the_failures() {
        let mut summary = Summary::default();
        summary.add(&json!({"replayed": 2, "ids": ["a", "c"], "failed": [{"id": "b", "error": "render failed"}]}));
        let text = summary.text();
        assert!(
            text.starts_with("replayed 2, 1 failed (1 batch(es))\n"),
            "{text}"
        );
        assert!(
            text.contains("FAILED ID  ERROR\nb          render failed\n"),
            "{text}"
        );
    }
}
