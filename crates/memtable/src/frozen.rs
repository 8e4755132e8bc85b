//! The frozen memtable: a read-only handle that flush consumes.

use std::sync::Arc;

use quickcache_sstable::SeqNo;

use crate::cursor::{MemtableCursor, SharedCursor};
use crate::memtable::{Lookup, Memtable};

/// A memtable that takes no more writes, shared by readers and the flush.
///
/// Freezing is a change of handle, not of data: the type offers only reads, so code
/// holding a `FrozenMemtable` cannot insert. The engine must also make sure no writer
/// still holds the *active* handle: it swaps in a new memtable under the lock that
/// reserves sequence numbers, then waits with [`crate::Visibility::wait_visible`] for
/// the last sequence number reserved before the swap. After that wait every batch
/// bound for this memtable is fully inserted, and [`FrozenMemtable::cursor`] sees all
/// of it.
///
/// Cloning is cheap (an `Arc`).
#[derive(Debug, Clone)]
pub struct FrozenMemtable {
    inner: Arc<Memtable>,
}

impl FrozenMemtable {
    /// The newest entry of `user_key` at or below `snapshot`; see [`Memtable::get`].
    pub fn get(&self, user_key: &[u8], snapshot: SeqNo) -> Option<Lookup<'_>> {
        self.inner.get(user_key, snapshot)
    }

    /// The range tombstones, fragmented; see [`Memtable::range_tombstones`].
    pub fn range_tombstones(&self) -> Arc<quickcache_sstable::FragmentedRangeTombstones> {
        self.inner.range_tombstones()
    }

    /// A cursor over every entry in internal-key order, initially invalid.
    pub fn cursor(&self) -> MemtableCursor<'_> {
        self.inner.cursor()
    }

    /// A cursor that shares the memtable; see [`Memtable::shared_cursor`].
    pub fn shared_cursor(&self) -> SharedCursor {
        self.inner.shared_cursor()
    }

    /// Approximate bytes held; see [`Memtable::approximate_memory`].
    pub fn approximate_memory(&self) -> usize {
        self.inner.approximate_memory()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the memtable holds no entries.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The smallest and largest sequence numbers held; `None` if empty. The flush
    /// records them in the table's metadata, and the WAL may be trimmed up to the
    /// largest once the table is durable.
    pub fn seqno_range(&self) -> Option<(SeqNo, SeqNo)> {
        self.inner.seqno_range()
    }
}

impl Memtable {
    /// Freezes a shared memtable; see [`FrozenMemtable`] for what the engine must
    /// ensure first.
    pub fn freeze(self: Arc<Self>) -> FrozenMemtable {
        FrozenMemtable { inner: self }
    }
}

impl From<Memtable> for FrozenMemtable {
    fn from(memtable: Memtable) -> Self {
        Arc::new(memtable).freeze()
    }
}
