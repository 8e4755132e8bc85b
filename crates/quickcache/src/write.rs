//! The write path: throttling, WAL append then memtable insert under the shared
//! gate, and freezing a full memtable.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use quickcache_memtable::{Memtable, WriteBatch};
use quickcache_wal::Durability;

use crate::error::{Error, Result};
use crate::inner::{Inner, lock};
use crate::state::{Frozen, SuperVersion};

/// How long a slowed write sleeps.
const SLOWDOWN: Duration = Duration::from_millis(1);
/// How often a stopped writer re-checks the backlog (compactions do not signal it).
const STOP_POLL: Duration = Duration::from_millis(10);

impl Inner {
    pub(crate) fn wal_error(
        &self,
        operation: &'static str,
        source: quickcache_wal::Error,
    ) -> Error {
        Error::Wal {
            operation,
            path: self.wal.dir().to_path_buf(),
            source: Box::new(source),
        }
    }

    fn batch_error(operation: &'static str, source: quickcache_memtable::Error) -> Error {
        Error::Batch {
            operation,
            source: Box::new(source),
        }
    }

    /// Writes one batch: sequence numbers, WAL, memtable, publication.
    pub(crate) fn write(&self, batch: &mut WriteBatch, durability: Durability) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.check_writable()?;
        self.throttle()?;
        let full = self.apply(batch, durability)?;
        self.counters
            .user_bytes
            .fetch_add(batch.encoded().len() as u64, Ordering::Relaxed);
        self.counters.writes.fetch_add(1, Ordering::Relaxed);
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
    ) -> Result<Option<Arc<Memtable>>> {
        let active = self
            .gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let reservation = self
            .visibility
            .reserve(batch.count())
            .map_err(|e| Self::batch_error("reserving sequence numbers", e))?;
        // From here every path publishes the reservation: an abandoned one would
        // stall visibility for good.
        if let Err(e) = batch.set_base_seqno(reservation.first()) {
            reservation.publish();
            return Err(Self::batch_error("numbering a batch", e));
        }
        if let Err(source) = self.wal.append(batch.encoded(), durability) {
            reservation.publish();
            let too_large = matches!(source, quickcache_wal::Error::RecordTooLarge { .. });
            let error = self.wal_error("appending", source);
            return Err(if too_large { error } else { self.fail(error) });
        }
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
            && self.visibility.visible() < last
        {
            self.visibility
                .wait_visible(last)
                .map_err(|e| Self::batch_error("publishing", e))?;
        }
        Ok(full)
    }

    /// Slows a write down, or stops it, while flushes or compactions are behind.
    fn throttle(&self) -> Result<()> {
        let o = &self.options;
        let frozen = self.frozen_count.load(Ordering::Relaxed);
        let l0 = self.l0_cached.load(Ordering::Relaxed);
        let pending = self.pending_cached.load(Ordering::Relaxed);
        if frozen < o.max_frozen_memtables.max(1)
            && l0 < o.l0_slowdown
            && pending < o.pending_compaction_slowdown_bytes
        {
            return Ok(());
        }
        let start = Instant::now();
        let mut stopped = false;
        loop {
            self.check_writable()?;
            self.refresh_backlog();
            let frozen = self.frozen_count.load(Ordering::Relaxed);
            let l0 = self.l0_cached.load(Ordering::Relaxed);
            let pending = self.pending_cached.load(Ordering::Relaxed);
            if frozen >= o.max_frozen_memtables.max(1)
                || l0 >= o.l0_stop
                || pending >= o.pending_compaction_stop_bytes
            {
                if !stopped {
                    stopped = true;
                    self.counters.stops.fetch_add(1, Ordering::Relaxed);
                }
                let bg = lock(&self.bg);
                if bg.stop {
                    return Err(Error::Closed);
                }
                let _woken = self.bg_changed.wait_timeout(bg, STOP_POLL);
                continue;
            }
            if !stopped && (l0 >= o.l0_slowdown || pending >= o.pending_compaction_slowdown_bytes) {
                self.counters.slowdowns.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(SLOWDOWN);
            }
            break;
        }
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.counters
            .stall_nanos
            .fetch_add(nanos, Ordering::Relaxed);
        Ok(())
    }

    /// Re-reads the backlog figures the write path checks without locking.
    pub(crate) fn refresh_backlog(&self) {
        let version = self.set.current();
        self.l0_cached.store(version.l0_count(), Ordering::Relaxed);
        let pending = quickcache_compaction::pending_compaction_bytes(&version, self.set.options());
        self.pending_cached.store(pending, Ordering::Relaxed);
    }

    /// Freezes the active memtable (only if it is still `only` when given, so that
    /// racing writers freeze it once), starts a new WAL segment, and hands the frozen
    /// memtable to the background flush. Returns whether it froze anything.
    pub(crate) fn freeze(&self, only: Option<&Arc<Memtable>>) -> Result<bool> {
        let _one = lock(&self.freeze_lock);
        let mut gate = self
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if only.is_some_and(|m| !Arc::ptr_eq(m, &gate)) || gate.is_empty() {
            return Ok(false);
        }
        self.check_writable()?;
        let next = self
            .wal
            .rotate()
            .map_err(|source| self.fail(self.wal_error("starting a new segment", source)))?;
        let old = std::mem::replace(
            &mut *gate,
            Arc::new(Memtable::with_capacity(self.options.memtable_size)),
        );
        {
            let mut memtables = lock(&self.memtables);
            let mut frozen = Vec::with_capacity(memtables.frozen.len() + 1);
            frozen.push(Arc::new(Frozen {
                mem: old.freeze(),
                log_number: next.0,
            }));
            frozen.extend(memtables.frozen.iter().cloned());
            *memtables = Arc::new(SuperVersion {
                active: Arc::clone(&gate),
                frozen,
            });
        }
        self.frozen_count.fetch_add(1, Ordering::Relaxed);
        drop(gate);
        self.notify();
        Ok(true)
    }

    /// Freezes the active memtable and waits until every frozen one is in a table.
    pub(crate) fn flush_all(&self) -> Result<()> {
        self.check_writable()?;
        self.freeze(None)?;
        self.wait_flushed()
    }

    /// Waits until every frozen memtable is in a table and its WAL segments are gone.
    pub(crate) fn wait_flushed(&self) -> Result<()> {
        let mut bg = lock(&self.bg);
        loop {
            self.check_writable()?;
            if self.frozen_count.load(Ordering::Acquire) == 0 {
                return Ok(());
            }
            if bg.stop {
                return Err(Error::Closed);
            }
            bg = self
                .bg_changed
                .wait_timeout(bg, STOP_POLL)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }
}
