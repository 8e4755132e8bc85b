//! `Version`: the set of tables forming the tree at one moment, immutable once built.
//!
//! Readers hold an `Arc<Version>` and keep reading it while newer versions are
//! installed; the tables it lists stay on disk until every version listing them is
//! gone (see [`TableHandle`]).

use std::sync::Arc;

use quickcache_sstable::{Cursor, Entry, InternalKey, SeqNo};

use crate::{LEVELS, Level, LevelCursor, Result, TableHandle, TableInfo};

/// A cursor as the merge takes it: any source, boxed, movable to another thread.
pub type BoxCursor = Box<dyn Cursor + Send>;

/// A cursor over one L0 table or one deeper level of a version, sharing the version's
/// table list (see [`Version::tree_cursors`]).
pub type TreeCursor = LevelCursor<Arc<TableHandle>, LevelTables>;

/// The tables of one level of a version (or a single L0 table), borrowed from the
/// version through an `Arc`: one reference-count increment per cursor, where a copy
/// of the list would allocate and increment one count per table.
#[derive(Debug, Clone)]
pub struct LevelTables {
    version: Arc<Version>,
    level: usize,
    /// For L0, the one table this list holds (L0 tables overlap: each is a source).
    single: Option<usize>,
}

impl AsRef<[Arc<TableHandle>]> for LevelTables {
    fn as_ref(&self) -> &[Arc<TableHandle>] {
        let tables = self.version.levels[self.level].as_slice();
        match self.single {
            Some(i) => {
                // `tree_cursors` takes `i` from this level of this (immutable)
                // version, so it is in range; an empty list would hide the table.
                let one = tables.get(i..=i);
                debug_assert!(one.is_some(), "L0 table {i} of {}", tables.len());
                one.unwrap_or_default()
            }
            None => tables,
        }
    }
}

/// The tables of each level plus the compaction pointers.
///
/// Invariants (checked when a version is built from edits):
/// - L0 is ordered newest first (by largest sequence number) and its tables may
///   overlap;
/// - every other level is ordered by key and its tables' user-key ranges are disjoint.
#[derive(Debug, Clone, Default)]
pub struct Version {
    pub(crate) levels: [Vec<Arc<TableHandle>>; LEVELS],
    /// Per level, the largest key of the last compaction out of it: the next one
    /// starts after it, so compactions rotate through the key space.
    pub(crate) pointers: [Option<InternalKey>; LEVELS],
}

impl Version {
    /// An empty tree.
    pub fn new() -> Version {
        Version::default()
    }

    /// The tables of `level`, in the order the invariants state.
    pub fn level(&self, level: Level) -> &[Arc<TableHandle>] {
        &self.levels[level.index()]
    }

    /// The compaction pointer of `level`, if a compaction has run out of it.
    pub fn compaction_pointer(&self, level: Level) -> Option<&InternalKey> {
        self.pointers[level.index()].as_ref()
    }

    /// Every table, level by level.
    pub fn tables(&self) -> impl Iterator<Item = (Level, &Arc<TableHandle>)> {
        Level::all().flat_map(move |l| self.level(l).iter().map(move |t| (l, t)))
    }

    /// Number of tables in L0: the signal for slowing writes down.
    pub fn l0_count(&self) -> usize {
        self.levels[0].len()
    }

    /// Total file bytes of `level`.
    pub fn level_size(&self, level: Level) -> u64 {
        self.level(level).iter().map(|t| t.info().size).sum()
    }

    /// Total file bytes of the tree.
    pub fn total_size(&self) -> u64 {
        Level::all().map(|l| self.level_size(l)).sum()
    }

    /// The deepest level holding any table.
    pub fn deepest_nonempty(&self) -> Option<Level> {
        Level::all().rev().find(|&l| !self.level(l).is_empty())
    }

    /// The tables that may hold `user_key`, in the order a read must consult them
    /// (newest data first): every covering L0 table newest first, then at most one
    /// table per deeper level, found by binary search.
    pub fn tables_for_key<'a>(
        &'a self,
        user_key: &'a [u8],
    ) -> impl Iterator<Item = &'a Arc<TableHandle>> + 'a {
        let l0 = self.levels[0]
            .iter()
            .filter(move |t| t.info().covers(user_key));
        let deeper = self.levels[1..]
            .iter()
            .filter_map(move |tables| find_in_level(tables, user_key));
        l0.chain(deeper)
    }

    /// The tables of `level` whose user-key range meets `[lo, hi]` (inclusive), in
    /// level order. On L1 and below this is a contiguous run found by binary search.
    pub fn overlapping(&self, level: Level, lo: &[u8], hi: &[u8]) -> Vec<Arc<TableHandle>> {
        let tables = self.level(level);
        if level == Level::L0 {
            return tables
                .iter()
                .filter(|t| t.info().overlaps(lo, hi))
                .cloned()
                .collect();
        }
        let start = tables.partition_point(|t| t.info().largest_user() < lo);
        let end = tables.partition_point(|t| t.info().smallest_user() <= hi);
        tables
            .get(start..end.max(start))
            .unwrap_or_default()
            .to_vec()
    }

    /// The newest entry of `user_key` visible at `snapshot`, tombstones included:
    /// the first hit in [`Version::tables_for_key`] order.
    #[inline]
    pub fn get(&self, user_key: &[u8], snapshot: SeqNo) -> Result<Option<Entry>> {
        for table in self.tables_for_key(user_key) {
            if let Some(entry) = table.get(user_key, snapshot)? {
                return Ok(Some(entry));
            }
        }
        Ok(None)
    }

    /// Cursors over the whole tree, newest source first (each L0 table, then one per
    /// non-empty level), ready for a [`crate::MergingCursor`]; put memtable cursors in
    /// front. Tables open lazily as the cursors reach them.
    pub fn cursors(&self) -> Vec<BoxCursor> {
        let l0 = self.levels[0]
            .iter()
            .map(|t| Box::new(LevelCursor::new(vec![Arc::clone(t)])) as BoxCursor);
        let deeper = self.levels[1..]
            .iter()
            .filter(|tables| !tables.is_empty())
            .map(|tables| Box::new(LevelCursor::new(tables.clone())) as BoxCursor);
        l0.chain(deeper).collect()
    }

    /// The same cursors as [`Version::cursors`], unboxed and sharing this version's
    /// table lists: a reader creating cursors for every short scan pays neither a
    /// box per source nor a copy of each level's list.
    pub fn tree_cursors(self: &Arc<Self>) -> impl Iterator<Item = TreeCursor> + '_ {
        let l0 = (0..self.levels[0].len()).map(|i| (0, Some(i)));
        let deeper = (1..LEVELS)
            .filter(|&level| !self.levels[level].is_empty())
            .map(|level| (level, None));
        l0.chain(deeper).map(|(level, single)| {
            LevelCursor::new(LevelTables {
                version: Arc::clone(self),
                level,
                single,
            })
        })
    }

    /// The metadata of every table of `level`.
    pub fn infos(&self, level: Level) -> impl Iterator<Item = &TableInfo> {
        self.level(level).iter().map(|t| t.info())
    }
}

/// The one table of a sorted, disjoint level that may hold `user_key`.
fn find_in_level<'a>(
    tables: &'a [Arc<TableHandle>],
    user_key: &[u8],
) -> Option<&'a Arc<TableHandle>> {
    let i = tables.partition_point(|t| t.info().largest_user() < user_key);
    tables
        .get(i)
        .filter(|t| t.info().smallest_user() <= user_key)
}
