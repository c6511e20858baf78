//! [`Health`]: the numbers of `GET /admin/health`, kept in memory by the parts that see them —
//! per source the webhooks accepted (the routes), delivered and dead-lettered (the record of
//! deliveries), refused (the record of refused requests), and the latency of each SL1 attempt —
//! and a series of the last hour, one point a minute, taken by the sampling task `serve`
//! starts ([`api::sample_every_minute`]) with the queue's depth.
//!
//! Counting an accepted webhook takes a read lock and one atomic add (the accept path is
//! performance-critical); the rest is counted off the request path.

pub mod api;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::Serialize;

/// Points kept: one hour of minutes.
pub const POINTS: usize = 60;
/// SL1 attempt latencies kept for the percentiles (the newest).
const LATENCIES: usize = 1000;

/// Per-source counts since start.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Webhooks accepted (`202`).
    pub received: u64,
    /// Events delivered to SL1 or the outbox.
    pub delivered: u64,
    /// Events dead-lettered.
    pub dead_lettered: u64,
    /// Requests refused.
    pub refused: u64,
}

/// One minute of the series.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Point {
    /// The minute's start, Unix seconds.
    pub t: u64,
    /// Webhooks accepted in it.
    pub received: u64,
    /// Events delivered in it.
    pub delivered: u64,
    /// Requests refused in it.
    pub refused: u64,
    /// Events dead-lettered in it.
    pub dead_lettered: u64,
    /// The queue's depth at its end (now, for the current minute).
    pub queue_depth: usize,
    /// The 95th percentile of the SL1 attempts' latency in it, ms (`null` without any).
    pub latency_p95_ms: Option<u64>,
}

/// The numbers. Share it in an `Arc`.
#[derive(Debug, Default)]
pub struct Health {
    received: RwLock<HashMap<String, AtomicU64>>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Delivered, dead-lettered and refused per source (received is apart).
    counts: BTreeMap<String, Counts>,
    /// `(number, latency_ms)` of the newest SL1 attempts, numbered from 0 since start.
    latencies: VecDeque<(u64, u64)>,
    /// The number the next attempt's latency gets.
    next_latency: u64,
    /// The first number of the current minute's attempts.
    minute_first_latency: u64,
    /// The finished minutes, oldest first.
    points: VecDeque<Point>,
    /// The totals when the current minute began.
    at_minute: Counts,
    /// When the current minute began, Unix milliseconds.
    minute_ms: u64,
}

impl Health {
    /// Empty numbers; the current minute starts now.
    pub fn new() -> Arc<Self> {
        let health = Self::default();
        health.lock().minute_ms = now_ms();
        Arc::new(health)
    }

