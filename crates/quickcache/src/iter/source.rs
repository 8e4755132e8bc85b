//! `Source`: one child of an iterator's merge, a memtable or a part of the tree.
//!
//! The merge compares its children's keys at every step. As boxed trait objects each
//! `key()` is an indirect call the compiler cannot see through, and every child costs
//! an allocation per iterator; as this closed enum the calls inline and the children
//! sit in the merge's one vector.

use quickcache_compaction::TreeCursor;
use quickcache_sstable::{Cursor, KeyRef, Result, ValueRef};

use crate::memcursor::MemCursor;

/// A source of an iterator: the active or a frozen memtable, or an L0 table or a
/// deeper level of the version.
#[derive(Debug)]
pub(crate) enum Source {
    Mem(MemCursor),
    Tree(TreeCursor),
}

impl Source {
    /// The current value as a view into the table's mapped file, when the source is
    /// a table: handing it out costs a reference count, not an allocation and a copy.
    /// `None` for memtables (their entries are copied) and when invalid.
    pub(crate) fn value_ref(&self) -> Option<ValueRef> {
        match self {
            Source::Mem(_) => None,
            Source::Tree(c) => c.table_cursor()?.value_ref(),
        }
    }
}

impl Cursor for Source {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        match self {
            Source::Mem(c) => c.seek(target),
            Source::Tree(c) => c.seek(target),
        }
    }

    fn seek_to_first(&mut self) -> Result<()> {
        match self {
            Source::Mem(c) => c.seek_to_first(),
            Source::Tree(c) => c.seek_to_first(),
        }
    }

    fn seek_to_last(&mut self) -> Result<()> {
        match self {
            Source::Mem(c) => c.seek_to_last(),
            Source::Tree(c) => c.seek_to_last(),
        }
    }

    fn seek_for_prev(&mut self, target: KeyRef<'_>) -> Result<()> {
        match self {
            Source::Mem(c) => c.seek_for_prev(target),
            Source::Tree(c) => c.seek_for_prev(target),
        }
    }

    #[inline]
    fn next(&mut self) -> Result<()> {
        match self {
            Source::Mem(c) => c.next(),
            Source::Tree(c) => c.next(),
        }
    }

    #[inline]
    fn prev(&mut self) -> Result<()> {
        match self {
            Source::Mem(c) => c.prev(),
            Source::Tree(c) => c.prev(),
        }
    }

    #[inline]
    fn key(&self) -> Option<KeyRef<'_>> {
        match self {
            Source::Mem(c) => c.key(),
            Source::Tree(c) => c.key(),
        }
    }

    #[inline]
    fn value(&self) -> Option<&[u8]> {
        match self {
            Source::Mem(c) => c.value(),
            Source::Tree(c) => c.value(),
        }
    }

    #[inline]
    fn valid(&self) -> bool {
        match self {
            Source::Mem(c) => c.valid(),
            Source::Tree(c) => c.valid(),
        }
    }
}
