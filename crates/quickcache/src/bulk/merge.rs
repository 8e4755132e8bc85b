//! Merging the loader's sorted runs: the smallest key across runs next, and of equal
//! keys the one from the latest run (runs are numbered in the order they were
//! written, and a later run holds later puts).

use quickcache_sstable::{Cursor, Result, TableCursor};

/// A merge of runs' cursors, each positioned on its first entry.
pub(crate) struct RunMerge {
    cursors: Vec<TableCursor>,
}

impl RunMerge {
    /// Requires: every cursor was positioned (invalid means exhausted).
    pub(crate) fn new(cursors: Vec<TableCursor>) -> Self {
        RunMerge { cursors }
    }

    /// Calls `emit` with each key once, in order, with its latest value.
    pub(crate) fn for_each(
        mut self,
        mut emit: impl FnMut(&[u8], &[u8]) -> crate::Result<()>,
    ) -> crate::Result<()> {
        let mut key = Vec::new();
        loop {
            // Runs are few (memory budget / data size): a linear pass beats a heap
            // that would need owned keys.
            let mut winner: Option<usize> = None;
            for (i, c) in self.cursors.iter().enumerate() {
                let Some(k) = c.key() else { continue };
                let better = match winner.and_then(|w| self.cursors[w].key()) {
                    None => true,
                    // `>=`: of equal keys the later run wins.
                    Some(w) => k.user_key <= w.user_key,
                };
                if better {
                    winner = Some(i);
                }
            }
            let Some(w) = winner else { return Ok(()) };
            let (k, v) = match (self.cursors[w].key(), self.cursors[w].value()) {
                (Some(k), Some(v)) => (k.user_key, v),
                _ => return Ok(()),
            };
            key.clear();
            key.extend_from_slice(k);
            emit(&key, v)?;
            self.skip(&key).map_err(|source| crate::Error::Table {
                operation: "merging bulk-load runs",
                path: std::path::PathBuf::new(),
                source: Box::new(source),
            })?;
        }
    }

    /// Moves every cursor on `key` past it.
    fn skip(&mut self, key: &[u8]) -> Result<()> {
        for c in &mut self.cursors {
            if c.key().is_some_and(|k| k.user_key == key) {
                c.next()?;
            }
        }
        Ok(())
    }
}
