//! The memtable cursors: the shared [`Cursor`] protocol over the skiplist, borrowing
//! the memtable ([`MemtableCursor`]) or sharing it ([`SharedCursor`]).

use std::sync::Arc;

use quickcache_sstable::{Cursor, KeyRef, Result};

use crate::key::{Head, KeyParts};
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
/// Same behaviour as [`MemtableCursor`]. It remembers its node by name, with the
/// node's inline key head read when it got there, so that `key` and `value` (called
/// several times per merge step) find the node again without reloading its words.
/// Made by [`Memtable::shared_cursor`] and [`crate::FrozenMemtable::shared_cursor`].
pub struct SharedCursor {
    memtable: Arc<Memtable>,
    current: Option<(Id, Head)>,
}

/// What a [`SharedCursor`] keeps of the node it stands on.
fn place(node: Option<NodeRef<'_>>) -> Option<(Id, Head)> {
    node.map(|n| (n.id(), n.head()))
}

impl SharedCursor {
    pub(crate) fn new(memtable: Arc<Memtable>) -> Self {
        SharedCursor {
            memtable,
            current: None,
        }
    }

    fn node(&self) -> Option<NodeRef<'_>> {
        let (id, head) = self.current?;
        Some(self.memtable.map().node_known(id, head))
    }
}

impl Cursor for SharedCursor {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.current = place(self.memtable.map().seek_ge(&KeyParts::of(target)));
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.current = place(self.memtable.map().first());
        Ok(())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.current = place(self.memtable.map().last());
        Ok(())
    }

    fn next(&mut self) -> Result<()> {
        self.current = place(self.node().and_then(|node| node.next()));
        Ok(())
    }

    /// A search for the last entry below the current one: nodes link forward only.
    fn prev(&mut self) -> Result<()> {
        let map = self.memtable.map();
        let prev = self
            .node()
            .and_then(|node| map.seek_before(&node.probe(), false));
        self.current = place(prev);
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
        self.current = place(node);
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
