//! Identities and metadata of tables: [`TableId`], [`Level`] and [`TableInfo`].

use std::fmt;
use std::path::{Path, PathBuf};

use quickcache_sstable::{InternalKey, SeqNo};

/// A table's identity: its file number, unique within a tree and never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableId(pub u64);

impl TableId {
    /// The table's file name: the number in decimal, zero-padded to six digits, with
    /// the extension `.sst` (`000042.sst`).
    pub fn file_name(self) -> String {
        format!("{:06}.sst", self.0)
    }

    /// The table's path inside the tree's directory.
    pub fn path(self, dir: &Path) -> PathBuf {
        dir.join(self.file_name())
    }

    /// The table id a file name denotes, if it names a table.
    pub fn from_file_name(name: &str) -> Option<TableId> {
        let digits = name.strip_suffix(".sst")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(TableId)
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table {}", self.0)
    }
}

/// The number of levels of a tree: L0 to L6.
pub const LEVELS: usize = 7;

/// A level of the tree, `0..LEVELS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(u8);

impl Level {
    /// L0, where flushes land; its tables may overlap.
    pub const L0: Level = Level(0);
    /// The deepest level.
    pub const BOTTOM: Level = Level(LEVELS as u8 - 1);

    /// The level numbered `n`, if `n < LEVELS`.
    pub const fn new(n: usize) -> Option<Level> {
        if n < LEVELS {
            Some(Level(n as u8))
        } else {
            None
        }
    }

    /// The level's number, usable as an index.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The level below, if any.
    pub const fn below(self) -> Option<Level> {
        Level::new(self.index() + 1)
    }

    /// Every level, top to bottom.
    pub fn all() -> impl DoubleEndedIterator<Item = Level> {
        (0..LEVELS as u8).map(Level)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L{}", self.0)
    }
}

/// What the manifest records about a table, and all the picker needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// The table's identity and file number.
    pub id: TableId,
    /// The file's size in bytes, checked when the tree is opened.
    pub size: u64,
    /// The smallest internal key in the table.
    pub smallest: InternalKey,
    /// The largest internal key in the table.
    pub largest: InternalKey,
    /// The smallest sequence number in the table.
    pub min_seqno: SeqNo,
    /// The largest sequence number in the table.
    pub max_seqno: SeqNo,
    /// Entries in the table, tombstones included.
    pub entries: u64,
    /// Tombstones in the table.
    pub tombstones: u64,
    /// For a table ingested from outside the engine (written with sequence number 0):
    /// the sequence number all its entries read with (`Table::with_global_seqno`).
    /// `None` for tables the engine wrote, whose entries carry their own.
    pub global_seqno: Option<SeqNo>,
}

impl TableInfo {
    /// The smallest user key.
    pub fn smallest_user(&self) -> &[u8] {
        &self.smallest.user_key
    }

    /// The largest user key.
    pub fn largest_user(&self) -> &[u8] {
        &self.largest.user_key
    }

    /// Whether the table's user-key range meets `[lo, hi]` (both inclusive).
    pub fn overlaps(&self, lo: &[u8], hi: &[u8]) -> bool {
        self.smallest_user() <= hi && lo <= self.largest_user()
    }

    /// Whether the table may hold `user_key`, judging by its key range.
    pub fn covers(&self, user_key: &[u8]) -> bool {
        self.overlaps(user_key, user_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(TableId(42).file_name(), "000042.sst");
        assert_eq!(TableId::from_file_name("000042.sst"), Some(TableId(42)));
        assert_eq!(
            TableId::from_file_name("1234567.sst"),
            Some(TableId(1234567))
        );
        assert_eq!(TableId::from_file_name(".sst"), None);
        assert_eq!(TableId::from_file_name("+1.sst"), None);
        assert_eq!(TableId::from_file_name("000042.sst.tmp"), None);
    }

    #[test]
    fn levels_are_bounded() {
        assert_eq!(Level::new(LEVELS), None);
        assert_eq!(Level::BOTTOM.below(), None);
        assert_eq!(Level::L0.below(), Level::new(1));
        assert_eq!(Level::all().count(), LEVELS);
    }
}
