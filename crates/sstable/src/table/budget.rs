//! `SummaryBudget`: a cap on the heap that block summaries take, shared by every table
//! opened with it.
//!
//! A summary saves a lookup a few cache misses in its block, and costs about 4% of the
//! block's bytes for as long as the table is open: on a large database, summaries of
//! every block read would grow the heap with the data. Under a budget, a table builds
//! a summary only while the budget has room; lookups and seeks in the other blocks
//! binary-search the block's restart keys instead (slower, as right).
//!
//! Admission only: a summary, once built, stays until its table is dropped (a lookup
//! borrows it from the table, so evicting it would need another ownership: reference
//! counts on the hot path). A dropped table gives its bytes back, and compactions
//! replace tables all the time, so the summaries follow the live tables. Once the
//! budget has refused a reservation it refuses every other one until bytes come back,
//! so that a table does not build summaries only to drop them on every lookup.
//!
//! The budget also carries the other heap the readers of its tables share: the
//! [`BlockCache`] of decompressed blocks (its own limit, see `cache.rs`), so that
//! whoever hands one budget to every table of a database bounds both.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::cache::BlockCache;

/// The block cache of a budget made without one: 8 MiB.
pub const DEFAULT_BLOCK_CACHE: usize = 8 << 20;

/// A byte limit on the block summaries of the tables that share it, and the cache of
/// decompressed blocks they share; clones share both.
///
/// # Examples
/// ```
/// use quickcache_fs::SimFs;
/// use quickcache_sstable::{SummaryBudget, Table, TableBuilder, TableOptions};
///
/// let fs = SimFs::new(1);
/// let path = std::path::Path::new("/t.sst");
/// let mut builder = TableBuilder::new(&fs, path, TableOptions::default())?;
/// builder.add_plain(b"k", b"v")?;
/// builder.finish()?;
///
/// // No summaries at all: lookups read the restart keys of the block.
/// let budget = SummaryBudget::new(0);
/// let table = Table::open_with(&fs, path, budget.clone())?;
/// assert_eq!(table.get_plain(b"k")?.as_deref(), Some(&b"v"[..]));
/// assert_eq!(budget.used(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SummaryBudget {
    shared: Arc<Shared>,
    cache: BlockCache,
}

#[derive(Debug)]
struct Shared {
    limit: u64,
    used: AtomicU64,
    /// Set when a reservation failed, cleared when bytes come back.
    full: AtomicBool,
}

impl SummaryBudget {
    /// A budget of `limit` bytes, with a block cache of [`DEFAULT_BLOCK_CACHE`] bytes
    /// of its own.
    pub fn new(limit: u64) -> SummaryBudget {
        SummaryBudget {
            shared: Arc::new(Shared {
                limit,
                used: AtomicU64::new(0),
                full: AtomicBool::new(false),
            }),
            cache: BlockCache::new(DEFAULT_BLOCK_CACHE),
        }
    }

    /// The same budget with `cache` as the tables' cache of decompressed blocks.
    pub fn with_block_cache(mut self, cache: BlockCache) -> SummaryBudget {
        self.cache = cache;
        self
    }

    /// The cache of decompressed blocks the tables opened with this budget share.
    pub fn block_cache(&self) -> &BlockCache {
        &self.cache
    }

    /// A budget that never refuses: what [`crate::Table::open`] uses.
    pub fn unlimited() -> SummaryBudget {
        SummaryBudget::new(u64::MAX)
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.shared.limit
    }

    /// Bytes of summaries (and of their slot arrays) the tables hold now.
    pub fn used(&self) -> u64 {
        self.shared.used.load(Ordering::Relaxed)
    }

    /// Whether a reservation failed since bytes last came back: then no summary is
    /// worth building.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        // Relaxed: a stale answer costs one summary built in vain, or one not built.
        self.shared.full.load(Ordering::Relaxed)
    }

    /// Takes `bytes` from the budget if it has them.
    pub(crate) fn try_reserve(&self, bytes: u64) -> bool {
        let limit = self.shared.limit;
        let reserved = self
            .shared
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&n| n <= limit)
            })
            .is_ok();
        if !reserved {
            self.shared.full.store(true, Ordering::Relaxed);
        }
        reserved
    }

    /// Gives back `bytes` taken by [`SummaryBudget::try_reserve`].
    pub(crate) fn release(&self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        let _ = self
            .shared
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                Some(used.saturating_sub(bytes))
            });
        self.shared.full.store(false, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::SummaryBudget;

    #[test]
    fn reservations_stop_at_the_limit_until_bytes_come_back() {
        let budget = SummaryBudget::new(100);
        assert!(budget.try_reserve(60));
        assert!(!budget.is_full());
        assert!(!budget.try_reserve(41));
        assert!(budget.is_full());
        assert_eq!(budget.used(), 60);
        assert!(budget.clone().try_reserve(40));
        assert_eq!(budget.used(), 100);
        budget.release(60);
        assert!(!budget.is_full());
        assert_eq!(budget.used(), 40);
    }

    #[test]
    fn unlimited_budget_never_overflows() {
        let budget = SummaryBudget::unlimited();
        assert!(budget.try_reserve(u64::MAX - 1));
        assert!(!budget.try_reserve(2));
        assert_eq!(budget.used(), u64::MAX - 1);
    }
}
