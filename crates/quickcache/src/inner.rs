//! `Inner`: the state an open database shares with its background thread, snapshots
//! and iterators, and the error state every write checks.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use quickcache_compaction::{Compactor, VersionSet};
use quickcache_memtable::Visibility;
use quickcache_wal::{Durability, Wal};

use crate::diagnostics::Waits;
use crate::error::{Error, Result};
use crate::snapshot::SnapshotList;
use crate::state::SuperVersion;
use crate::{Options, RecoveryReport, WriteOptions};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counters behind [`Stats`]; relaxed atomics, each exact on its own.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) user_bytes: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) slowdowns: AtomicU64,
    pub(crate) stops: AtomicU64,
    pub(crate) stall_nanos: AtomicU64,
}

/// What the background thread is told and tells.
#[derive(Debug, Default)]
pub(crate) struct BgState {
    pub(crate) stop: bool,
    /// Signals sent on `bg_changed` so far. A waiter reads it before looking at the
    /// state it waits on and sleeps only if no signal came since, so a signal sent
    /// between its look and its wait is never lost (an event count).
    pub(crate) signals: u64,
}

/// The write path's shared parts, database-wide (every keyspace's writes go through
/// them): the WAL, sequence numbers, the freeze machinery and the write counters.
pub(crate) struct Writes {
    /// The WAL writer; `None` on a database opened read-only (`read_only.rs`).
    pub(crate) wal: Option<Wal>,
    pub(crate) visibility: Visibility,
    /// Serializes freezes (of any keyspace), so gates are taken one at a time.
    pub(crate) freeze_lock: Mutex<()>,
    /// Frozen memtables of every keyspace waiting for their flush.
    pub(crate) frozen_count: AtomicUsize,
    /// Bytes written to keyspaces since the write-buffer budget was last summed.
    pub(crate) budget_written: AtomicUsize,
    pub(crate) counters: Counters,
    /// Recently written keys, for validating transactions at commit.
    pub(crate) history: crate::tx::history::ConflictHistory,
}

/// What the database shares with its flush thread and compaction pool.
pub(crate) struct Background {
    /// The signal count and the stop instruction; shared with the compaction pool's
    /// listener, which signals `changed`.
    pub(crate) state: Arc<Mutex<BgState>>,
    /// Signalled on every flush, freeze, error and stop, and by the compaction pool
    /// after every compaction and every worker's round: whoever waits for background
    /// work waits on this alone, never on a timer.
    pub(crate) changed: Arc<Condvar>,
    /// Held only briefly: nobody waits for background work while holding it.
    pub(crate) compactor: Mutex<Option<Compactor>>,
    /// The threads blocked on background work now, for diagnostics.
    pub(crate) waits: Waits,
    /// The flush thread's backoff after a full disk (`no_space.rs`).
    pub(crate) flush_space: crate::no_space::FlushSpace,
    /// L0 table count and pending compaction bytes, cached for the stall check.
    pub(crate) l0_cached: AtomicUsize,
    pub(crate) pending_cached: AtomicU64,
    /// Checkpoints copying the WAL now: while above 0 no segment is deleted (see
    /// `checkpoint::WalHold`); a deletion holds the lock while it runs.
    pub(crate) wal_holds: Mutex<usize>,
}

/// The shared state of an open database, grouped by owner: what opening fixed
/// (`dir`, `options`, `report`, `set`), the write path (`writes`), the default
/// keyspace's memtables (`mem`; the other keyspaces' are in `keyspaces`), what
/// readers pin (`snapshots`), background work (`background`) and whether the
/// database is still usable (`life`).
///
/// Thread safety: `Send + Sync`. Writers hold a keyspace's gate shared across their
/// WAL append and memtable insert, so a freeze (which takes it exclusively) sees
/// every batch of the old WAL segment inside the old memtable and none of the new
/// segment's. Readers never touch a gate: see [`crate::state::Memtables`].
pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) options: Options,
    pub(crate) report: RecoveryReport,
    pub(crate) set: Arc<VersionSet>,
    pub(crate) writes: Writes,
    /// The default keyspace's memtables.
    pub(crate) mem: crate::state::Memtables,
    pub(crate) snapshots: Arc<SnapshotList>,
    /// The keyspaces besides the default.
    pub(crate) keyspaces: crate::keyspace::engine::Registry,
    /// Serializes creating and dropping keyspaces.
    pub(crate) keyspace_lock: Mutex<()>,
    pub(crate) background: Background,
    pub(crate) life: crate::lifecycle::Lifecycle,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("dir", &self.dir).finish()
    }
}

impl Inner {
    /// Runs `f` on the compaction pool, unless it is stopped.
    pub(crate) fn with_pool(&self, f: impl FnOnce(&Compactor)) {
        if let Some(compactor) = lock(&self.background.compactor).as_ref() {
            f(compactor);
        }
    }

    /// Puts the database in the read-only error state (the first error is kept) and
    /// returns the error to report to the caller that met it.
    pub(crate) fn fail(&self, error: Error) -> Error {
        let source = self.life.fail(error);
        self.notify();
        Error::Background { source }
    }

    pub(crate) fn background_error(&self) -> Option<Arc<Error>> {
        self.life.error()
    }

    /// The WAL writer, or [`Error::ReadOnly`] on a database opened read-only.
    pub(crate) fn wal(&self) -> Result<&Wal> {
        self.writes.wal.as_ref().ok_or_else(|| Error::ReadOnly {
            path: self.dir.clone(),
        })
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        self.wal()?;
        self.life.check()
    }

    pub(crate) fn notify(&self) {
        lock(&self.background.state).signals += 1;
        self.background.changed.notify_all();
    }

    /// The signals sent so far: read before looking at what a wait depends on, then
    /// given to [`Inner::wait_signal`].
    pub(crate) fn signals(&self) -> u64 {
        lock(&self.background.state).signals
    }

    /// Sleeps until a signal after `seen` (at once if one came already), or until the
    /// background threads stop: then [`Error::Closed`]. Every change a waiter can be
    /// waiting for signals (flushes, freezes, errors, stops, and the compaction pool
    /// after each compaction and round), so no wait needs a timer.
    pub(crate) fn wait_signal(&self, seen: u64) -> Result<()> {
        let mut bg = lock(&self.background.state);
        while bg.signals == seen && !bg.stop {
            bg = self
                .background
                .changed
                .wait(bg)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if bg.stop { Err(Error::Closed) } else { Ok(()) }
    }

    pub(crate) fn current_memtables(&self) -> Arc<SuperVersion> {
        self.mem.current()
    }

    pub(crate) fn durability(&self, options: &WriteOptions) -> Durability {
        options.durability.unwrap_or(self.options.durability)
    }
}
