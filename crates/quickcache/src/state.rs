//! `SuperVersion`: the memtables a reader consults, swapped as a whole on every
//! freeze and flush so that a reader never sees a memtable's data twice or not at all.

use std::sync::{Arc, Mutex, RwLock};

use quickcache_memtable::{FrozenMemtable, HeldRangeTombstones, Memtable};

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
    /// `active`'s range tombstones when this was made, so that gets skip their lock
    /// (see [`Memtable::get_with`]); [`Memtables::current`] replaces a stale one.
    pub(crate) active_dels: HeldRangeTombstones,
}

impl SuperVersion {
    /// `active` and `frozen` (newest first), holding `active`'s range tombstones now.
    pub(crate) fn new(active: Arc<Memtable>, frozen: Vec<Arc<Frozen>>) -> SuperVersion {
        let active_dels = active.hold_range_tombstones();
        SuperVersion {
            active,
            frozen,
            active_dels,
        }
    }

    /// This one after a freeze: `active` is the fresh memtable, `frozen` goes first
    /// (newest) in front of the frozen ones.
    pub(crate) fn after_freeze(&self, active: Arc<Memtable>, frozen: Frozen) -> SuperVersion {
        let mut all = Vec::with_capacity(self.frozen.len() + 1);
        all.push(Arc::new(frozen));
        all.extend(self.frozen.iter().cloned());
        SuperVersion::new(active, all)
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

/// A keyspace's memtables as the write and read paths each need them.
///
/// The active memtable is held twice on purpose. Writers take `gate` shared for the
/// whole of their WAL append and insert, and a freeze takes it exclusively to switch
/// memtable and WAL segment together; readers instead clone `current` under a short
/// mutex, so a read never waits behind a freeze (which creates a segment file) and a
/// write never waits behind readers' mutex. A freeze changes both under `gate`
/// exclusively, so they agree whenever the gate is free (`debug_assert`ed there).
#[derive(Debug)]
pub(crate) struct Memtables {
    pub(crate) gate: RwLock<Arc<Memtable>>,
    pub(crate) current: Mutex<Arc<SuperVersion>>,
}

impl Memtables {
    /// `active` as the only memtable.
    pub(crate) fn new(active: Arc<Memtable>) -> Self {
        Memtables {
            gate: RwLock::new(Arc::clone(&active)),
            current: Mutex::new(Arc::new(SuperVersion::new(active, Vec::new()))),
        }
    }

    /// The memtables now, for a reader; first, if a range delete made the held
    /// tombstones stale, a fresh copy replaces them (once per range delete, by the
    /// first reader after it), so that gets go on skipping their lock.
    #[inline(always)]
    pub(crate) fn current(&self) -> Arc<SuperVersion> {
        let mut current = crate::inner::lock(&self.current);
        if !current.active.holds_current(&current.active_dels) {
            let fresh = SuperVersion::new(Arc::clone(&current.active), current.frozen.clone());
            *current = Arc::new(fresh);
        }
        Arc::clone(&current)
    }
}

impl Memtables {
    /// Asserts that `gate`, the active memtable as the held gate shows it, is also
    /// the one readers see: only a freeze changes either, and it changes both under
    /// the gate held exclusively.
    pub(crate) fn debug_assert_agree(&self, gate: &Arc<Memtable>) {
        debug_assert!(
            Arc::ptr_eq(gate, &crate::inner::lock(&self.current).active),
            "the gate's memtable is not the readers' active memtable"
        );
    }
}
