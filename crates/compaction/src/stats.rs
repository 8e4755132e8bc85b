//! Counters of what flushes and compactions did, for write-amplification figures.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters, updated by flushes and compactions (relaxed atomics: each counter
/// is exact, a snapshot of several is not taken atomically).
#[derive(Debug, Default)]
pub struct Stats {
    pub(crate) flushes: AtomicU64,
    pub(crate) flush_bytes: AtomicU64,
    pub(crate) compactions: AtomicU64,
    pub(crate) trivial_moves: AtomicU64,
    pub(crate) compaction_read_bytes: AtomicU64,
    pub(crate) compaction_write_bytes: AtomicU64,
    pub(crate) expired: AtomicU64,
    pub(crate) filter_removed: AtomicU64,
    pub(crate) filter_changed: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Memtables flushed into L0 tables.
    pub flushes: u64,
    /// Bytes of L0 tables written by flushes.
    pub flush_bytes: u64,
    /// Compactions that rewrote tables.
    pub compactions: u64,
    /// Tables moved down a level without being rewritten.
    pub trivial_moves: u64,
    /// Bytes of input tables read by compactions.
    pub compaction_read_bytes: u64,
    /// Bytes of output tables written by compactions.
    pub compaction_write_bytes: u64,
    /// Expired values compactions turned into tombstones (counted by compactions
    /// that installed their output).
    pub expired: u64,
    /// Entries compaction filters removed.
    pub filter_removed: u64,
    /// Entries compaction filters gave a new value.
    pub filter_changed: u64,
}

impl StatsSnapshot {
    /// Bytes written to tables by flushes and compactions.
    pub fn table_bytes_written(&self) -> u64 {
        self.flush_bytes + self.compaction_write_bytes
    }

    /// Write amplification relative to `user_bytes` written by the application:
    /// table bytes written per user byte (WAL bytes not included).
    pub fn write_amplification(&self, user_bytes: u64) -> f64 {
        self.table_bytes_written() as f64 / user_bytes.max(1) as f64
    }
}

impl Stats {
    /// The current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            flushes: get(&self.flushes),
            flush_bytes: get(&self.flush_bytes),
            compactions: get(&self.compactions),
            trivial_moves: get(&self.trivial_moves),
            compaction_read_bytes: get(&self.compaction_read_bytes),
            compaction_write_bytes: get(&self.compaction_write_bytes),
            expired: get(&self.expired),
            filter_removed: get(&self.filter_removed),
            filter_changed: get(&self.filter_changed),
        }
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
