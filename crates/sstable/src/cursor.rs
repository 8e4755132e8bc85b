//! The cursor protocol shared by every sorted source in quickcache: data blocks,
//! tables, memtables, merges and levels.
//!
//! A cursor is either *valid*, positioned at an entry, or *invalid*, past either end
//! (or never positioned). Positioning methods return `Err` only when reading the
//! underlying data failed (corruption, I/O); after an error the cursor is invalid.
//! Calling `next` or `prev` on an invalid cursor leaves it invalid; it never panics.

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use crate::{KeyRef, Result};

/// A bidirectional cursor over entries sorted by internal key.
pub trait Cursor {
    /// Positions at the first entry whose key is `>= target`; invalid if there is none.
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()>;

    /// Positions at the first entry; invalid if the source is empty.
    fn seek_to_first(&mut self) -> Result<()>;

    /// Positions at the last entry; invalid if the source is empty.
    fn seek_to_last(&mut self) -> Result<()>;

    /// Moves to the following entry; invalid past the last. No-op when invalid.
    fn next(&mut self) -> Result<()>;

    /// Moves to the preceding entry; invalid before the first. No-op when invalid.
    fn prev(&mut self) -> Result<()>;

    /// The current key; `Some` iff the cursor is valid.
    fn key(&self) -> Option<KeyRef<'_>>;

    /// The current value (empty for tombstones); `Some` iff the cursor is valid.
    fn value(&self) -> Option<&[u8]>;

    /// Whether the cursor is positioned at an entry.
    fn valid(&self) -> bool {
        self.key().is_some()
    }

    /// Positions at the last entry whose key is `<= target`; invalid if there is none.
    fn seek_for_prev(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.seek(target)?;
        match self.key() {
            None => self.seek_to_last(),
            Some(key) if key > target => self.prev(),
            Some(_) => Ok(()),
        }
    }
}

impl<C: Cursor + ?Sized> Cursor for Box<C> {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        (**self).seek(target)
    }
    fn seek_to_first(&mut self) -> Result<()> {
        (**self).seek_to_first()
    }
    fn seek_to_last(&mut self) -> Result<()> {
        (**self).seek_to_last()
    }
    fn next(&mut self) -> Result<()> {
        (**self).next()
    }
    fn prev(&mut self) -> Result<()> {
        (**self).prev()
    }
    fn key(&self) -> Option<KeyRef<'_>> {
        (**self).key()
    }
    fn value(&self) -> Option<&[u8]> {
        (**self).value()
    }
    fn valid(&self) -> bool {
        (**self).valid()
    }
    fn seek_for_prev(&mut self, target: KeyRef<'_>) -> Result<()> {
        (**self).seek_for_prev(target)
    }
}
