//! How every command prints what it found, one abstraction for all of them: `--output text`
//! (the default, for people: lines and tables) or `--output json` (exactly one JSON document on
//! stdout, for scripts). A command builds a [`Report`] (both forms of its answer) and hands it
//! to [`OutputArg::print`]; lists become a [`Table`]. Errors are not reports: they go to stderr
//! as text in either form, and the exit status says what happened.

use std::fmt;

use serde_json::Value;

/// The form of a command's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines and tables, for people.
    #[default]
    Text,
    /// One JSON document on stdout, for scripts.
    Json,
}

/// `--output text|json` (and the older `--json`, the same as `--output json`).
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct OutputArg {
    /// How to print the answer: text for people, json (one JSON document on stdout) for scripts.
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    pub output: Format,
    /// The same as --output json.
    #[arg(long, hide = true, global = true)]
    pub json: bool,
}

impl OutputArg {
    /// The form asked for.
    pub fn format(self) -> Format {
        if self.json {
            Format::Json
        } else {
            self.output
        }
    }

    /// Prints `report` on stdout in the form asked for.
    #[expect(clippy::print_stdout, reason = "the command's output")]
    pub fn print(self, report: &dyn Report) {
        match self.format() {
            Format::Json => {
                let json = report.json();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string())
                );
            }
            Format::Text => print!("{}", with_newline(report.text())),
        }
    }
}

fn with_newline(mut text: String) -> String {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A command's answer, in both forms.
pub trait Report {
    /// For scripts: one JSON document.
    fn json(&self) -> Value;
    /// For people: lines (and tables), newline-terminated or not.
    fn text(&self) -> String;
}

/// A server's JSON answer printed as it is with `--output json`, and as `text` says otherwise.
pub struct Answer<'a, F: Fn(&Value) -> String> {
    /// The server's answer.
    pub json: &'a Value,
    /// Its text form.
    pub text: F,
}

impl<F: Fn(&Value) -> String> fmt::Debug for Answer<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("json", self.json)
            .finish_non_exhaustive()
    }
}

impl<F: Fn(&Value) -> String> Report for Answer<'_, F> {
    fn json(&self) -> Value {
        self.json.clone()
    }

    fn text(&self) -> String {
        (self.text)(self.json)
    }
}

/// One cell's text: a string as it is, `null` or absent as `-`, anything else as JSON.
pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A time in Unix milliseconds as an HTTP date (`Tue, 01 Dec 2026 10:00:00 GMT`), or `-`.
pub fn time_ms(value: Option<&Value>) -> String {
    value
        .and_then(Value::as_u64)
        .map(|ms| {
            httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
        })
        .unwrap_or_else(|| "-".into())
}

/// A problem of a file, for scripts: `{"file", "line", "severity", "message"}`.
pub fn diagnostic(problem: &genhook_core::Diagnostic) -> Value {
    serde_json::json!({
        "file": problem.span.file.display().to_string(),
        "line": problem.span.line,
        "severity": match problem.severity {
            genhook_core::Severity::Error => "error",
            genhook_core::Severity::Warning => "warning",
        },
        "message": problem.message,
    })
}

/// A column of a [`Table`]: its header and which side its cells keep to.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    header: &'static str,
    right: bool,
}

impl Column {
    /// Text, aligned left.
    pub const fn left(header: &'static str) -> Self {
        Self {
            header,
            right: false,
        }
    }

    /// Numbers, aligned right.
    pub const fn right(header: &'static str) -> Self {
        Self {
            header,
            right: true,
        }
    }
}

/// A list as a text table: a header line, then one line per row, each column as wide as its
/// widest cell, two spaces between columns, no trailing spaces.
#[derive(Debug)]
pub struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[Column]) -> Self {
        Self {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty, extra ones dropped).
    pub fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.columns.len(), String::new());
        self.rows.push(cells);
    }

    /// The table's text, newline-terminated.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(at, column)| {
                self.rows
                    .iter()
                    .map(|row| row[at].chars().count())
                    .chain([column.header.len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let headers: Vec<String> = self.columns.iter().map(|c| c.header.to_owned()).collect();
        let mut text = String::new();
        for cells in std::iter::once(&headers).chain(&self.rows) {
            let mut line = String::new();
            for ((cell, column), width) in cells.iter().zip(&self.columns).zip(&widths) {
                if !line.is_empty() {
                    line.push_str("  ");
                }
                let pad = width.saturating_sub(cell.chars().count());
                if column.right {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            text.push_str(line.trim_end());
            text.push('\n');
        }
        text
    }
}

/// `name: value` lines, names padded to the longest (for `show` commands).
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for (name, value) in pairs {
        text.push_str(&format!(
            "{:<width$}  {value}\n",
            format!("{name}:"),
            width = width + 1
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_and_numbers_keep_right() {
        let mut table = Table::new(&[
            Column::left("ID"),
            Column::left("EVENT"),
            Column::right("ATTEMPTS"),
            Column::left("LAST ERROR"),
        ]);
        table.row(vec![
            "a1".into(),
            "Microsoft.ServiceBus.ActiveMessagesAvailableWithNoListeners".into(),
            "4".into(),
            "503".into(),
        ]);
        table.row(vec!["b2".into(), "push".into(), "12".into(), String::new()]);
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let end = lines[0].find("ATTEMPTS").map(|at| at + "ATTEMPTS".len());
        assert_eq!(lines[1].find("  4  ").map(|at| at + 3), end, "{text}");
        assert_eq!(lines[2].find(" 12").map(|at| at + 3), end, "{text}");
        assert!(lines[1].ends_with("503"), "{text}");
        assert!(lines[2].ends_with("12"), "no trailing spaces: {text:?}");
        assert_eq!(lines[0].find("EVENT"), lines[1].find("Microsoft"), "{text}");
    }

    #[test]
    fn a_cell_of_null_is_a_dash_and_strings_have_no_quotes() {
        assert_eq!(cell(None), "-");
        assert_eq!(cell(Some(&Value::Null)), "-");
        assert_eq!(cell(Some(&serde_json::json!("x"))), "x");
        assert_eq!(cell(Some(&serde_json::json!(4))), "4");
    }

    #[test]
    fn json_wins_over_the_default_text() {
        let arg = OutputArg {
            output: Format::Text,
            json: true,
        };
        assert_eq!(arg.format(), Format::Json);
        assert_eq!(OutputArg::default().format(), Format::Text);
    }
}
