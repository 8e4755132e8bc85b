//! The memtable's range tombstones: kept apart from the skiplist, as RocksDB keeps
//! them in a separate range-deletion memtable.
//!
//! A range tombstone cannot live among point entries: it covers keys that sort far
//! from its own start. So the memtable holds them here, as written, and a fragmented
//! copy ([`FragmentedRangeTombstones`]) that reads use: rebuilt on each insert, which
//! is cheap because range deletions are rare next to puts, and shared (`Arc`) so that
//! a reader never waits for a rebuild to finish.
//!
//! Thread-safety: inserts take the lock for writing; reads clone the `Arc` of the
//! fragmented copy under a read lock, or skip the lock entirely while the memtable has
//! no range tombstone at all (the common case: one relaxed load per lookup).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use quickcache_sstable::{FragmentedRangeTombstones, RangeTombstone, SeqNo};

/// The range tombstones of one memtable.
#[derive(Debug, Default)]
pub(crate) struct RangeDels {
    /// How many tombstones were inserted; read without the lock by the fast path.
    count: AtomicUsize,
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    raw: Vec<RangeTombstone>,
    fragmented: Arc<FragmentedRangeTombstones>,
}

impl RangeDels {
    /// Adds `[start, end) @ seqno`; returns the bytes it takes.
    pub(crate) fn insert(&self, start: &[u8], end: &[u8], seqno: SeqNo) -> usize {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        state.raw.push(RangeTombstone::new(start, end, seqno));
        state.fragmented = Arc::new(FragmentedRangeTombstones::new(state.raw.clone()));
        // Release: a reader that sees the count sees the tombstone under the lock.
        self.count.fetch_add(1, Ordering::Release);
        start.len() + end.len() + size_of::<RangeTombstone>()
    }

    /// Number of tombstones inserted.
    pub(crate) fn len(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// The tombstones, fragmented (empty if none).
    pub(crate) fn fragmented(&self) -> Arc<FragmentedRangeTombstones> {
        if self.len() == 0 {
            return Arc::default();
        }
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&state.fragmented)
    }

    /// The newest tombstone covering `key` that `snapshot` sees.
    #[inline]
    pub(crate) fn max_covering(&self, key: &[u8], snapshot: SeqNo) -> Option<SeqNo> {
        if self.len() == 0 {
            return None;
        }
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state.fragmented.max_covering(key, snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_are_fragmented_for_readers() {
        let dels = RangeDels::default();
        assert_eq!(dels.max_covering(b"b", SeqNo::MAX), None);
        let seq = |n| SeqNo::new(n).unwrap();
        dels.insert(b"a", b"c", seq(4));
        dels.insert(b"b", b"d", seq(7));
        assert_eq!(dels.len(), 2);
        assert_eq!(dels.max_covering(b"b", SeqNo::MAX), Some(seq(7)));
        assert_eq!(dels.max_covering(b"b", seq(6)), Some(seq(4)));
        assert_eq!(dels.max_covering(b"d", SeqNo::MAX), None);
        assert_eq!(dels.fragmented().fragments().len(), 3);
    }
}
