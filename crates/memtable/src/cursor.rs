//! The memtable cursor: the shared [`Cursor`] protocol over the skiplist.

use std::ops::Bound;

use crossbeam_skiplist::map::Entry;
use quickcache_sstable::{Cursor, KeyRef, Result};

use crate::key::{AsParts, KeyParts, NodeKey};
use crate::memtable::Map;

/// A cursor over a memtable's entries in internal-key order.
///
/// Valid iff it holds an entry. The entry is reference-counted by the skiplist, so the
/// borrowed key and value stay put while the cursor rests on it, even as other
/// threads insert. Entries inserted concurrently may or may not be seen by a scan; a
/// reader that needs a consistent view filters by its snapshot sequence number.
/// Never fails: every method returns `Ok`.
pub struct MemtableCursor<'a> {
    map: &'a Map,
    current: Option<Entry<'a, NodeKey, ()>>,
}

impl<'a> MemtableCursor<'a> {
    pub(crate) fn new(map: &'a Map) -> Self {
        MemtableCursor { map, current: None }
    }
}

impl Cursor for MemtableCursor<'_> {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        let probe = KeyParts::of(target);
        self.current = self
            .map
            .lower_bound(Bound::Included(&probe as &dyn AsParts));
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.current = self.map.front();
        Ok(())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.current = self.map.back();
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        if let Some(entry) = &mut self.current
            && !entry.move_next()
        {
            self.current = None;
        }
        Ok(())
    }

    fn prev(&mut self) -> Result<()> {
        if let Some(entry) = &mut self.current
            && !entry.move_prev()
        {
            self.current = None;
        }
        Ok(())
    }

    fn key(&self) -> Option<KeyRef<'_>> {
        self.current.as_ref().map(|e| e.key().key())
    }

    fn value(&self) -> Option<&[u8]> {
        self.current.as_ref().map(|e| e.key().value())
    }

    /// One skiplist search instead of the default seek-then-step.
    fn seek_for_prev(&mut self, target: KeyRef<'_>) -> Result<()> {
        let probe = KeyParts::of(target);
        self.current = self
            .map
            .upper_bound(Bound::Included(&probe as &dyn AsParts));
        Ok(())
    }
}

impl std::fmt::Debug for MemtableCursor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemtableCursor")
            .field("at", &self.key())
            .finish_non_exhaustive()
    }
}
