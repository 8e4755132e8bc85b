//! The memtable cursor: the shared [`Cursor`] protocol over the skiplist.

use quickcache_sstable::{Cursor, KeyRef, Result};

use crate::key::KeyParts;
use crate::memtable::Map;
use crate::skiplist::NodeRef;

/// A cursor over a memtable's entries in internal-key order.
///
/// Valid iff it holds an entry. Nothing is ever removed from a memtable, so the
/// borrowed key and value stay put while the cursor rests on an entry, even as other
/// threads insert. Entries inserted concurrently may or may not be seen by a scan; a
/// reader that needs a consistent view filters by its snapshot sequence number.
/// Never fails: every method returns `Ok`.
pub struct MemtableCursor<'a> {
    map: &'a Map,
    current: Option<NodeRef<'a>>,
}

impl<'a> MemtableCursor<'a> {
    pub(crate) fn new(map: &'a Map) -> Self {
        MemtableCursor { map, current: None }
    }
}

impl Cursor for MemtableCursor<'_> {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.current = self.map.seek_ge(&KeyParts::of(target));
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.current = self.map.first();
        Ok(())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.current = self.map.last();
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        self.current = self.current.and_then(|node| node.next());
        Ok(())
    }

    /// A search for the last entry below the current one: nodes link forward only.
    fn prev(&mut self) -> Result<()> {
        self.current = self
            .current
            .and_then(|node| self.map.seek_before(&node.probe(), false));
        Ok(())
    }

    fn key(&self) -> Option<KeyRef<'_>> {
        self.current.map(|node| node.key())
    }

    fn value(&self) -> Option<&[u8]> {
        self.current.map(|node| node.value())
    }

    /// One skiplist search instead of the default seek-then-step.
    fn seek_for_prev(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.current = self.map.seek_before(&KeyParts::of(target), true);
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
