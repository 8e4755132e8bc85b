//! Merging the loader's sorted runs: the smallest key across runs next, and of equal
//! keys the one from the latest run (runs are numbered in the order they were
//! written, and a later run holds later puts). Each run holds a key at most once.

use std::cmp::Ordering;

use super::scratch::RunReader;

/// A merge of runs' readers, each positioned on its first entry in the merged range.
pub(crate) struct RunMerge {
    cursors: Vec<RunReader>,
    /// Where the merged range ends (exclusive); `None`: at the runs' ends.
    end: Option<Vec<u8>>,
}

impl RunMerge {
    /// Requires: every reader is on its first record in the range (or past its end).
    pub(crate) fn new(cursors: Vec<RunReader>, end: Option<Vec<u8>>) -> Self {
        RunMerge { cursors, end }
    }

    /// Calls `emit` with each key below the end once, in order, with its latest value.
    pub(crate) fn for_each(
        mut self,
        mut emit: impl FnMut(&[u8], &[u8]) -> crate::Result<()>,
    ) -> crate::Result<()> {
        // The cursors on the smallest key: the last one is the latest run's, the
        // winner; the others hold older values of the same key and are skipped.
        let mut on_smallest: Vec<usize> = Vec::with_capacity(self.cursors.len());
        loop {
            // Runs are few (data size / memory budget): one linear pass, comparing
            // each reader's key once, beats a heap that would need owned keys.
            on_smallest.clear();
            for (i, c) in self.cursors.iter().enumerate() {
                let Some(k) = c.key() else { continue };
                let order = match on_smallest.last() {
                    None => Ordering::Less,
                    Some(&w) => (self.cursors[w].key()).map_or(Ordering::Less, |w| k.cmp(w)),
                };
                match order {
                    Ordering::Less => {
                        on_smallest.clear();
                        on_smallest.push(i);
                    }
                    Ordering::Equal => on_smallest.push(i),
                    Ordering::Greater => {}
                }
            }
            let Some(&w) = on_smallest.last() else {
                return Ok(());
            };
            let (k, v) = match (self.cursors[w].key(), self.cursors[w].value()) {
                (Some(k), Some(v)) => (k, v),
                _ => return Ok(()),
            };
            if self.end.as_deref().is_some_and(|end| k >= end) {
                return Ok(());
            }
            emit(k, v)?;
            for &i in &on_smallest {
                self.cursors[i].next()?;
            }
        }
    }
}
