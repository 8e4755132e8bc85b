//! Range tombstones in flushes and compactions: which entries they drop, which of
//! them survive, and in which output table each goes.
//!
//! The rules, after RocksDB's `CompactionRangeDelAggregator`:
//!
//! - An entry is dropped if a range tombstone covers it that is newer and in the same
//!   snapshot stripe (see [`crate::Retention`]): every reader that sees the entry then
//!   sees the tombstone too. A snapshot between the two keeps the entry.
//! - Of the tombstones covering one fragment, only the newest of each stripe is kept
//!   (an older one in the same stripe hides nothing the newer does not).
//! - A tombstone in the oldest stripe is dropped where no level below the output may
//!   hold a key of its range: everything it could hide was dropped beside it.
//! - An output table is never cut inside a range tombstone: the tables of a level stay
//!   disjoint by user key, tombstones included, so that a lookup's first hit in level
//!   order is still the newest version of its key.

use quickcache_sstable::{FragmentedRangeTombstones, KeyRef, RangeTombstone, SeqNo};

use crate::output::Outputs;
use crate::{Result, Retention};

/// A job's range tombstones and how far they have been written.
pub(crate) struct RangeDels {
    list: FragmentedRangeTombstones,
    retention: Retention,
    /// The next fragment to write.
    next: usize,
    /// The largest end of the fragments written to the open output.
    open_end: Option<Vec<u8>>,
}

impl RangeDels {
    /// The tombstones `list` of a job whose live snapshots are `snapshots`.
    pub(crate) fn new(list: FragmentedRangeTombstones, snapshots: &[SeqNo]) -> Self {
        RangeDels {
            list,
            retention: Retention::new(snapshots.to_vec()),
            next: 0,
            open_end: None,
        }
    }

    /// Whether `key` is deleted by a newer tombstone of its own snapshot stripe.
    pub(crate) fn covers(&self, key: KeyRef<'_>) -> bool {
        if self.list.is_empty() {
            return false;
        }
        // The oldest tombstone newer than the entry is in the lowest stripe of those
        // newer (stripes grow with sequence numbers).
        let stack = self.list.covering(key.user_key);
        let oldest_newer = stack.iter().rev().find(|&&t| t > key.seqno);
        oldest_newer.is_some_and(|&t| self.retention.stripe(t) == self.retention.stripe(key.seqno))
    }

    /// Writes to the open output (opening one if needed) the fragments that start
    /// before `bound` (all that remain for `None`). `absent_below(start, end)` says
    /// whether no deeper level may hold a key of `[start, end]`.
    pub(crate) fn write_before(
        &mut self,
        bound: Option<&[u8]>,
        outputs: &mut Outputs<'_>,
        absent_below: impl Fn(&[u8], &[u8]) -> bool,
    ) -> Result<()> {
        while let Some(f) = self.list.fragments().get(self.next) {
            if bound.is_some_and(|b| f.start.as_slice() >= b) {
                break;
            }
            self.next += 1;
            let bottom = absent_below(&f.start, &f.end);
            let mut last_stripe = None;
            for &seqno in &f.seqnos {
                let stripe = self.retention.stripe(seqno);
                if last_stripe == Some(stripe) || (bottom && stripe == 0) {
                    continue;
                }
                last_stripe = Some(stripe);
                outputs.add_range_tombstone(RangeTombstone::new(
                    f.start.clone(),
                    f.end.clone(),
                    seqno,
                ))?;
                if self.open_end.as_ref().is_none_or(|e| e < &f.end) {
                    self.open_end = Some(f.end.clone());
                }
            }
        }
        Ok(())
    }

    /// Whether the open output may end before `user_key`: no tombstone written to it
    /// reaches that far (an end is exclusive, but a table's largest key is then that
    /// end's user key, and the tables of a level must not share a user key).
    pub(crate) fn may_cut_before(&self, user_key: &[u8]) -> bool {
        self.open_end
            .as_ref()
            .is_none_or(|e| e.as_slice() < user_key)
    }

    /// The open output was finished.
    pub(crate) fn cut(&mut self) {
        self.open_end = None;
    }
}
