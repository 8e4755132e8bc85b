//! Named points in background work where a test may run code of its own (RocksDB's
//! `TEST_SYNC_POINT`), to force one interleaving of threads instead of hoping for it.

use std::fmt;
use std::sync::Arc;

/// A test's callback, run on the thread that reaches a sync point, with the point's
/// name. Empty (the default) costs one branch per point.
///
/// The points the compaction pool reaches:
/// - `"compactor:nudge"`: [`crate::Compactor::schedule`] is about to wake the workers,
///   once per worker;
/// - `"compactor:round_done"`: a worker found nothing more to claim and is about to
///   sleep until its next nudge (no lock held);
/// - `"manual:claim"`: a manual compaction is about to claim its next plan (no lock
///   held);
/// - `"manual:run"`: a manual compaction claimed a plan (its tables are busy) and is
///   about to run it;
/// - `"compactor:run"`: a worker claimed a plan and is about to run it (no lock held);
/// - `"compactor:no_space"`: a worker's compaction met a full disk; the pool waits for
///   space (no lock held).
///
/// The facade's flush thread reaches `"flush:start"` before it writes each memtable
/// of the default keyspace (no lock held).
///
/// A callback must not block on the thread it runs on for longer than the test
/// allows: it runs inside background work.
#[derive(Clone, Default)]
pub struct SyncPoints(Option<Arc<dyn Fn(&'static str) + Send + Sync>>);

impl SyncPoints {
    /// Sync points that call `f` at every point reached.
    pub fn new(f: impl Fn(&'static str) + Send + Sync + 'static) -> SyncPoints {
        SyncPoints(Some(Arc::new(f)))
    }

    /// Runs the callback, if any, for the point `name`.
    pub fn hit(&self, name: &'static str) {
        if let Some(f) = &self.0 {
            f(name);
        }
    }
}

impl fmt::Debug for SyncPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.0.is_some() { "set" } else { "none" };
        f.debug_tuple("SyncPoints").field(&state).finish()
    }
}
