//! Merging the loader's sorted runs: the smallest key across runs next, and of equal
//! keys the one from the latest run (runs are numbered in the order they were
//! written, and a later run holds later puts). Each run holds a key at most once.

use std::cmp::Ordering;

use quickcache_sstable::{Cursor, TableCursor};

/// A merge of runs' cursors, each positioned on its first entry in the merged range.
pub(crate) struct RunMerge {
    cursors: Vec<TableCursor>,
    /// Where the merged range ends (exclusive); `None`: at the runs' ends.
    end: Option<Vec<u8>>,
}

impl RunMerge {
    /// Requires: every cursor was positioned (invalid means exhausted).
    pub(crate) fn new(cursors: Vec<TableCursor>, end: Option<Vec<u8>>) -> Self {
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
            // each cursor's key once, beats a heap that would need owned keys.
            on_smallest.clear();
            for (i, c) in self.cursors.iter().enumerate() {
                let Some(k) = c.key() else { continue };
                let order = match on_smallest.last() {
                    None => Ordering::Less,
                    Some(&w) => (self.cursors[w].key())
                        .map_or(Ordering::Less, |w| k.user_key.cmp(w.user_key)),
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
                (Some(k), Some(v)) => (k.user_key, v),
                _ => return Ok(()),
            };
            if self.end.as_deref().is_some_and(|end| k >= end) {
                return Ok(());
            }
            emit(k, v)?;
            for &i in &on_smallest {
                self.cursors[i]
                    .next()
                    .map_err(|source| crate::Error::Table {
                        operation: "merging bulk-load runs",
                        path: std::path::PathBuf::new(),
                        source: Box::new(source),
                    })?;
            }
        }
    }
}
