//! Manual compactions: plans a caller builds and runs on its own thread, claimed from
//! the pool like the workers' own, so the pool keeps compacting other tables (and
//! writers keep writing) meanwhile.

use std::sync::Arc;

use super::{Shared, guard, mark};
use quickcache_sstable::KeyspaceId;

use crate::{Busy, CompactionPlan, Error, Result, Version};

/// Why a manual compaction could not go on.
#[derive(Debug, Clone)]
pub enum Interrupted {
    /// The pool was stopped (the database is closing).
    Stopped,
    /// A background compaction failed; the pool runs nothing more.
    Failed(Arc<Error>),
}

/// A caller's handle for running its own compactions; see
/// [`super::Compactor::manual`].
#[derive(Debug, Clone)]
pub struct ManualCompaction {
    shared: Arc<Shared>,
}

/// A plan claimed by [`ManualCompaction::claim`]: its tables are busy until
/// [`ManualCompaction::run`] releases them.
#[derive(Debug)]
pub struct ManualPlan {
    plan: CompactionPlan,
}

impl ManualPlan {
    /// The claimed plan.
    pub fn plan(&self) -> &CompactionPlan {
        &self.plan
    }
}

impl ManualCompaction {
    pub(super) fn new(shared: Arc<Shared>) -> ManualCompaction {
        ManualCompaction { shared }
    }

    /// Builds a plan with `build` from the current version and claims it once none
    /// of its tables or its output range is busy; `None` when `build` finds nothing
    /// to do. While a running compaction holds what the plan needs, it waits for
    /// that compaction to end (only that: a busy table is held by a running
    /// compaction alone), then builds the plan again from the newer version.
    /// Meanwhile the workers leave the tables it wants alone, so it is not kept
    /// waiting by one background compaction after another.
    ///
    /// `build` runs under the pool's lock: it must only look at the version.
    ///
    /// # Errors
    /// [`Interrupted`] if the pool stops or a background compaction failed.
    pub fn claim(
        &self,
        build: impl FnMut(&Version) -> Option<CompactionPlan>,
    ) -> Result<Option<ManualPlan>, Interrupted> {
        self.claim_in(KeyspaceId::DEFAULT, build)
    }

    /// [`ManualCompaction::claim`] on `keyspace`'s tree: `build` sees that tree's
    /// current version, and the plan is marked as the keyspace's. `None` as well
    /// once the keyspace is dropped: a dropped tree has nothing left to compact.
    ///
    /// # Errors
    /// [`Interrupted`] if the pool stops or a background compaction failed.
    pub fn claim_in(
        &self,
        keyspace: KeyspaceId,
        mut build: impl FnMut(&Version) -> Option<CompactionPlan>,
    ) -> Result<Option<ManualPlan>, Interrupted> {
        let shared = &self.shared;
        shared.hooks.hit("manual:claim");
        let mut state = guard(&shared.state);
        loop {
            if let Some(e) = &state.error {
                return Err(Interrupted::Failed(Arc::clone(e)));
            }
            if shared.stopping() {
                return Err(Interrupted::Stopped);
            }
            let Some(version) = shared.set.current_of(keyspace) else {
                return Ok(None);
            };
            let Some(mut plan) = build(&version) else {
                return Ok(None);
            };
            plan.keyspace = keyspace;
            if !state.busy.conflicts(&plan) {
                Shared::mark_busy(&mut state, &plan);
                state.manual += 1;
                return Ok(Some(ManualPlan { plan }));
            }
            let mut wanted = Busy::default();
            mark(&mut wanted, &plan);
            drop(plan);
            state.next_reservation += 1;
            let id = state.next_reservation;
            state.reserved.push((id, wanted));
            state = shared
                .changed
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
            state.reserved.retain(|(r, _)| *r != id);
        }
    }

    /// Runs a claimed plan on this thread with the live snapshots, then releases its
    /// tables. Stopping the pool interrupts it ([`Error::Stopped`]); its error is the
    /// caller's, not the pool's.
    pub fn run(&self, claimed: ManualPlan) -> Result<()> {
        let shared = &self.shared;
        shared.hooks.hit("manual:run");
        let result = shared
            .set
            .compact(&claimed.plan, &(shared.snapshots)(), &shared.stop);
        shared.release(claimed.plan, true, None);
        result
    }
}
