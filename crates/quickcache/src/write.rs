//! The write path: throttling, WAL append then memtable insert under the shared
//! gate, and freezing a full memtable.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use quickcache_memtable::{Memtable, Reservation, WriteBatch};
use quickcache_wal::Durability;

use crate::Options;
use crate::error::{Error, Result};
use crate::inner::{Inner, lock};
use crate::state::Frozen;
use crate::tx::history::Validation;

/// How long a slowed write sleeps.
const SLOWDOWN: Duration = Duration::from_millis(1);

/// What the backlog asks of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stall {
    None,
    /// Sleep [`SLOWDOWN`] once.
    Slowdown,
    /// Wait until the backlog is below the stop thresholds.
    Stop,
}

/// The backlog figures the write path reads without locking.
#[derive(Debug, Clone, Copy)]
struct Backlog {
    frozen: usize,
    l0: usize,
    pending: u64,
}

impl Backlog {
    /// Frozen memtables slow writes one below the stop, but only from two on (as
    /// RocksDB does, which needs `max_write_buffer_number > 3`): every freeze leaves
    /// one frozen memtable while its flush runs, and slowing every write during every
    /// flush would cap the write rate at a thousand a second per writer. So with the
    /// default `max_frozen_memtables` of 2 writes go straight to the stop. Never above
    /// the stop, which the fast path must not skip.
    fn frozen_slowdown(max_frozen: usize) -> usize {
        max_frozen
            .saturating_sub(1)
            .max(2)
            .min(Self::frozen_stop(max_frozen))
    }

    fn frozen_stop(max_frozen: usize) -> usize {
        max_frozen.max(1)
    }

    /// Whether the frozen memtables alone stop writes (the flush thread lifts that).
    fn frozen_stops(self, o: &Options) -> bool {
        self.frozen >= Self::frozen_stop(o.max_frozen_memtables)
    }

    /// The slowdown thresholds are checked first: the common case is below them all.
    fn stall(self, o: &Options) -> Stall {
        if self.frozen < Self::frozen_slowdown(o.max_frozen_memtables)
            && self.l0 < o.l0_slowdown
            && self.pending < o.pending_compaction_slowdown_bytes
        {
            return Stall::None;
        }
        if self.frozen >= Self::frozen_stop(o.max_frozen_memtables)
            || self.l0 >= o.l0_stop
            || self.pending >= o.pending_compaction_stop_bytes
        {
            return Stall::Stop;
        }
        Stall::Slowdown
    }
}

impl Inner {
    pub(crate) fn wal_error(
        &self,
        operation: &'static str,
        source: quickcache_wal::Error,
    ) -> Error {
        Error::Wal {
            operation,
            path: self.dir.join(crate::WAL_DIR),
            source: Box::new(source),
        }
    }

