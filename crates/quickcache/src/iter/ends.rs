//! `Ends`: the two ends of an iterator's range, each walking its own merge over every
//! version of every key and deciding, per user key, the newest version visible at the
//! snapshot (as LevelDB's `DBIter` does).

use std::cmp::Ordering;
use std::ops::Bound;

use quickcache_compaction::MergingCursor;
use quickcache_sstable::{Cursor, FragmentedRangeTombstones, KeyRef, SeqNo, Timestamp, ValueKind};

use super::ranges::deleted;
use super::source::Source;
use super::{View, current_value, live_offset};
use crate::Value;
// `a.cmp(b)`, compared inline: a bounded range checks its bounds at every step, and
// a slice comparison calls `memcmp`.
use quickcache_sstable::cmp_bytes as cmp_key;

/// The range and how far each end has got.
#[derive(Debug)]
pub(super) struct Ends {
    pub(super) lower: Bound<Vec<u8>>,
    pub(super) upper: Bound<Vec<u8>>,
    /// The last user key the front decided (yielded or skipped as deleted).
    pub(super) front_last: Option<Vec<u8>>,
    pub(super) back_last: Option<Vec<u8>>,
    /// The front cursor still stands on the entry it last yielded: it moves on at
    /// the next step, so that a borrowed entry can be read from it until then.
    pub(super) front_pending: bool,
    /// Where the user's value starts in the stored value of the entry the front
    /// stands on (past the expiry of an expiring value).
    pub(super) front_offset: usize,
    /// The value the back end last yielded (its key is `back_last`): backward, the
    /// cursor has already moved past it.
    pub(super) back_value: Option<Value>,
    /// Where the front starts instead of `lower`, after [`crate::Iter::seek`] (only
    /// if it is above `lower`).
    pub(super) front_target: Option<Vec<u8>>,
    /// Where the back starts instead of `upper`, after [`crate::Iter::seek_for_prev`]
    /// (only if it is below `upper`).
    pub(super) back_target: Option<Vec<u8>>,
    /// The range tombstones the iterator applies, gathered when its first cursor
    /// opens (see `ranges.rs`).
    pub(super) ranges: Option<FragmentedRangeTombstones>,
    /// Whether `ranges` holds any tombstone: without one (the common case) a step
    /// asks nothing more about them.
    pub(super) any_ranges: bool,
}

#[inline]
fn above_upper(upper: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match upper {
        Bound::Included(u) => cmp_key(key, u) == Ordering::Greater,
        Bound::Excluded(u) => cmp_key(key, u) != Ordering::Less,
        Bound::Unbounded => false,
    }
}

#[inline]
fn below_lower(lower: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match lower {
        Bound::Included(l) => cmp_key(key, l) == Ordering::Less,
        Bound::Excluded(l) => cmp_key(key, l) != Ordering::Greater,
        Bound::Unbounded => false,
    }
}

/// `a == b`, compared inline eight bytes at a time: the front asks it at every step,
/// and a slice comparison calls `memcmp` even for a 16-byte key.
#[inline]
fn same_key(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut wa, mut wb) = (a.chunks_exact(8), b.chunks_exact(8));
    let words = (&mut wa)
        .zip(&mut wb)
        .all(|(x, y)| x.first_chunk::<8>() == y.first_chunk::<8>());
    words
        && wa
            .remainder()
            .iter()
            .zip(wb.remainder())
            .all(|(x, y)| x == y)
}

impl Ends {
    /// Gathers the range tombstones of `view`, unless done before.
    pub(super) fn load_ranges(&mut self, view: &View) -> crate::Result<()> {
        if self.ranges.is_none() {
            let ranges = view.range_tombstones(&self.lower, &self.upper)?;
            self.any_ranges = !ranges.is_empty();
            self.ranges = Some(ranges);
        }
        Ok(())
    }

    /// Whether the newest visible version of `user_key`, at `seqno`, is deleted by a
    /// range tombstone.
    #[inline]
    fn range_deleted(&self, user_key: &[u8], seqno: SeqNo, snapshot: SeqNo) -> bool {
        self.any_ranges
            && self
                .ranges
                .as_ref()
                .is_some_and(|r| deleted(r, user_key, seqno, snapshot))
    }

    pub(super) fn open_front(
        &self,
        view: &View,
    ) -> quickcache_sstable::Result<MergingCursor<Source>> {
        let mut merge = view.merge();
        if let Some(target) = &self.front_target
            && !below_lower(&self.lower, target)
        {
            merge.seek(KeyRef::lookup(target, SeqNo::MAX))?;
            return Ok(merge);
        }
        match &self.lower {
            Bound::Unbounded => merge.seek_to_first()?,
            Bound::Included(k) | Bound::Excluded(k) => merge.seek(KeyRef::lookup(k, SeqNo::MAX))?,
        }
        Ok(merge)
    }

