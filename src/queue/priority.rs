//! Weighted round robin over the three priorities: high : normal : low = 4 : 2 : 1.
//!
//! With a backlog in every priority, seven consecutive picks take four high, two normal and one
//! low event, so high goes first and nothing starves. An empty priority gives its turn to the
//! next one in the cycle.

use std::collections::VecDeque;

use genhook_core::queue::Priority;

/// The cycle of turns.
const SCHEDULE: [Priority; 7] = [
    Priority::High,
    Priority::High,
    Priority::Normal,
    Priority::High,
    Priority::Normal,
    Priority::High,
    Priority::Low,
];

/// The position in the cycle: which priority has the next turn.
#[derive(Debug, Default, Clone)]
pub struct RoundRobin {
    cursor: usize,
}

impl RoundRobin {
    /// The priority to serve next among those for which `has` says there is work, advancing the
    /// cycle; `None` when none has work.
    pub fn pick(&mut self, mut has: impl FnMut(Priority) -> bool) -> Option<Priority> {
        for step in 0..SCHEDULE.len() {
            let slot = (self.cursor + step) % SCHEDULE.len();
            let priority = SCHEDULE.get(slot).copied().unwrap_or_default();
            if has(priority) {
                self.cursor = (slot + 1) % SCHEDULE.len();
                return Some(priority);
            }
        }
        None
    }
}

/// Three FIFO lanes, one per priority, served by a [`RoundRobin`].
#[derive(Debug)]
pub struct Lanes<T> {
    high: VecDeque<T>,
    normal: VecDeque<T>,
    low: VecDeque<T>,
    turn: RoundRobin,
}

impl<T> Default for Lanes<T> {
    fn default() -> Self {
        Self {
            high: VecDeque::new(),
            normal: VecDeque::new(),
            low: VecDeque::new(),
            turn: RoundRobin::default(),
        }
    }
}

impl<T> Lanes<T> {
    fn lane(&mut self, priority: Priority) -> &mut VecDeque<T> {
        match priority {
            Priority::High => &mut self.high,
            Priority::Normal => &mut self.normal,
            Priority::Low => &mut self.low,
        }
    }

    /// Adds an item at the back of its lane.
    pub fn push(&mut self, priority: Priority, item: T) {
        self.lane(priority).push_back(item);
    }

    /// Takes the next item by weighted round robin.
    pub fn pop(&mut self) -> Option<T> {
        self.pop_with_priority().map(|(_, item)| item)
    }

    /// Takes the next item by weighted round robin, with its priority.
    pub fn pop_with_priority(&mut self) -> Option<(Priority, T)> {
        let (high, normal, low) = (
            !self.high.is_empty(),
            !self.normal.is_empty(),
            !self.low.is_empty(),
        );
        let priority = self.turn.pick(|p| match p {
            Priority::High => high,
            Priority::Normal => normal,
            Priority::Low => low,
        })?;
        self.lane(priority).pop_front().map(|item| (priority, item))
    }

    /// Removes the items `keep` rejects; how many.
    pub fn remove_where(&mut self, mut remove: impl FnMut(&T) -> bool) -> usize {
        let mut removed = 0;
        for lane in [&mut self.high, &mut self.normal, &mut self.low] {
            let before = lane.len();
            lane.retain(|item| !remove(item));
            removed += before - lane.len();
        }
        removed
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.high.len() + self.normal.len() + self.low.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_in_every_lane_is_served_four_two_one() {
        let mut lanes = Lanes::default();
        for i in 0..70 {
            lanes.push(Priority::High, ('h', i));
            lanes.push(Priority::Normal, ('n', i));
            lanes.push(Priority::Low, ('l', i));
        }
        let first: Vec<char> = (0..70)
            .filter_map(|_| lanes.pop())
            .map(|(c, _)| c)
            .collect();
        let count = |c| first.iter().filter(|&&x| x == c).count();
        assert_eq!((count('h'), count('n'), count('l')), (40, 20, 10));
    }

    #[test]
    fn empty_lane_gives_its_turn_away() {
        let mut lanes = Lanes::default();
        lanes.push(Priority::Low, 1);
        lanes.push(Priority::Low, 2);
        assert_eq!(lanes.pop(), Some(1));
        assert_eq!(lanes.pop(), Some(2));
        assert_eq!(lanes.pop(), None);
    }
}
