//! The bench's results: one row per scenario and round, then per scenario the median over the
//! rounds, then the ratios that BENCHMARKS.md records. Ratios are taken within each round (the
//! scenarios of one round ran back to back, under the same noise) and their median is shown.

use std::time::Duration;

use crate::generator::LoadResult;

/// What one scenario measured in one round.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The scenario's name (`bare-hyper`, `genhook-memory`, `genhook-disk`, `fastapi`).
    pub(crate) scenario: &'static str,
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
    /// Delivered alerts per second, end to end.
    fn e2e_rate(&self) -> Option<f64> {
        let (count, Some(time)) = self.delivered? else {
            return None;
        };
        (time.as_secs_f64() > 0.0).then(|| count as f64 / time.as_secs_f64())
    }
}

/// The table's header.
pub(crate) fn header() -> String {
    format!(
        "{:<15} {:>5} {:>7} {:>7} {:>6} {:>9} {:>8} {:>8} {:>8} {:>10}",
        "scenario",
        "round",
        "sent",
        "202",
        "other",
        "req/s",
        "p50 ms",
        "p99 ms",
        "e2e s",
        "e2e al/s"
    )
}

/// One row of the table.
pub(crate) fn line(row: &Row) -> String {
    let load = &row.load;
    let other = load.answered() - load.status(202) + load.errors;
    let ms =
        |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{:.2}", d.as_secs_f64() * 1e3));
    let e2e = row
        .delivered
        .and_then(|(_, time)| time)
        .map_or("-".to_owned(), |t| format!("{:.2}", t.as_secs_f64()));
    let rate = row.e2e_rate().map_or("-".to_owned(), |r| format!("{r:.0}"));
    let mut text = format!(
        "{:<15} {:>5} {:>7} {:>7} {:>6} {:>9.0} {:>8} {:>8} {:>8} {:>10}",
        row.scenario,
        row.round,
        load.answered() + load.errors,
        load.status(202),
        other,
        load.throughput(),
        ms(load.percentile(50)),
        ms(load.percentile(99)),
        e2e,
        rate,
    );
    for note in &row.notes {
        text.push_str("\n    NOTE: ");
        text.push_str(note);
    }
    for problem in &row.problems {
        text.push_str("\n    PROBLEM: ");
        text.push_str(problem);
    }
    text
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

/// Per scenario, the median over rounds of throughput, p50, p99 and end-to-end rate.
pub(crate) fn summary(rows: &[Row], scenarios: &[&'static str]) -> Vec<String> {
    let mut out = vec![format!(
        "{:<15} {:>6} {:>9} {:>8} {:>8} {:>10}",
        "median of", "rounds", "req/s", "p50 ms", "p99 ms", "e2e al/s"
    )];
    for scenario in scenarios {
        let of: Vec<&Row> = rows.iter().filter(|r| r.scenario == *scenario).collect();
        if of.is_empty() {
            continue;
        }
        let pick =
            |f: &dyn Fn(&Row) -> Option<f64>| median(of.iter().filter_map(|r| f(r)).collect());
        let show =
            |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |v| format!("{v:.digits$}"));
        let ms = |p: usize| pick(&|r: &Row| r.load.percentile(p).map(|d| d.as_secs_f64() * 1e3));
        out.push(format!(
            "{:<15} {:>6} {:>9} {:>8} {:>8} {:>10}",
            scenario,
            of.len(),
            show(pick(&|r: &Row| Some(r.load.throughput())), 0),
            show(ms(50), 2),
            show(ms(99), 2),
            show(pick(&|r: &Row| r.e2e_rate()), 0),
        ));
    }
    out
}

/// `numerator / denominator` of throughput and of p50 latency, per round, median over rounds.
pub(crate) fn ratio(rows: &[Row], numerator: &str, denominator: &str) -> Option<String> {
    let rounds = rows.iter().map(|r| r.round).max().unwrap_or(0);
    let mut throughput = Vec::new();
    let mut latency = Vec::new();
    for round in 1..=rounds {
        let find = |name: &str| rows.iter().find(|r| r.round == round && r.scenario == name);
        let (Some(a), Some(b)) = (find(numerator), find(denominator)) else {
            continue;
        };
        throughput.push(a.load.throughput() / b.load.throughput());
        if let (Some(pa), Some(pb)) = (a.load.percentile(50), b.load.percentile(50)) {
            latency.push(pa.as_secs_f64() / pb.as_secs_f64());
        }
    }
    let n = throughput.len();
    let throughput = median(throughput)?;
    let latency = median(latency).map_or("-".to_owned(), |v| format!("{v:.2}"));
    Some(format!(
        "{:<32} req/s x{throughput:.2}   p50 x{latency}   ({n} round{})",
        format!("{numerator} / {denominator}"),
        if n == 1 { "" } else { "s" }
    ))
}