    pub(super) fn open_back(
        &self,
        view: &View,
    ) -> quickcache_sstable::Result<MergingCursor<Source>> {
        let mut merge = view.merge();
        if let Some(target) = &self.back_target
            && !above_upper(&self.upper, target)
        {
            // The oldest possible version of `target`: every version of it is before.
            merge.seek_for_prev(KeyRef::new(target, SeqNo::ZERO, ValueKind::Value))?;
            return Ok(merge);
        }
        match &self.upper {
            Bound::Unbounded => merge.seek_to_last()?,
            Bound::Included(k) => {
                merge.seek_for_prev(KeyRef::new(k, SeqNo::ZERO, ValueKind::Value))?;
            }
            Bound::Excluded(k) => merge.seek_for_prev(KeyRef::lookup(k, SeqNo::MAX))?,
        }
        Ok(merge)
    }

    pub(super) fn scan_front(
        &mut self,
        cursor: &mut MergingCursor<Source>,
        snapshot: SeqNo,
        now: impl Fn() -> Timestamp,
    ) -> quickcache_sstable::Result<bool> {
        if std::mem::take(&mut self.front_pending) {
            cursor.next()?;
        }
        loop {
            let Some(key) = cursor.key() else {
                return Ok(false);
            };
            let user = key.user_key;
            if above_upper(&self.upper, user)
                || self.back_last.as_deref().is_some_and(|b| user >= b)
            {
                return Ok(false);
            }
            let decided = self
                .front_last
                .as_deref()
                .is_some_and(|f| same_key(f, user));
            if key.seqno > snapshot || decided || below_lower(&self.lower, user) {
                cursor.next()?;
                continue;
            }
            let last = (self.front_last).get_or_insert_with(|| Vec::with_capacity(user.len()));
            last.clear();
            last.extend_from_slice(user);
            let live = if self.range_deleted(key.user_key, key.seqno, snapshot) {
                None
            } else {
                live_offset(key, || cursor.value(), &now)?
            };
            let Some(offset) = live else {
                // Deleted, range-deleted or expired.
                cursor.next()?;
                continue;
            };
            self.front_offset = offset;
            self.front_pending = true;
            return Ok(true);
        }
    }

    pub(super) fn scan_back(
        &mut self,
        cursor: &mut MergingCursor<Source>,
        snapshot: SeqNo,
        now: impl Fn() -> Timestamp,
    ) -> quickcache_sstable::Result<bool> {
        loop {
            let Some(key) = cursor.key() else {
                return Ok(false);
            };
            let user = key.user_key;
            if below_lower(&self.lower, user)
                || self.front_last.as_deref().is_some_and(|f| user <= f)
            {
                return Ok(false);
            }
            // The key being decided, in a buffer reused from key to key: the cursor
            // moves off it below.
            let mut last = self.back_last.take().unwrap_or_default();
            last.clear();
            last.extend_from_slice(user);
            // Backward, a user key's versions come oldest first: the last one at or
            // below the snapshot is the newest visible (older visible versions are
            // taken and replaced; a key rarely has more than one).
            let mut found: Option<Value> = None;
            let mut newest = SeqNo::ZERO;
            while let Some(key) = cursor.key() {
                if !same_key(key.user_key, &last) {
                    break;
                }
                if key.seqno <= snapshot {
                    let live = live_offset(key, || cursor.value(), &now)?;
                    found = live.map(|at| current_value(cursor, at));
                    newest = key.seqno;
                }
                cursor.prev()?;
            }
            if found.is_some() && self.range_deleted(&last, newest, snapshot) {
                found = None;
            }
            let hit = found.is_some() && !above_upper(&self.upper, &last);
            self.back_last = Some(last);
            if hit {
                self.back_value = found;
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quickcheck::quickcheck;

    use super::*;

    quickcheck! {
        fn inline_comparisons_match_the_slices(a: Vec<u8>, b: Vec<u8>, head: u8) -> bool {
            // A shared head of 0 to 20 bytes makes equal words and prefixes common.
            let head = vec![7u8; usize::from(head % 21)];
            let (a, b) = ([head.as_slice(), &a].concat(), [head.as_slice(), &b].concat());
            cmp_key(&a, &b) == a.cmp(&b)
                && same_key(&a, &b) == (a == b)
                && same_key(&a, &a)
                && cmp_key(&a, &a) == Ordering::Equal
        }
    }
}
