//! The background flush thread: writes frozen memtables to L0 tables, oldest first,
//! trims the WAL behind them, nudges compaction, and watches for compaction errors.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use quickcache_compaction::Compactor;

use crate::error::{Error, Result};
use crate::inner::{Inner, lock};
use crate::state::{Frozen, SuperVersion};

pub(crate) fn spawn(inner: Arc<Inner>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("quickcache-flush".into())
        .spawn(move || run(&inner))
        .map_err(|source| Error::Spawn {
            what: "flush",
            source,
        })
}

/// Flushes while frozen memtables wait, and records a compaction's error in the
/// database's error state; otherwise sleeps until signalled (a freeze, the pool's
/// signal after a compaction, the stop).
fn run(inner: &Inner) {
    loop {
        let seen = inner.signals();
        if lock(&inner.background.state).stop {
            return;
        }
        inner.poll_compactor();
        if let Some(left) = inner.flush_wait_left() {
            // Waiting for space after a full disk: retried when the backoff is over.
            if inner.wait_signal_for(seen, left).is_err() {
                return;
            }
            continue;
        }
        if let Some(job) = inner.next_flush() {
            inner.flush_one(&job);
            continue;
        }
        if let Some((keyspace, job)) = inner.next_keyspace_flush() {
            inner.flush_keyspace_one(&keyspace, &job);
            continue;
        }
        inner.flush_idle();
        if inner.wait_signal(seen).is_err() {
            return;
        }
    }
}

impl Inner {
    /// The oldest frozen memtable, unless the database is in the error state.
    fn next_flush(&self) -> Option<Arc<Frozen>> {
        if self.life.has_failed() {
            return None;
        }
        lock(&self.mem.current).frozen.last().cloned()
    }

    fn poll_compactor(&self) {
        let mut error = None;
        self.with_pool(|c| error = c.error());
        if let Some(source) = error
            && !self.life.has_failed()
        {
            let _reported = self.fail(Error::Compaction { source });
        }
    }

    /// Writes `job` to an L0 table, then drops it from the memtables readers see and
    /// deletes the WAL segments it made obsolete. Failures enter the error state.
    fn flush_one(&self, job: &Arc<Frozen>) {
        self.options.sync_points.hit("flush:start");
        let snapshots = self.snapshots.list();
        let mut cursor = job.mem.cursor();
        let ranges = job.mem.range_tombstones();
        let flushed = self.set.flush_with_range_tombstones(
            quickcache_sstable::KeyspaceId::DEFAULT,
            &mut cursor,
            &ranges,
            job.log_number,
            &snapshots,
        );
        if let Err(source) = flushed {
            self.flush_failed("flushing a memtable", source);
            return;
        }
        self.flush_succeeded();
        {
            let mut memtables = lock(&self.mem.current);
            let frozen = memtables
                .frozen
                .iter()
                .filter(|f| !Arc::ptr_eq(f, job))
                .cloned()
                .collect();
            *memtables = Arc::new(SuperVersion::new(Arc::clone(&memtables.active), frozen));
        }
        self.trim_wal();
        // Counted down only now, so `flush()` returns after the segments are gone too
        // and a caller sees no file operation of this flush after it.
        self.writes.frozen_count.fetch_sub(1, Ordering::AcqRel);
        self.refresh_backlog();
        self.with_pool(Compactor::schedule);
        self.notify();
    }
}
