//! Snapshot visibility: which sequence numbers readers may see, so that a write batch
//! becomes visible all at once.
//!
//! # How a batch becomes visible atomically
//!
//! The memtable shows every inserted entry to every reader; visibility is decided by
//! sequence numbers. A reader takes a snapshot `s = visibility.visible()` and uses only
//! entries with seqno `<= s` ([`crate::Memtable::get`] skips the rest by the key
//! order; a cursor's user filters them). A writer:
//!
//! 1. reserves consecutive seqnos for its batch ([`Visibility::reserve`]), before it
//!    appends the batch to the WAL (so concurrent batches may reach the WAL in
//!    another order than their seqnos: the engine's `docs/design.md`, "Write order");
//! 2. inserts every entry of the batch ([`crate::Memtable::apply`]);
//! 3. publishes the reservation ([`Reservation::publish`]).
//!
//! Readers see batches in seqno order; the facade also stages WAL records in that
//! order (docs/design.md, "Write order").
//!
//! `visible` only ever moves to the *last* seqno of a fully inserted batch, so it
//! never lies inside a batch: a snapshot holds all of a batch or none of it.
//!
//! # Out-of-order completion
//!
//! Writers may finish inserting in any order. If batch B (seqnos 13..=15) finished
//! before batch A (10..=12) and published 15, a reader at 15 would see B and a
//! half-inserted A. So publication is in seqno order: a finished reservation whose
//! predecessors are not yet published is parked, and the publisher that closes the
//! gap advances `visible` over every contiguous finished reservation. No writer waits
//! for another.
//!
//! # Memory ordering
//!
//! Skiplist inserts happen before the publisher's `Release` store of `visible` (a
//! parked reservation's inserts happen before its publisher releases the state mutex,
//! which the gap-closing publisher then acquires). A reader's `Acquire` load of
//! `visible` synchronizes with that store, so every entry at or below the loaded
//! snapshot is reachable in the skiplist when the reader searches.
//!
//! # Rules for the engine
//!
//! - Every reservation must be published, including one whose batch failed before
//!   reaching the memtable (publishing seqnos with no entries is harmless). Dropping
//!   one unpublished stalls visibility at its first seqno, and every later
//!   [`Visibility::reserve`] fails with [`Error::Stalled`]: a sticky failure instead
//!   of readers that silently stop advancing.
//! - Publish only after the whole batch is inserted.

use std::collections::BTreeMap;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use quickcache_sstable::SeqNo;

use crate::error::{Error, Result};
use crate::sync::{AtomicU64, Condvar, Mutex, MutexGuard};

/// Hands out sequence numbers and publishes them to readers in order.
///
/// Thread safety: `Send + Sync`. [`Visibility::visible`] is one atomic load;
/// reserving and publishing take a short mutex.
#[derive(Debug)]
pub struct Visibility {
    /// Highest published seqno; written only under `state`, read lock-free.
    visible: AtomicU64,
    state: Mutex<State>,
    /// Signalled whenever `visible` advances or a reservation is abandoned.
    changed: Condvar,
}

#[derive(Debug)]
struct State {
    /// The next seqno to hand out.
    next: u64,
    /// Mirror of `visible`, so publishers need no atomic read-modify-write.
    visible: u64,
    /// Finished reservations waiting for an earlier one: first seqno -> last seqno.
    parked: BTreeMap<u64, u64>,
    /// First seqno of the earliest reservation dropped without publishing.
    abandoned: Option<SeqNo>,
    /// Threads blocked in `wait_visible`. Waking a condvar costs a futex syscall even
    /// with no one waiting, which would be a visible share of every publish.
    waiters: usize,
}

