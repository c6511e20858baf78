//! The bench's results: one row per scenario, concurrency and round, then per scenario and
//! concurrency the median over the rounds, then the ratios that BENCHMARKS.md records. Ratios are
//! taken within each round and concurrency (the scenarios of one round ran back to back, under the
//! same noise) and their median is shown. The burst has a table of its own ([`burst_lines`]).

use std::time::Duration;

use crate::generator::LoadResult;

/// What one scenario measured in one round at one concurrency.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The scenario's name (`bare-hyper`, `direct`, `genhook-memory`, …, `burst-direct`, …).
    pub(crate) scenario: &'static str,
    /// Connections of the load.
    pub(crate) concurrency: usize,
    /// Which round (from 1).
    pub(crate) round: usize,
    /// The load run's figures.
    pub(crate) load: LoadResult,
    /// Alerts delivered to the SL1 mock with the expected message, and from the first request
    /// sent to the last alert received; `None` where nothing is delivered.
    pub(crate) delivered: Option<(usize, Option<Duration>)>,
    /// What went wrong (non-202 answers, connection errors, alerts missing or wrong).
    pub(crate) problems: Vec<String>,
    /// What is worth knowing but not a failure (back-pressure answers in the full run).
    pub(crate) notes: Vec<String>,
}

impl Row {
    /// Delivered alerts per second, from the first request to the last alert (the drain after
    /// the load stopped included).
    pub(crate) fn delivered_rate(&self) -> Option<f64> {
        let (count, Some(time)) = self.delivered? else {
            return None;
        };
        (time.as_secs_f64() > 0.0).then(|| count as f64 / time.as_secs_f64())
    }

    /// Accepted (`202`) requests per second over the send window (first request to last answer).
    pub(crate) fn accept_rate(&self) -> f64 {
        let secs = self.load.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.load.status(202) as f64 / secs
        } else {
            0.0
        }
    }
}

/// `value` with `digits` decimals, or `-`.
fn show(value: Option<f64>, digits: usize) -> String {
    value.map_or("-".to_owned(), |v| format!("{v:.digits$}"))
}

/// A latency in milliseconds, or `-`.
fn ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1e3)
}

/// The table's header.
pub(crate) fn header() -> String {
    format!(
        "{:<28} {:>4} {:>5} {:>7} {:>7} {:>6} {:>6} {:>8} {:>8} {:>8} {:>7} {:>8}",
        "scenario",
        "conn",
        "round",
        "sent",
        "202",
        "503 %",
        "other",
        "req/s",
        "p50 ms",
        "p99 ms",
        "e2e s",
        "deliv/s"
    )
}

/// One row of the table, with its notes and problems.
pub(crate) fn line(row: &Row) -> String {
    let load = &row.load;
    let other = load.answered() - load.status(202) - load.status(503) + load.errors;
    let e2e = row
        .delivered
        .and_then(|(_, time)| time)
        .map(|t| t.as_secs_f64());
    let mut text = format!(
        "{:<28} {:>4} {:>5} {:>7} {:>7} {:>6.1} {:>6} {:>8.0} {:>8} {:>8} {:>7} {:>8}",
        row.scenario,
        row.concurrency,
        row.round,
        load.answered() + load.errors,
        load.status(202),
        load.refused_share() * 100.0,
        other,
        load.throughput(),
        show(ms(load.percentile(50)), 2),
        show(ms(load.percentile(99)), 2),
        show(e2e, 2),
        show(row.delivered_rate(), 0),
    );
    notes_and_problems(row, &mut text);
    text
}

fn notes_and_problems(row: &Row, text: &mut String) {
    for note in &row.notes {
        text.push_str("\n    NOTE: ");
        text.push_str(note);
    }
    for problem in &row.problems {
        text.push_str("\n    PROBLEM: ");
        text.push_str(problem);
    }
}

/// The median of some figures (the mean of the middle two for an even count).
pub(crate) fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let upper = values.get(n / 2).copied()?;
    if n % 2 == 1 {
        Some(upper)
    } else {
        values.get(n / 2 - 1).map(|lower| (lower + upper) / 2.0)
    }
}

