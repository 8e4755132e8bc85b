//! `SuperVersion`: the memtables a reader consults, swapped as a whole on every
//! freeze and flush so that a reader never sees a memtable's data twice or not at all.

use std::sync::Arc;

use quickcache_memtable::{FrozenMemtable, Memtable};

/// A frozen memtable waiting for (or being written by) its flush.
#[derive(Debug)]
pub(crate) struct Frozen {
    pub(crate) mem: FrozenMemtable,
    /// The WAL segment that received the first write after the freeze: once this
    /// memtable (and every older one) is in a table, segments below it are obsolete.
    pub(crate) log_number: u64,
}

/// The memtables at one moment. Immutable; replaced whole under the facade's lock.
///
/// Readers take it first and the tree's version second: a flush installs its table
/// in the version before it removes the memtable from here, so a reader holding this
/// and a version taken later sees every entry at least once.
#[derive(Debug)]
pub(crate) struct SuperVersion {
    pub(crate) active: Arc<Memtable>,
    /// Newest first.
    pub(crate) frozen: Vec<Arc<Frozen>>,
}

impl SuperVersion {
    /// This one after a freeze: `active` is the fresh memtable, `frozen` goes first
    /// (newest) in front of the frozen ones.
    pub(crate) fn after_freeze(&self, active: Arc<Memtable>, frozen: Frozen) -> SuperVersion {
        let mut all = Vec::with_capacity(self.frozen.len() + 1);
        all.push(Arc::new(frozen));
        all.extend(self.frozen.iter().cloned());
        SuperVersion {
            active,
            frozen: all,
        }
    }

    /// Approximate bytes held by every memtable.
    pub(crate) fn memory(&self) -> usize {
        self.active.approximate_memory()
            + self
                .frozen
                .iter()
                .map(|f| f.mem.approximate_memory())
                .sum::<usize>()
    }
}
