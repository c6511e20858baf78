//! The `info` line logged per refused request, limited so that a flood cannot fill the disk: at
//! most [`LINES_PER_WINDOW`] lines per reason in each [`WINDOW`]; the lines held back are counted
//! and their number is logged ("Suppressed K similar lines") with the next line of that reason
//! that is shown. Every refusal is still counted in `genhook_webhooks_rejected_total` and kept in
//! the refused-request record; only the log line is held back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Lines logged per reason per window.
pub const LINES_PER_WINDOW: u32 = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(1);

/// Whether a refusal's line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Log it, after a summary line when `suppressed_before` lines of this reason were held back
    /// since the last one shown.
    Show {
        /// Lines held back before this one.
        suppressed_before: u64,
    },
    /// Hold it back (counted).
    Suppress,
}

/// Per reason: the current window and the lines held back since the last one shown.
#[derive(Debug, Default)]
pub(super) struct FloodLimit {
    by_reason: HashMap<String, Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    shown: u32,
    suppressed: u64,
}

impl FloodLimit {
    /// Decides about one more line of `reason` at `now`.
    pub(super) fn check(&mut self, reason: &str, now: Instant) -> Verdict {
        let window = match self.by_reason.get_mut(reason) {
            Some(window) => window,
            None => self.by_reason.entry(reason.to_owned()).or_insert(Window {
                started: now,
                shown: 0,
                suppressed: 0,
            }),
        };
        if now.saturating_duration_since(window.started) >= WINDOW {
            window.started = now;
            window.shown = 0;
        }
        if window.shown < LINES_PER_WINDOW {
            window.shown += 1;
            Verdict::Show {
                suppressed_before: std::mem::take(&mut window.suppressed),
            }
        } else {
            window.suppressed += 1;
            Verdict::Suppress
        }
    }
}

/// Logs the line of one refusal (reason, source, client address, status; never headers or
/// payload) when `limit` lets it through.
pub(super) fn log_refusal(
    limit: &mut FloodLimit,
    reason: &str,
    source: &str,
    client: Option<&str>,
    status: u16,
) {
    let Verdict::Show { suppressed_before } = limit.check(reason, Instant::now()) else {
        return;
    };
    if suppressed_before > 0 {
        tracing::info!(
            reason,
            suppressed = suppressed_before,
            "Suppressed {suppressed_before} similar lines (webhooks refused for this reason)."
        );
    }
    tracing::info!(
        reason,
        source,
        client = client.unwrap_or(""),
        status,
        "Webhook refused."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(verdicts: &[Verdict]) -> usize {
        verdicts
            .iter()
            .filter(|v| matches!(v, Verdict::Show { .. }))
            .count()
    }

    #[test]
    fn a_flood_shows_the_first_lines_of_each_window_then_says_how_many_were_held_back() {
        let mut limit = FloodLimit::default();
        let start = Instant::now();
        let first: Vec<Verdict> = (0..1000)
            .map(|_| limit.check("bad_signature", start))
            .collect();
        assert_eq!(shown(&first), LINES_PER_WINDOW as usize);
        assert!(first[..LINES_PER_WINDOW as usize].iter().all(|v| *v
            == Verdict::Show {
                suppressed_before: 0
            }));

        // Another reason has its own allowance.
        assert_eq!(
            limit.check("unknown_source", start),
            Verdict::Show {
                suppressed_before: 0
            }
        );

        // Still the same window: held back.
        let later = start + WINDOW / 2;
        assert_eq!(limit.check("bad_signature", later), Verdict::Suppress);

        // The next window: the first line carries the count held back.
        let next = start + WINDOW;
        assert_eq!(
            limit.check("bad_signature", next),
            Verdict::Show {
                suppressed_before: 1000 - u64::from(LINES_PER_WINDOW) + 1
            }
        );
        assert_eq!(
            limit.check("bad_signature", next),
            Verdict::Show {
                suppressed_before: 0
            }
        );
    }
}
