//! `KeyspaceId`: which of a database's trees (keyspaces) a write or a table belongs to.
//!
//! It lives here, beside [`crate::SeqNo`], because every crate that names a tree
//! depends on this one: write batches (memtable) carry it per entry and manifest edits
//! (compaction) per edit. Tables themselves do not record it: a table belongs to the
//! keyspace whose manifest entries list it.

use std::fmt;

/// The number of a keyspace, persisted in WAL records and manifest edits
/// (`docs/format/write_batch.md`, `docs/format/manifest.md`).
///
/// Id 0 is the default keyspace, which every database has and which holds what a
/// database of format version 1 wrote. Other ids are handed out in increasing order
/// when keyspaces are created and never reused, not even after a drop, so that a WAL
/// record of a dropped keyspace can never be mistaken for one of a later keyspace.
///
/// # Examples
/// ```
/// use quickcache_sstable::KeyspaceId;
/// assert_eq!(KeyspaceId::DEFAULT, KeyspaceId(0));
/// assert!(KeyspaceId(3).is_default() == false);
/// assert_eq!(KeyspaceId(3).to_string(), "keyspace 3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct KeyspaceId(pub u32);

impl KeyspaceId {
    /// The default keyspace: the tree a database's own `get`/`put` use.
    pub const DEFAULT: KeyspaceId = KeyspaceId(0);

    /// Whether this is the default keyspace.
    pub const fn is_default(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for KeyspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "keyspace {}", self.0)
    }
}
