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
//!
//! A reader may also hold a copy taken earlier ([`HeldRangeTombstones`]) and pass it
//! to [`Memtable::get_with`]: while no tombstone was inserted since, the copy is the
//! current list and the lookup skips the lock (its atomic read-modify-writes were
//! about a sixth of a get's range tombstone cost). A copy that is stale is ignored,
//! so holding one never changes an answer.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use quickcache_sstable::{FragmentedRangeTombstones, RangeTombstone, SeqNo};

use crate::{Lookup, Memtable};

/// Numbers the [`RangeDels`] of the process, so that a held copy names its owner.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The range tombstones of one memtable.
#[derive(Debug)]
pub(crate) struct RangeDels {
    /// How many tombstones were inserted; read without the lock by the fast path.
    count: AtomicUsize,
    /// Unique in the process: which memtable a [`HeldRangeTombstones`] came from.
    id: u64,
    state: RwLock<State>,
}

impl Default for RangeDels {
    fn default() -> Self {
        RangeDels {
            count: AtomicUsize::new(0),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            state: RwLock::default(),
        }
    }
}

/// A memtable's range tombstones as they were at some moment, for a reader to keep
/// and pass to [`Memtable::get_with`] (the engine keeps one with the memtables a read
/// uses). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct HeldRangeTombstones {
    /// The [`RangeDels::id`] of the memtable it came from (0: none).
    owner: u64,
    /// How many tombstones had been inserted then.
    count: usize,
    list: Arc<FragmentedRangeTombstones>,
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
        self.locked_max_covering(key, snapshot)
    }

    /// [`RangeDels::max_covering`] from `held` if it is still the current list.
    ///
    /// Why the count suffices: a tombstone is counted (`Release`, under the write
    /// lock) before its write becomes visible, and the caller loaded `snapshot`
    /// before this count. So every tombstone `snapshot` can see is among the `count`
    /// inserted first, which are exactly `held`'s when the counts agree (the list
    /// only grows).
    #[inline]
    fn max_covering_with(
        &self,
        key: &[u8],
        snapshot: SeqNo,
        held: &HeldRangeTombstones,
    ) -> Option<SeqNo> {
        let count = self.len();
        if count == 0 {
            return None;
        }
        if count == held.count && held.owner == self.id {
            return held.list.max_covering(key, snapshot);
        }
        self.locked_max_covering(key, snapshot)
    }

    #[inline(never)]
    fn locked_max_covering(&self, key: &[u8], snapshot: SeqNo) -> Option<SeqNo> {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state.fragmented.max_covering(key, snapshot)
    }

    /// The current list, to hold.
    fn held(&self) -> HeldRangeTombstones {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        HeldRangeTombstones {
            owner: self.id,
            count: state.raw.len(),
            list: Arc::clone(&state.fragmented),
        }
    }
}

impl Memtable {
    /// The range tombstones now, for a reader to hold and pass to
    /// [`Memtable::get_with`].
    pub fn hold_range_tombstones(&self) -> HeldRangeTombstones {
        self.range_dels().held()
    }

    /// Whether `held` is this memtable's current list (no tombstone inserted since it
    /// was taken): if not, a reader should take a fresh one.
    #[inline]
    pub fn holds_current(&self, held: &HeldRangeTombstones) -> bool {
        let dels = self.range_dels();
        held.owner == dels.id && held.count == dels.len()
    }

    /// [`Memtable::get`], the same answer, without the range tombstones' lock when
    /// `held` is current. Requires, for that answer: `snapshot` was loaded before
    /// this call (as any read does).
    #[inline]
    pub fn get_with(
        &self,
        user_key: &[u8],
        snapshot: SeqNo,
        held: &HeldRangeTombstones,
    ) -> Option<Lookup<'_>> {
        let covered = self
            .range_dels()
            .max_covering_with(user_key, snapshot, held);
        self.get_covered(user_key, snapshot, covered)
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

    fn seq(n: u64) -> SeqNo {
        SeqNo::new(n).unwrap_or(SeqNo::MAX)
    }

    /// The seqno of a deletion answer, `Some(None)` for any other answer.
    fn deleted_at(found: Option<Lookup<'_>>) -> Option<Option<SeqNo>> {
        found.map(|l| match l {
            Lookup::Deleted(s) => Some(s),
            _ => None,
        })
    }

    /// A range delete straight into `m`'s tombstones (no batch needed here).
    fn del(m: &Memtable, start: &[u8], end: &[u8], seqno: SeqNo) {
        m.range_dels().insert(start, end, seqno);
    }

    #[test]
    fn a_held_list_answers_only_while_current_and_only_for_its_memtable() {
        let (m, other) = (Memtable::new(), Memtable::new());
        del(&m, b"a", b"m", seq(5));
        let held = m.hold_range_tombstones();
        assert!(m.holds_current(&held) && !other.holds_current(&held));
        assert_eq!(
            deleted_at(m.get_with(b"c", SeqNo::MAX, &held)),
            Some(Some(seq(5)))
        );
        // Stale: the new tombstone still counts.
        del(&m, b"n", b"z", seq(6));
        assert!(!m.holds_current(&held));
        assert_eq!(
            deleted_at(m.get_with(b"p", SeqNo::MAX, &held)),
            Some(Some(seq(6)))
        );
        // Another memtable's list with the same count is ignored.
        del(&other, b"x", b"y", seq(7));
        let foreign = other.hold_range_tombstones();
        let one = Memtable::new();
        del(&one, b"b", b"c", seq(8));
        assert_eq!(deleted_at(one.get_with(b"x", SeqNo::MAX, &foreign)), None);
        assert_eq!(
            deleted_at(one.get_with(b"b", SeqNo::MAX, &foreign)),
            Some(Some(seq(8)))
        );
    }

    quickcheck::quickcheck! {
        /// Whatever list a reader holds (current, stale, empty), `get_with` answers
        /// as `get` does, at every snapshot.
        fn get_with_any_held_list_agrees_with_get(
            ops: Vec<(u8, u8, bool)>,
            probes: Vec<(u8, u8)>
        ) -> bool {
            let m = Memtable::new();
            let mut held = vec![HeldRangeTombstones::default()];
            for (i, (a, b, hold)) in ops.iter().enumerate() {
                del(&m, &[a % 16], &[b % 16], seq(i as u64 + 1));
                if *hold {
                    held.push(m.hold_range_tombstones());
                }
            }
            held.push(m.hold_range_tombstones());
            probes.iter().all(|(k, s)| {
                let (key, snapshot) = ([k % 16], seq(u64::from(*s) % (ops.len() as u64 + 2)));
                let want = deleted_at(m.get(&key, snapshot));
                held.iter().all(|h| deleted_at(m.get_with(&key, snapshot, h)) == want)
            })
        }
    }
}