impl Visibility {
    /// A tracker after `last`: readers see everything up to `last` (the highest seqno
    /// recovered from the WAL and tables, or [`SeqNo::ZERO`] for a new database), and
    /// the next reservation starts at `last + 1`.
    pub fn new(last: SeqNo) -> Self {
        Visibility {
            visible: AtomicU64::new(last.get()),
            state: Mutex::new(State {
                next: last.get() + 1,
                visible: last.get(),
                parked: BTreeMap::new(),
                abandoned: None,
                waiters: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// The snapshot a new reader should use: every batch at or below it is fully
    /// inserted, none above it is visible.
    pub fn visible(&self) -> SeqNo {
        // Only published seqnos are stored (`new`'s `last`, a reservation's last), all
        // valid SeqNos. Debug builds assert it; release builds keep every read to one
        // atomic load, and would read nothing rather than everything.
        let visible = SeqNo::new(self.visible.load(Ordering::Acquire));
        debug_assert!(visible.is_some(), "visible seqno past SeqNo::MAX");
        visible.unwrap_or(SeqNo::ZERO)
    }

    /// The last seqno handed out (the visible one if nothing is in flight).
    pub fn last_reserved(&self) -> SeqNo {
        let next = self.lock().next;
        // `next` is one past a valid SeqNo: `new`'s `last`, or a reservation's last,
        // which `reserve` keeps at or below SeqNo::MAX.
        let last = SeqNo::new(next - 1);
        debug_assert!(last.is_some(), "next seqno {next} is two past SeqNo::MAX");
        last.unwrap_or(SeqNo::MAX)
    }

    /// Reserves `count` consecutive seqnos for one batch, above every seqno reserved
    /// before. Readers see batches in this order (see the module doc).
    ///
    /// Fails with [`Error::Stalled`] after a reservation was abandoned and with
    /// [`Error::SeqNoExhausted`] past [`SeqNo::MAX`]. A zero count reserves nothing.
    #[inline]
    pub fn reserve(&self, count: u32) -> Result<Reservation<'_>> {
        let mut state = self.lock();
        if let Some(seqno) = state.abandoned {
            return Err(Error::Stalled { seqno });
        }
        let n = u64::from(count);
        let first = SeqNo::new(state.next)
            .filter(|f| n == 0 || f.checked_add(n - 1).is_some())
            .ok_or(Error::SeqNoExhausted {
                first: state.next,
                count: n,
            })?;
        state.next += n;
        Ok(Reservation {
            visibility: self,
            first,
            count,
            published: false,
        })
    }

    /// Blocks until `visible() >= seqno`. Fails with [`Error::Stalled`] if an abandoned
    /// reservation means it never will be.
    ///
    /// Meant for seqnos already reserved (`seqno <= last_reserved()`), such as the
    /// last one before a memtable switch; for a later one it waits for future writes.
    pub fn wait_visible(&self, seqno: SeqNo) -> Result<()> {
        let mut state = self.lock();
        loop {
            if state.visible >= seqno.get() {
                return Ok(());
            }
            if let Some(stall) = state.abandoned.filter(|a| *a <= seqno) {
                return Err(Error::Stalled { seqno: stall });
            }
            // Counted under the mutex, which `wait` releases atomically, so a
            // publisher that sees no waiter cannot miss this one.
            state.waiters += 1;
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
            state.waiters -= 1;
        }
    }

    /// Marks `first..=last` as inserted and advances `visible` over every contiguous
    /// finished range.
    fn finish(&self, first: u64, last: u64) {
        let mut guard = self.lock();
        let state = &mut *guard;
        state.parked.insert(first, last);
        let before = state.visible;
        while let Some(last) = state.parked.remove(&(state.visible + 1)) {
            state.visible = last;
        }
        if state.visible != before {
            self.visible.store(state.visible, Ordering::Release);
            if state.waiters > 0 {
                self.changed.notify_all();
            }
        }
    }

    fn abandon(&self, first: SeqNo) {
        let mut state = self.lock();
        state.abandoned = Some(state.abandoned.map_or(first, |a| a.min(first)));
        self.changed.notify_all();
    }

    /// The state, even if a thread panicked while holding it: every update leaves it
    /// consistent, so poisoning carries no information here.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Consecutive sequence numbers reserved for one batch; publish it once the batch is
/// in the memtable.
#[derive(Debug)]
#[must_use = "an unpublished reservation stalls visibility"]
pub struct Reservation<'a> {
    visibility: &'a Visibility,
    first: SeqNo,
    count: u32,
    published: bool,
}

impl Reservation<'_> {
    /// The first reserved seqno: the batch's base ([`crate::WriteBatch::set_base_seqno`]).
    pub fn first(&self) -> SeqNo {
        self.first
    }

    /// The last reserved seqno; `None` for an empty reservation.
    pub fn last(&self) -> Option<SeqNo> {
        let n = u64::from(self.count).checked_sub(1)?;
        self.first.checked_add(n)
    }

    /// How many seqnos are reserved.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Declares the batch fully inserted. Readers see it once every earlier
    /// reservation is published too.
    pub fn publish(mut self) {
        self.published = true;
        if let Some(last) = self.last() {
            self.visibility.finish(self.first.get(), last.get());
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.published && self.count > 0 {
            self.visibility.abandon(self.first);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Duration;

    fn seq(n: u64) -> SeqNo {
        SeqNo::new(n).unwrap()
    }

    #[test]
    fn reservations_are_consecutive_and_start_after_the_recovered_seqno() {
        let vis = Visibility::new(seq(10));
        assert_eq!(vis.visible(), seq(10));
        let a = vis.reserve(3).unwrap();
        let b = vis.reserve(2).unwrap();
        assert_eq!((a.first(), a.last()), (seq(11), Some(seq(13))));
        assert_eq!((b.first(), b.last()), (seq(14), Some(seq(15))));
        assert_eq!(vis.last_reserved(), seq(15));
        a.publish();
        b.publish();
    }

    #[test]
    fn a_later_batch_waits_for_an_earlier_one() {
        let vis = Visibility::new(SeqNo::ZERO);
        let a = vis.reserve(3).unwrap();
        let b = vis.reserve(3).unwrap();
        let c = vis.reserve(1).unwrap();
        b.publish();
        assert_eq!(vis.visible(), SeqNo::ZERO, "b is parked behind a");
        a.publish();
        assert_eq!(vis.visible(), seq(6), "a releases itself and b at once");
        c.publish();
        assert_eq!(vis.visible(), seq(7));
    }

    #[test]
    fn an_empty_reservation_takes_no_seqno() {
        let vis = Visibility::new(seq(4));
        let empty = vis.reserve(0).unwrap();
        assert_eq!((empty.count(), empty.last()), (0, None));
        drop(empty);
        let next = vis.reserve(1).unwrap();
        assert_eq!(next.first(), seq(5));
        next.publish();
        assert_eq!(vis.visible(), seq(5));
    }

    #[test]
    fn an_abandoned_reservation_stalls_visibility_for_good() {
        let vis = Visibility::new(SeqNo::ZERO);
        let a = vis.reserve(2).unwrap();
        let b = vis.reserve(1).unwrap();
        drop(a);
        b.publish();
        assert_eq!(vis.visible(), SeqNo::ZERO);
        assert!(matches!(vis.reserve(1), Err(Error::Stalled { seqno }) if seqno == seq(1)));
        assert!(matches!(
            vis.wait_visible(seq(3)),
            Err(Error::Stalled { .. })
        ));
        vis.wait_visible(SeqNo::ZERO).unwrap();
    }

    #[test]
    fn reservations_stop_at_the_maximum() {
        let vis = Visibility::new(seq(SeqNo::MAX.get() - 2));
        assert!(matches!(vis.reserve(3), Err(Error::SeqNoExhausted { .. })));
        let last = vis.reserve(2).unwrap();
        assert_eq!(last.last(), Some(SeqNo::MAX));
        last.publish();
        assert_eq!(vis.visible(), SeqNo::MAX);
        assert!(matches!(vis.reserve(1), Err(Error::SeqNoExhausted { .. })));
    }

    #[test]
    fn wait_visible_wakes_when_the_gap_closes() {
        let vis = Visibility::new(SeqNo::ZERO);
        let a = vis.reserve(1).unwrap();
        let b = vis.reserve(1).unwrap();
        b.publish();
        thread::scope(|s| {
            let waiter = s.spawn(|| vis.wait_visible(seq(2)));
            thread::sleep(Duration::from_millis(20));
            assert!(!waiter.is_finished());
            a.publish();
            waiter.join().unwrap().unwrap();
        });
        assert_eq!(vis.visible(), seq(2));
    }
}