/// Per scenario and concurrency, the median over rounds of throughput, p50, p99, 503 share and
/// delivered/s.
pub(crate) fn summary(
    rows: &[Row],
    scenarios: &[&'static str],
    concurrencies: &[usize],
) -> Vec<String> {
    let mut out = vec![format!(
        "{:<28} {:>4} {:>6} {:>8} {:>8} {:>8} {:>6} {:>8}",
        "median of", "conn", "rounds", "req/s", "p50 ms", "p99 ms", "503 %", "deliv/s"
    )];
    for &concurrency in concurrencies {
        for scenario in scenarios {
            let of: Vec<&Row> = rows
                .iter()
                .filter(|r| r.scenario == *scenario && r.concurrency == concurrency)
                .collect();
            if of.is_empty() {
                continue;
            }
            let pick =
                |f: &dyn Fn(&Row) -> Option<f64>| median(of.iter().filter_map(|r| f(r)).collect());
            out.push(format!(
                "{:<28} {:>4} {:>6} {:>8} {:>8} {:>8} {:>6} {:>8}",
                scenario,
                concurrency,
                of.len(),
                show(pick(&|r: &Row| Some(r.load.throughput())), 0),
                show(pick(&|r: &Row| ms(r.load.percentile(50))), 2),
                show(pick(&|r: &Row| ms(r.load.percentile(99))), 2),
                show(pick(&|r: &Row| Some(r.load.refused_share() * 100.0)), 1),
                show(pick(&|r: &Row| r.delivered_rate()), 0),
            ));
        }
    }
    out
}

/// Per round (at one concurrency), `figure(numerator) / figure(denominator)`; the median over
/// the rounds where both ran, and how many those were.
pub(crate) fn median_ratio(
    rows: &[Row],
    numerator: &str,
    denominator: &str,
    concurrency: usize,
    figure: &dyn Fn(&Row) -> Option<f64>,
) -> Option<(f64, usize)> {
    let rounds = rows.iter().map(|r| r.round).max().unwrap_or(0);
    let ratios: Vec<f64> = (1..=rounds)
        .filter_map(|round| {
            let find = |name: &str| {
                rows.iter().find(|r| {
                    r.round == round && r.concurrency == concurrency && r.scenario == name
                })
            };
            let (a, b) = (figure(find(numerator)?)?, figure(find(denominator)?)?);
            (b > 0.0).then_some(a / b)
        })
        .collect();
    let n = ratios.len();
    median(ratios).map(|ratio| (ratio, n))
}

/// `numerator / denominator` of throughput and of p50 latency at one concurrency.
pub(crate) fn ratio(
    rows: &[Row],
    numerator: &str,
    denominator: &str,
    concurrency: usize,
) -> Option<String> {
    let (throughput, n) = median_ratio(rows, numerator, denominator, concurrency, &|r| {
        Some(r.load.throughput())
    })?;
    let latency = median_ratio(rows, numerator, denominator, concurrency, &|r| {
        ms(r.load.percentile(50))
    });
    Some(format!(
        "{:<48} {concurrency:>4} conn   req/s x{throughput:.2}   p50 x{}   ({n} round{})",
        format!("{numerator} / {denominator}"),
        show(latency.map(|(v, _)| v), 2),
        if n == 1 { "" } else { "s" }
    ))
}

/// `numerator / denominator` of delivered alerts per second at one concurrency.
pub(crate) fn delivered_ratio(
    rows: &[Row],
    numerator: &str,
    denominator: &str,
    concurrency: usize,
) -> Option<(f64, String)> {
    let (ratio, n) = median_ratio(rows, numerator, denominator, concurrency, &|r| {
        r.delivered_rate()
    })?;
    let text = format!(
        "{:<48} {concurrency:>4} conn   delivered/s x{ratio:.2}   ({n} round{})",
        format!("{numerator} / {denominator}"),
        if n == 1 { "" } else { "s" }
    );
    Some((ratio, text))
}

/// The burst's table: accepted, refused, accept rate, time until all delivered, delivery rate;
/// then GenHook's figures over the direct program's.
pub(crate) fn burst_lines(rows: &[Row], genhook: &str, direct: &str) -> Vec<String> {
    let mut out = vec![format!(
        "{:<28} {:>4} {:>5} {:>7} {:>8} {:>8} {:>6} {:>9} {:>8} {:>8}",
        "burst",
        "conn",
        "round",
        "sent",
        "accepted",
        "refused",
        "other",
        "accept/s",
        "e2e s",
        "deliv/s"
    )];
    for row in rows {
        let load = &row.load;
        let e2e = row
            .delivered
            .and_then(|(_, time)| time)
            .map(|t| t.as_secs_f64());
        let mut text = format!(
            "{:<28} {:>4} {:>5} {:>7} {:>8} {:>8} {:>6} {:>9.0} {:>8} {:>8}",
            row.scenario,
            row.concurrency,
            row.round,
            load.answered() + load.errors,
            load.status(202),
            load.status(503),
            load.answered() - load.status(202) - load.status(503) + load.errors,
            row.accept_rate(),
            show(e2e, 2),
            show(row.delivered_rate(), 0),
        );
        notes_and_problems(row, &mut text);
        out.push(text);
    }
    if let Some(concurrency) = rows.first().map(|r| r.concurrency) {
        let accept = median_ratio(rows, genhook, direct, concurrency, &|r| {
            Some(r.accept_rate())
        });
        let deliver = median_ratio(rows, genhook, direct, concurrency, &|r| r.delivered_rate());
        if let (Some((accept, n)), Some((deliver, _))) = (accept, deliver) {
            out.push(format!(
                "{:<48} {concurrency:>4} conn   accepted/s x{accept:.2}   delivered/s x{deliver:.2}   ({n} round{})",
                format!("{genhook} / {direct}"),
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    out
}