    /// A webhook of `source` was accepted.
    pub fn received(&self, source: &str) {
        if let Some(count) = self
            .received
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(source)
        {
            count.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.received
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(source.to_owned())
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    /// An event of `source` settled as `status` (`delivered`, `outbox`, `dead_lettered`,
    /// `retrying`) after SL1 attempts that took `latencies_ms`.
    pub fn settled(&self, source: &str, status: &str, latencies_ms: impl IntoIterator<Item = u64>) {
        let mut state = self.lock();
        let counts = state.counts.entry(source.to_owned()).or_default();
        match status {
            "delivered" | "outbox" => counts.delivered += 1,
            "dead_lettered" => counts.dead_lettered += 1,
            _ => {}
        }
        for latency in latencies_ms {
            if state.latencies.len() == LATENCIES {
                state.latencies.pop_front();
            }
            let number = state.next_latency;
            state.next_latency += 1;
            state.latencies.push_back((number, latency));
        }
    }

    /// A request for `source` was refused.
    pub fn refused(&self, source: &str) {
        self.lock()
            .counts
            .entry(source.to_owned())
            .or_default()
            .refused += 1;
    }

    /// Every source's counts, by name.
    pub fn sources(&self) -> BTreeMap<String, Counts> {
        let mut counts = self.lock().counts.clone();
        for (source, received) in self
            .received
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            counts.entry(source.clone()).or_default().received = received.load(Ordering::Relaxed);
        }
        counts
    }

    /// The 50th and 95th percentiles of the SL1 attempts' latency kept, ms.
    pub fn latency(&self) -> (Option<u64>, Option<u64>) {
        let state = self.lock();
        let mut all: Vec<u64> = state.latencies.iter().map(|(_, l)| *l).collect();
        all.sort_unstable();
        (percentile(&all, 50), percentile(&all, 95))
    }

    /// Ends the current minute with the queue's depth now (the sampling task calls it every
    /// minute), keeping the last [`POINTS`].
    pub fn sample(&self, queue_depth: usize) {
        // One reading of the totals: what the point counts is what the next minute starts from.
        let totals = self.totals();
        let point = self.current_with(totals, queue_depth);
        let mut state = self.lock();
        if state.points.len() == POINTS {
            state.points.pop_front();
        }
        state.points.push_back(point);
        state.at_minute = totals;
        state.minute_ms = now_ms();
        state.minute_first_latency = state.next_latency;
    }

    /// The last hour's points, the current partial minute last.
    pub fn series(&self, queue_depth: usize) -> Vec<Point> {
        let current = self.current(queue_depth);
        let state = self.lock();
        let skip = (state.points.len() + 1).saturating_sub(POINTS);
        let mut points: Vec<Point> = state.points.iter().skip(skip).copied().collect();
        points.push(current);
        points
    }

    /// The current minute so far.
    fn current(&self, queue_depth: usize) -> Point {
        self.current_with(self.totals(), queue_depth)
    }

    fn current_with(&self, totals: Counts, queue_depth: usize) -> Point {
        let state = self.lock();
        let mut latencies: Vec<u64> = state
            .latencies
            .iter()
            .filter(|(number, _)| *number >= state.minute_first_latency)
            .map(|(_, l)| *l)
            .collect();
        latencies.sort_unstable();
        Point {
            t: state.minute_ms / 1000,
            received: totals.received.saturating_sub(state.at_minute.received),
            delivered: totals.delivered.saturating_sub(state.at_minute.delivered),
            refused: totals.refused.saturating_sub(state.at_minute.refused),
            dead_lettered: totals
                .dead_lettered
                .saturating_sub(state.at_minute.dead_lettered),
            queue_depth,
            latency_p95_ms: percentile(&latencies, 95),
        }
    }

    /// Every source's counts added up.
    fn totals(&self) -> Counts {
        self.sources()
            .values()
            .fold(Counts::default(), |sum, c| Counts {
                received: sum.received + c.received,
                delivered: sum.delivered + c.delivered,
                dead_lettered: sum.dead_lettered + c.dead_lettered,
                refused: sum.refused + c.refused,
            })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Now, in Unix milliseconds.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The `p`th percentile of sorted values (nearest rank).
fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_the_current_minute_add_up() {
        let health = Health::new();
        health.received("github");
        health.received("github");
        health.refused("github");
        health.refused("");
        health.settled("github", "delivered", [10, 30]);
        health.settled("github", "dead_lettered", [20]);
        let sources = health.sources();
        assert_eq!(
            sources["github"],
            Counts {
                received: 2,
                delivered: 1,
                dead_lettered: 1,
                refused: 1
            }
        );
        assert_eq!(health.latency(), (Some(20), Some(30)));
        let series = health.series(4);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].received, 2);
        assert_eq!(series[0].refused, 2);
        assert_eq!(series[0].queue_depth, 4);
        health.sample(4);
        health.received("github");
        let series = health.series(0);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].received, 2);
        assert_eq!(series[1].received, 1);
        assert_eq!(series[1].latency_p95_ms, None);
    }

    #[test]
    fn the_series_keeps_one_hour() {
        let health = Health::new();
        for _ in 0..(POINTS + 5) {
            health.sample(0);
        }
        assert_eq!(health.series(0).len(), POINTS);
    }
}
