//! The range tombstones an iterator applies: those of every source it reads, visible
//! at its snapshot, fragmented together once, when its first cursor opens.
//!
//! The merge below shows stored entries only; a range tombstone hides entries in
//! other sources than its own. So, as RocksDB's `ReadRangeDelAggregator` does, the
//! iterator gathers the tombstones of the memtables and of the tables that meet its
//! range, and the ends consult them when they decide a user key: the key's newest
//! visible version is deleted if a visible tombstone covering it is newer. Without
//! any tombstone (the common case) the list is empty and costs nothing per key.

use std::ops::Bound;

use quickcache_compaction::{Level, TableHandle};
use quickcache_sstable::{FragmentedRangeTombstones, RangeTombstone, SeqNo};

use super::View;

/// Whether `table`'s key range meets `lower..upper`.
fn meets(table: &TableHandle, lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    let info = table.info();
    let above = match lower {
        Bound::Included(l) | Bound::Excluded(l) => info.largest_user() < l.as_slice(),
        Bound::Unbounded => false,
    };
    let below = match upper {
        Bound::Included(u) | Bound::Excluded(u) => info.smallest_user() > u.as_slice(),
        Bound::Unbounded => false,
    };
    !above && !below
}

impl View {
    /// The tombstones visible at the view's snapshot in every source that may hold a
    /// key of `lower..upper`, fragmented.
    pub(super) fn range_tombstones(
        &self,
        lower: &Bound<Vec<u8>>,
        upper: &Bound<Vec<u8>>,
    ) -> crate::Result<FragmentedRangeTombstones> {
        let mut all: Vec<RangeTombstone> = Vec::new();
        let snapshot = self.snapshot;
        let mut take = |list: &FragmentedRangeTombstones| {
            all.extend(list.tombstones().filter(|t| t.seqno <= snapshot));
        };
        take(&self.memtables.active.range_tombstones());
        for frozen in &self.memtables.frozen {
            take(&frozen.mem.range_tombstones());
        }
        for level in Level::all() {
            for table in self.version.level(level) {
                if meets(table, lower, upper) {
                    let opened = table.table().map_err(|source| crate::Error::Tree {
                        operation: "iterating",
                        path: self.dir.clone(),
                        source: Box::new(source),
                    })?;
                    take(opened.range_tombstones());
                }
            }
        }
        if all.is_empty() {
            return Ok(FragmentedRangeTombstones::default());
        }
        Ok(FragmentedRangeTombstones::new(all))
    }
}

/// Whether the newest version of `user_key` visible at `snapshot`, written at `seqno`,
/// is deleted by one of `ranges`.
#[inline]
pub(super) fn deleted(
    ranges: &FragmentedRangeTombstones,
    user_key: &[u8],
    seqno: SeqNo,
    snapshot: SeqNo,
) -> bool {
    !ranges.is_empty() && ranges.covers(user_key, seqno, snapshot)
}
