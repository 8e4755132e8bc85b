//! `Inner`: the state an open database shares with its background thread, snapshots
//! and iterators, and the error state every write checks.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};

use quickcache_compaction::{Compactor, VersionSet};
use quickcache_memtable::{Memtable, Visibility};
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

/// The shared state of an open database.
///
/// Thread safety: `Send + Sync`. Writers hold `gate` shared across their WAL append
/// and memtable insert, so a freeze (which takes it exclusively) sees every batch of
/// the old WAL segment inside the old memtable and none of the new segment's. Readers
/// never touch `gate`: they clone `memtables` and the version under short locks.
pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) options: Options,
    /// The WAL writer; `None` on a database opened read-only (`read_only.rs`).
    pub(crate) wal: Option<Wal>,
    pub(crate) visibility: Visibility,
    pub(crate) set: Arc<VersionSet>,
    pub(crate) gate: RwLock<Arc<Memtable>>,
    pub(crate) memtables: Mutex<Arc<SuperVersion>>,
    pub(crate) freeze_lock: Mutex<()>,
    /// Shared with the compaction pool's listener, which signals `bg_changed`.
    pub(crate) bg: Arc<Mutex<BgState>>,
    /// Signalled on every flush, freeze, error and stop, and by the compaction pool
    /// after every compaction and every worker's round: whoever waits for background
    /// work waits on this alone, never on a timer.
    pub(crate) bg_changed: Arc<Condvar>,
    /// Held only briefly: nobody waits for background work while holding it.
    pub(crate) compactor: Mutex<Option<Compactor>>,
    /// The threads blocked on background work now, for diagnostics.
    pub(crate) waits: Waits,
    pub(crate) snapshots: Arc<SnapshotList>,
    pub(crate) error: Mutex<Option<Arc<Error>>>,
    pub(crate) failed: AtomicBool,
    pub(crate) closed: AtomicBool,
    pub(crate) frozen_count: AtomicUsize,
    pub(crate) l0_cached: AtomicUsize,
    pub(crate) pending_cached: AtomicU64,
    pub(crate) counters: Counters,
    pub(crate) report: RecoveryReport,
    /// The keyspaces besides the default.
    pub(crate) keyspaces: crate::keyspace::engine::Registry,
    /// Serializes creating and dropping keyspaces.
    pub(crate) keyspace_lock: Mutex<()>,
    /// Bytes written to keyspaces since the write-buffer budget was last summed.
    pub(crate) budget_written: AtomicUsize,
    /// Recently written keys, for validating transactions at commit.
    pub(crate) history: crate::tx::history::ConflictHistory,
    /// The flush thread's backoff after a full disk (`no_space.rs`).
    pub(crate) flush_space: crate::no_space::FlushSpace,
    /// Checkpoints copying the WAL now: while above 0 no segment is deleted (see
    /// `checkpoint::WalHold`); a deletion holds the lock while it runs.
    pub(crate) wal_holds: Mutex<usize>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").field("dir", &self.dir).finish()
    }
}

impl Inner {
    /// Runs `f` on the compaction pool, unless it is stopped.
    pub(crate) fn with_pool(&self, f: impl FnOnce(&Compactor)) {
        if let Some(compactor) = lock(&self.compactor).as_ref() {
            f(compactor);
        }
    }

    /// Puts the database in the read-only error state (the first error is kept) and
    /// returns the error to report to the caller that met it.
    pub(crate) fn fail(&self, error: Error) -> Error {
        let source = Arc::new(error);
        let mut slot = lock(&self.error);
        if slot.is_none() {
            *slot = Some(Arc::clone(&source));
            self.failed.store(true, Ordering::Release);
        }
        drop(slot);
        self.notify();
        Error::Background { source }
    }

    pub(crate) fn background_error(&self) -> Option<Arc<Error>> {
        lock(&self.error).clone()
    }

    /// The WAL writer, or [`Error::ReadOnly`] on a database opened read-only.
    pub(crate) fn wal(&self) -> Result<&Wal> {
        self.wal.as_ref().ok_or_else(|| Error::ReadOnly {
            path: self.dir.clone(),
        })
    }

    pub(crate) fn check_writable(&self) -> Result<()> {
        self.wal()?;
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        if self.failed.load(Ordering::Acquire)
            && let Some(source) = self.background_error()
        {
            return Err(Error::Background { source });
        }
        Ok(())
    }

    pub(crate) fn notify(&self) {
        lock(&self.bg).signals += 1;
        self.bg_changed.notify_all();
    }

    /// The signals sent so far: read before looking at what a wait depends on, then
    /// given to [`Inner::wait_signal`].
    pub(crate) fn signals(&self) -> u64 {
        lock(&self.bg).signals
    }

    /// Sleeps until a signal after `seen` (at once if one came already), or until the
    /// background threads stop: then [`Error::Closed`]. Every change a waiter can be
    /// waiting for signals (flushes, freezes, errors, stops, and the compaction pool
    /// after each compaction and round), so no wait needs a timer.
    pub(crate) fn wait_signal(&self, seen: u64) -> Result<()> {
        let mut bg = lock(&self.bg);
        while bg.signals == seen && !bg.stop {
            bg = self
                .bg_changed
                .wait(bg)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        if bg.stop { Err(Error::Closed) } else { Ok(()) }
    }

    pub(crate) fn current_memtables(&self) -> Arc<SuperVersion> {
        Arc::clone(&lock(&self.memtables))
    }

    pub(crate) fn durability(&self, options: &WriteOptions) -> Durability {
        options.durability.unwrap_or(self.options.durability)
    }
}