    /// The ordering point, run under the WAL's lock just before the record is
    /// staged: validates a transaction against every write numbered before it, numbers
    /// the batch, and records its keys in the conflict history. Numbered here so the
    /// WAL holds batches in sequence-number order and a crash keeps a prefix in the
    /// order readers saw (docs/design.md, "Write order"); validated here so no write
    /// can be numbered between a transaction's check and its own numbering.
    #[inline(always)]
    pub(crate) fn number<'b>(
        &self,
        batch: &'b mut WriteBatch,
        tx: Option<&Validation<'_>>,
    ) -> Result<(Reservation<'_>, &'b [u8])> {
        let mut history = self.writes.history.lock();
        if let Some(tx) = tx {
            history.validate(tx).map_err(|c| tx.error(c))?;
        }
        let reservation = (self.writes.visibility.reserve(batch.count()))
            .map_err(|e| Self::batch_error("numbering a batch", e))?;
        if let Err(e) = batch.set_base_seqno(reservation.first()) {
            // Published empty: an abandoned reservation would stall visibility.
            reservation.publish();
            return Err(Self::batch_error("numbering a batch", e));
        }
        if let Some(last) = reservation.last() {
            history.record(batch, last.get());
        }
        Ok((reservation, batch.encoded()))
    }

    /// The error of a failed WAL append: a write over the record limit is refused
    /// alone (nothing was written); any other failure makes the database read-only.
    pub(crate) fn append_error(&self, source: quickcache_wal::Error) -> Error {
        match source {
            quickcache_wal::Error::RecordTooLarge { len, max } => Error::WriteTooLarge { len, max },
            source => self.fail(self.wal_error("appending", source)),
        }
    }

    pub(crate) fn batch_error(
        operation: &'static str,
        source: quickcache_memtable::Error,
    ) -> Error {
        Error::Batch {
            operation,
            source: Box::new(source),
        }
    }

    /// Writes one batch: sequence numbers, WAL, memtable, publication. A
    /// transaction's batch comes with its `tx` validation, checked at the ordering
    /// point ([`Inner::number`]).
    pub(crate) fn write(
        &self,
        batch: &mut WriteBatch,
        durability: Durability,
        tx: Option<&Validation<'_>>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.check_writable()?;
        self.throttle()?;
        let full = self.apply(batch, durability, tx)?;
        self.writes
            .counters
            .user_bytes
            .fetch_add(batch.encoded().len() as u64, Ordering::Relaxed);
        self.writes.counters.writes.fetch_add(1, Ordering::Relaxed);
        if let Some(memtable) = full {
            self.freeze(Some(&memtable))?;
        }
        Ok(())
    }

    /// Appends and inserts under the shared gate; returns the memtable if it is now
    /// full.
    fn apply(
        &self,
        batch: &mut WriteBatch,
        durability: Durability,
        tx: Option<&Validation<'_>>,
    ) -> Result<Option<Arc<Memtable>>> {
        let active = self
            .mem
            .gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let appended = self
            .wal()?
            .append_with(durability, || self.number(batch, tx));
        let reservation = match appended {
            Err(e) => return Err(e),
            Ok((reservation, Err(source))) => {
                // From here every path publishes the reservation.
                reservation.publish();
                return Err(self.append_error(source));
            }
            Ok((reservation, Ok(_position))) => reservation,
        };
        // Numbered and in the WAL, not yet visible (tests pause a writer here).
        self.options.sync_points.hit("write:appended");
        let applied = active.apply(batch);
        let last = reservation.last();
        reservation.publish();
        applied.map_err(|e| Self::batch_error("inserting", e))?;
        let full = active.approximate_memory() >= self.options.memtable_size;
        let full = full.then(|| Arc::clone(&active));
        drop(active);
        // Read your writes: publication is in seqno order, so an earlier writer still
        // inserting holds this batch back; wait for it before returning.
        if let Some(last) = last
            && self.writes.visibility.visible() < last
        {
            self.writes
                .visibility
                .wait_visible(last)
                .map_err(|e| Self::batch_error("publishing", e))?;
        }
        Ok(full)
    }

    /// Slows a write down, or stops it, while flushes or compactions are behind.
    /// Inline, the check of the common case (nothing behind): every write makes it.
    #[inline]
    pub(crate) fn throttle(&self) -> Result<()> {
        if self.backlog().stall(&self.options) == Stall::None {
            return Ok(());
        }
        self.throttle_slow()
    }

    /// [`Inner::throttle`] once a threshold is reached.
    #[cold]
    #[inline(never)]
    fn throttle_slow(&self) -> Result<()> {
        let start = Instant::now();
        let mut stopped = false;
        loop {
            let seen = self.signals();
            self.check_writable()?;
            self.refresh_backlog();
            match self.backlog().stall(&self.options) {
                // A stop by the compaction backlog with no compaction running or due
                // would never be lifted: the picker may let L0 wait for a bigger batch
                // while the pending bytes count it. Slow down instead.
                Stall::Stop
                    if !self.backlog().frozen_stops(&self.options) && self.compactions_idle() =>
                {
                    self.writes
                        .counters
                        .slowdowns
                        .fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(SLOWDOWN);
                }
                Stall::Stop => {
                    if !stopped {
                        stopped = true;
                        self.writes.counters.stops.fetch_add(1, Ordering::Relaxed);
                    }
                    let _waiting = self
                        .background
                        .waits
                        .enter("a write stopped by the flush or compaction backlog");
                    // Woken by the flush or compaction that lifts the stop.
                    self.wait_signal(seen)?;
                    continue;
                }
                Stall::Slowdown if !stopped => {
                    self.writes
                        .counters
                        .slowdowns
                        .fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(SLOWDOWN);
                }
                Stall::Slowdown | Stall::None => {}
            }
            break;
        }
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.writes
            .counters
            .stall_nanos
            .fetch_add(nanos, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the compaction pool runs nothing and has nothing due (or is stopped).
    fn compactions_idle(&self) -> bool {
        let mut idle = true;
        self.with_pool(|pool| idle = pool.is_idle());
        idle
    }

    fn backlog(&self) -> Backlog {
        Backlog {
            frozen: self.writes.frozen_count.load(Ordering::Relaxed),
            l0: self.background.l0_cached.load(Ordering::Relaxed),
            pending: self.background.pending_cached.load(Ordering::Relaxed),
        }
    }

    /// Re-reads the backlog figures the write path checks without locking.
    pub(crate) fn refresh_backlog(&self) {
        // Every keyspace's tree: the fullest L0, all pending bytes.
        self.background
            .l0_cached
            .store(self.set.l0_count(), Ordering::Relaxed);
        let pending = self.set.pending_compaction_bytes();
        self.background
            .pending_cached
            .store(pending, Ordering::Relaxed);
    }

    /// Freezes the active memtable (only if it is still `only` when given, so that
    /// racing writers freeze it once), starts a new WAL segment, and hands the frozen
    /// memtable to the background flush. Returns whether it froze anything.
    pub(crate) fn freeze(&self, only: Option<&Arc<Memtable>>) -> Result<bool> {
        let _one = lock(&self.writes.freeze_lock);
        let mut gate = self
            .mem
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.mem.debug_assert_agree(&gate);
        if only.is_some_and(|m| !Arc::ptr_eq(m, &gate)) || gate.is_empty() {
            return Ok(false);
        }
        self.check_writable()?;
        let next = self
            .wal()?
            .rotate()
            .map_err(|source| self.fail(self.wal_error("starting a new segment", source)))?;
        // Before the frozen memtable is published: its flush edit then follows the
        // record in the manifest, so a damaged last edit is still one that matters.
        self.record_wal_segment(next)?;
        let old = std::mem::replace(
            &mut *gate,
            Arc::new(Memtable::with_capacity(self.options.memtable_size)),
        );
        {
            let mut memtables = lock(&self.mem.current);
            let frozen = Frozen {
                mem: old.freeze(),
                log_number: next.0,
            };
            *memtables = Arc::new(memtables.after_freeze(Arc::clone(&gate), frozen));
        }
        self.writes.frozen_count.fetch_add(1, Ordering::Relaxed);
        drop(gate);
        self.notify();
        Ok(true)
    }

    /// Records in the manifest that the new WAL segment `segment` exists (the rotation
    /// synced it and its directory), so that losing it is noticed at the next open.
    /// Called under the gate, like the rotation's own syncs. A full disk is left for the next
    /// manifest edit to retry (it writes a fresh manifest first); losing the record
    /// only narrows what an open can notice until the next rotation.
    pub(crate) fn record_wal_segment(&self, segment: quickcache_wal::SegmentId) -> Result<()> {
        match self.set.record_wal_segment(segment.0) {
            Ok(()) => Ok(()),
            Err(e) if e.is_retryable_no_space() => Ok(()),
            Err(source) => Err(self.fail(Error::Tree {
                operation: "recording a new WAL segment in the manifest",
                path: self.dir.clone(),
                source: Box::new(source),
            })),
        }
    }

    /// Waits until every frozen memtable is in a table and its WAL segments are gone.
    /// The flush thread works whenever a frozen memtable waits, unless the database
    /// failed (checked here) or is closing (likewise), so this wait always ends.
    pub(crate) fn wait_flushed(&self) -> Result<()> {
        let _waiting = self
            .background
            .waits
            .enter("frozen memtables to be flushed");
        let failures = self.flush_space_failures();
        loop {
            let seen = self.signals();
            // Done first: a flush that finished reports success even if a compaction
            // it set off has failed since (the next write reports that).
            if self.writes.frozen_count.load(Ordering::Acquire) == 0 {
                return Ok(());
            }
            self.check_writable()?;
            self.check_flush_space(failures)?;
            self.wait_signal(seen)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Backlog, Stall};
    use crate::Options;

    fn stall(frozen: usize, l0: usize, pending: u64, options: &Options) -> Stall {
        Backlog {
            frozen,
            l0,
            pending,
        }
        .stall(options)
    }

    #[test]
    fn frozen_memtables_slow_writes_one_below_the_stop_from_two_on() {
        let four = Options {
            max_frozen_memtables: 4,
            ..Options::default()
        };
        let stages: Vec<Stall> = (0..=5).map(|f| stall(f, 0, 0, &four)).collect();
        use Stall::{None, Slowdown, Stop};
        assert_eq!(stages, [None, None, None, Slowdown, Stop, Stop]);
        let three = Options {
            max_frozen_memtables: 3,
            ..Options::default()
        };
        assert_eq!(stall(1, 0, 0, &three), None);
        assert_eq!(stall(2, 0, 0, &three), Slowdown);
        assert_eq!(stall(3, 0, 0, &three), Stop);
    }

    #[test]
    fn one_frozen_memtable_never_slows_writes_and_the_default_stops_at_two() {
        let default = Options::default();
        assert_eq!(default.max_frozen_memtables, 2);
        assert_eq!(stall(1, 0, 0, &default), Stall::None);
        assert_eq!(stall(2, 0, 0, &default), Stall::Stop);
        let zero = Options {
            max_frozen_memtables: 0,
            ..Options::default()
        };
        assert_eq!(stall(0, 0, 0, &zero), Stall::None);
        assert_eq!(stall(1, 0, 0, &zero), Stall::Stop);
    }

    #[test]
    fn l0_and_pending_bytes_slow_then_stop() {
        let o = Options::default();
        assert_eq!(stall(0, o.l0_slowdown - 1, 0, &o), Stall::None);
        assert_eq!(stall(0, o.l0_slowdown, 0, &o), Stall::Slowdown);
        assert_eq!(stall(0, o.l0_stop, 0, &o), Stall::Stop);
        let slow = o.pending_compaction_slowdown_bytes;
        assert_eq!(stall(0, 0, slow, &o), Stall::Slowdown);
        let stop = o.pending_compaction_stop_bytes;
        assert_eq!(stall(0, 0, stop, &o), Stall::Stop);
    }
}
