//! `OpenStarts`: the registered starts of the open transactions, oldest first.

use std::collections::VecDeque;

/// Open transactions counted by registered start, ascending. Starts are registered
/// at the visible sequence number, which only grows, so a new one almost always
/// goes at the back and the oldest is at the front: beginning and ending cost a
/// few instructions, not a tree insert and removal.
#[derive(Debug, Default)]
pub(crate) struct OpenStarts {
    /// `(start, count)`, ascending by start; a count may be zero only behind a
    /// non-zero front (ended, not yet reached by the front's cleanup).
    starts: VecDeque<(u64, usize)>,
}

impl OpenStarts {
    /// Registers one transaction at `start`.
    pub(crate) fn add(&mut self, start: u64) {
        match self.starts.back_mut() {
            Some((last, count)) if *last == start => *count += 1,
            Some((last, _)) if *last > start => {
                // Not expected (starts only grow), but kept correct: sorted insert.
                let at = self.starts.partition_point(|(s, _)| *s < start);
                match self.starts.get_mut(at) {
                    Some((s, count)) if *s == start => *count += 1,
                    _ => self.starts.insert(at, (start, 1)),
                }
            }
            _ => self.starts.push_back((start, 1)),
        }
    }

    /// Ends one transaction registered at `start` (ignored if none is).
    pub(crate) fn remove(&mut self, start: u64) {
        let at = self.starts.partition_point(|(s, _)| *s < start);
        if let Some((s, count)) = self.starts.get_mut(at)
            && *s == start
            && *count > 0
        {
            *count -= 1;
        }
        while self.starts.front().is_some_and(|(_, count)| *count == 0) {
            self.starts.pop_front();
        }
    }

    /// The oldest open start, if any transaction is open.
    pub(crate) fn oldest(&self) -> Option<u64> {
        self.starts.front().map(|(start, _)| *start)
    }

    /// Whether no transaction is open.
    pub(crate) fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// How many transactions are open.
    pub(crate) fn count(&self) -> usize {
        self.starts.iter().map(|(_, count)| count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::OpenStarts;

    #[test]
    fn the_oldest_is_the_lowest_start_still_open_in_any_order_of_ends() {
        let mut open = OpenStarts::default();
        for start in [3, 3, 5, 8] {
            open.add(start);
        }
        open.add(1); // out of order: still sorted in
        assert_eq!((open.oldest(), open.count()), (Some(1), 5));
        open.remove(5);
        open.remove(1);
        assert_eq!((open.oldest(), open.count()), (Some(3), 3));
        open.remove(3);
        open.remove(7); // never registered: ignored
        assert_eq!((open.oldest(), open.count()), (Some(3), 2));
        open.remove(3);
        assert_eq!(open.oldest(), Some(8), "the ended 5 was dropped behind it");
        open.remove(8);
        open.remove(8);
        assert!(open.is_empty());
        assert_eq!(open.oldest(), None);
    }
}
