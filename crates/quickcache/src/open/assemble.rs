//! Putting an open database together from what opening read: the shared state
//! (`Inner`) and, for a writable database, the compaction pool that signals it.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use quickcache_compaction::{Compactor, Listener, VersionSet};
use quickcache_memtable::{Memtable, Visibility};
use quickcache_sstable::SeqNo;
use quickcache_wal::Wal;

use super::ReplayedKeyspace;
use crate::diagnostics::Waits;
use crate::error::{Error, Result};
use crate::inner::{self, BgState, Counters, Inner, Writes};
use crate::keyspace::engine::KsState;
use crate::lifecycle::Lifecycle;
use crate::snapshot::SnapshotList;
use crate::state::Memtables;
use crate::tx::history::ConflictHistory;
use crate::{Options, RecoveryReport};

/// What opening read: the tree, the WAL writer (none when read-only), the memtables
/// the WAL replay filled, and the report.
pub(crate) struct Replayed {
    pub(crate) set: Arc<VersionSet>,
    pub(crate) wal: Option<Wal>,
    pub(crate) memtable: Memtable,
    pub(crate) others: Vec<ReplayedKeyspace>,
    pub(crate) report: RecoveryReport,
}

/// The state shared with background work: the snapshot list the compaction pool
/// reads, the signals, and the pool (none when read-only).
pub(crate) struct Background {
    snapshots: Arc<SnapshotList>,
    bg: Arc<Mutex<BgState>>,
    bg_changed: Arc<Condvar>,
    compactor: Option<Compactor>,
}

impl Background {
    /// Starts the compaction pool on `set`.
    pub(crate) fn start(set: &Arc<VersionSet>, options: &Options) -> Result<Background> {
        let mut background = Background::none();
        let source_list = Arc::clone(&background.snapshots);
        // Counted under `bg`'s lock like every other signal (`Inner::notify`), so no
        // waiter misses it between its look at the state and its wait.
        let listener: Listener = {
            let (bg, bg_changed) = (
                Arc::clone(&background.bg),
                Arc::clone(&background.bg_changed),
            );
            Arc::new(move || {
                let mut bg = bg.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                bg.signals += 1;
                bg_changed.notify_all();
            })
        };
        let compactor = Compactor::start_listening(
            Arc::clone(set),
            Arc::new(move || source_list.list()),
            options.sync_points.clone(),
            Some(listener),
        )
        .map_err(|source| Error::Spawn {
            what: "compaction",
            source,
        })?;
        background.compactor = Some(compactor);
        Ok(background)
    }

    /// No pool, no thread: for a database opened read-only.
    pub(crate) fn none() -> Background {
        Background {
            snapshots: Arc::new(SnapshotList::default()),
            bg: Arc::new(Mutex::new(BgState::default())),
            bg_changed: Arc::new(Condvar::new()),
            compactor: None,
        }
    }
}

/// The shared state of an open database, from what opening read.
pub(crate) fn assemble(
    dir: &Path,
    options: Options,
    replayed: Replayed,
    background: Background,
) -> Arc<Inner> {
    let Replayed {
        set,
        wal,
        memtable,
        others,
        report,
    } = replayed;
    let keyspaces = others
        .into_iter()
        .map(|k| (k.id, Arc::new(KsState::new(k.id, k.name, k.size, k.mem))))
        .collect();
    let history = ConflictHistory::new(options.transaction_history_bytes);
    let writes = Writes {
        wal,
        visibility: Visibility::new(SeqNo::new(report.last_seqno).unwrap_or(SeqNo::MAX)),
        freeze_lock: Mutex::new(()),
        frozen_count: AtomicUsize::new(0),
        budget_written: AtomicUsize::new(0),
        counters: Counters::default(),
        history,
    };
    let shared = inner::Background {
        state: background.bg,
        changed: background.bg_changed,
        compactor: Mutex::new(background.compactor),
        waits: Waits::default(),
        flush_space: crate::no_space::FlushSpace::default(),
        l0_cached: AtomicUsize::new(0),
        pending_cached: AtomicU64::new(0),
        wal_holds: Mutex::new(0),
    };
    Arc::new(Inner {
        dir: dir.to_path_buf(),
        options,
        report,
        set,
        writes,
        mem: Memtables::new(Arc::new(memtable)),
        snapshots: background.snapshots,
        keyspaces: RwLock::new(keyspaces),
        keyspace_lock: Mutex::new(()),
        background: shared,
        life: Lifecycle::default(),
    })
}
