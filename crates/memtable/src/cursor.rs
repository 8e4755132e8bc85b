//! The memtable cursors: the shared [`Cursor`] protocol over the skiplist, borrowing
//! the memtable ([`MemtableCursor`]) or sharing it ([`SharedCursor`]).

use std::sync::Arc;

use quickcache_sstable::{Cursor, KeyRef, Result};

use crate::key::KeyParts;
use crate::memtable::{Map, Memtable};
use crate::skiplist::{Id, NodeRef};

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

/// A cursor that holds a share of its memtable instead of borrowing it, so that it
/// can live inside an iterator that owns its sources.
///
/// Same behaviour as [`MemtableCursor`]; it remembers its node by name and finds it
/// again (one arena lookup, no search) on every call. Made by [`Memtable::shared_cursor`]
/// and [`crate::FrozenMemtable::shared_cursor`].
pub struct SharedCursor {
    memtable: Arc<Memtable>,
    current: Option<Id>,
}

impl SharedCursor {
    pub(crate) fn new(memtable: Arc<Memtable>) -> Self {
        SharedCursor {
            memtable,
            current: None,
        }
    }

    fn node(&self) -> Option<NodeRef<'_>> {
        self.memtable.map().node(self.current?)
    }
}

impl Cursor for SharedCursor {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        let node = self.memtable.map().seek_ge(&KeyParts::of(target));
        self.current = node.map(|n| n.id());
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        let node = self.memtable.map().first();
        self.current = node.map(|n| n.id());
        Ok(())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        let node = self.memtable.map().last();
        self.current = node.map(|n| n.id());
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        let next = self.node().and_then(|node| node.next()).map(|n| n.id());
        self.current = next;
        Ok(())
    }

    /// A search for the last entry below the current one: nodes link forward only.
    fn prev(&mut self) -> Result<()> {
        let map = self.memtable.map();
        let prev = (self.current.and_then(|id| map.node(id)))
            .and_then(|node| map.seek_before(&node.probe(), false))
            .map(|n| n.id());
        self.current = prev;
        Ok(())
    }

    fn key(&self) -> Option<KeyRef<'_>> {
        self.node().map(|node| node.key())
    }

    fn value(&self) -> Option<&[u8]> {
        self.node().map(|node| node.value())
    }

    fn seek_for_prev(&mut self, target: KeyRef<'_>) -> Result<()> {
        let node = self.memtable.map().seek_before(&KeyParts::of(target), true);
        self.current = node.map(|n| n.id());
        Ok(())
    }
}

impl std::fmt::Debug for SharedCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCursor")
            .field("at", &self.key())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for MemtableCursor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemtableCursor")
            .field("at", &self.key())
            .finish_non_exhaustive()
    }
}
