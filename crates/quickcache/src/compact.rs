//! Manual compaction: every table overlapping a key range pushed down to the bottom
//! level, level by level, then the bottom level's older tables rewritten in place
//! (RocksDB's `BottommostLevelCompaction::kForceOptimized`). Each step claims its
//! tables from the compaction pool, so background compactions of other tables go on
//! meanwhile, and a step waits only for the running compactions holding its inputs.

use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;

use quickcache_compaction::{
    CompactionPlan, Idle, Interrupted, Level, LevelTargets, ManualCompaction, TableHandle, TableId,
    Version, l0_output,
};
use quickcache_sstable::KeyspaceId;

use crate::error::{Error, Result};
use crate::inner::{Inner, lock};

fn overlaps(t: &TableHandle, lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    let info = t.info();
    let above = match lower {
        Bound::Included(l) => info.largest_user() < l.as_slice(),
        Bound::Excluded(l) => info.largest_user() <= l.as_slice(),
        Bound::Unbounded => false,
    };
    let below = match upper {
        Bound::Included(u) => info.smallest_user() > u.as_slice(),
        Bound::Excluded(u) => info.smallest_user() >= u.as_slice(),
        Bound::Unbounded => false,
    };
    !above && !below
}

fn user_range(tables: &[Arc<TableHandle>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let lo = tables.iter().map(|t| t.info().smallest_user()).min()?;
    let hi = tables.iter().map(|t| t.info().largest_user()).max()?;
    Some((lo.to_vec(), hi.to_vec()))
}

/// The inputs of `level` to compact: the tables meeting the range, and on L0 every
/// table overlapping those (transitively), so no older L0 entry stays above a newer
/// one moved down.
fn inputs(
    version: &Version,
    level: Level,
    lower: &Bound<Vec<u8>>,
    upper: &Bound<Vec<u8>>,
) -> Vec<Arc<TableHandle>> {
    let mut taken: Vec<Arc<TableHandle>> = version
        .level(level)
        .iter()
        .filter(|t| overlaps(t, lower, upper))
        .cloned()
        .collect();
    if level == Level::L0 {
        while let Some((lo, hi)) = user_range(&taken) {
            let grown = version.overlapping(Level::L0, &lo, &hi);
            if grown.len() == taken.len() {
                break;
            }
            taken = grown;
        }
    }
    taken
}

impl Inner {
    /// Compacts `keyspace`'s tables in the range (see `Db::compact_range`), after
    /// flushing every keyspace's memtable: a write batch may span keyspaces, and
    /// flushing all keeps the WAL's oldest-segment rule simple.
    pub(crate) fn compact_range(
        &self,
        keyspace: KeyspaceId,
        lower: &Bound<Vec<u8>>,
        upper: &Bound<Vec<u8>>,
    ) -> Result<()> {
        self.flush_everything()?;
        let manual = {
            let pool = lock(&self.background.compactor);
            pool.as_ref().map(|c| c.manual()).ok_or(Error::Closed)?
        };
        let _waiting = self
            .background
            .waits
            .enter("compact_range: claiming and running its compactions");
        let result = self.compact_levels(&manual, keyspace, lower, upper);
        self.refresh_backlog();
        self.notify();
        // A full disk met while writing is returned, not sticky: nothing was lost.
        let sticky = |e: &Error| e.is_io() && !crate::no_space::is_retryable(e);
        result.map_err(|e| if sticky(&e) { self.fail(e) } else { e })
    }

    /// Waits until the frozen memtables are flushed and no compaction is due or
    /// running; the active memtable stays as it is.
    pub(crate) fn wait_for_compactions(&self) -> Result<()> {
        self.check_writable()?;
        self.wait_flushed()?;
        // The pool's lock is not held while waiting: the flush thread takes it
        // after every flush.
        let waiter = {
            let pool = lock(&self.background.compactor);
            let Some(compactor) = pool.as_ref() else {
                return Err(Error::Closed);
            };
            compactor.idle_waiter()
        };
        let _waiting = self
            .background
            .waits
            .enter("wait_for_compactions: the pool going idle");
        match waiter.wait() {
            Ok(Idle::Reached) => Ok(()),
            Ok(Idle::Stopped) => Err(Error::Closed),
            Err(source) => Err(self.fail(Error::Compaction { source })),
        }
    }

    fn compact_levels(
        &self,
        manual: &ManualCompaction,
        keyspace: KeyspaceId,
        lower: &Bound<Vec<u8>>,
        upper: &Bound<Vec<u8>>,
    ) -> Result<()> {
        let options = &self.set.options_of(keyspace);
        // A keyspace dropped since the caller checked has nothing left to compact.
        let Some(current) = self.set.current_of(keyspace) else {
            return Ok(());
        };
        // The bottom level's tables from before the call: rewritten in place below.
        let mut old: HashSet<TableId> = current
            .level(Level::BOTTOM)
            .iter()
            .map(|t| t.info().id)
            .collect();
        drop(current);
        let mut level = Level::L0;
        while level != Level::BOTTOM {
            let mut output = level.below().unwrap_or(Level::BOTTOM);
            let claimed = manual.claim_in(keyspace, |version| {
                if level == Level::L0 {
                    // The same "L0 never below data" rule as the picker's, on the
                    // version the plan is built from.
                    output = l0_output(version, LevelTargets::of(version, options).base);
                }
                let taken = inputs(version, level, lower, upper);
                CompactionPlan::manual(version, level, output, taken, options)
            });
            if let Some(plan) = claimed.map_err(interrupted)? {
                self.run(manual, plan)?;
            }
            level = output.max(level.below().unwrap_or(Level::BOTTOM));
        }
        // The bottom level's own tables too: versions only a released snapshot
        // needed, and tombstones over nothing, stay there until rewritten. Tables the
        // steps above wrote were merged just now and need no second pass. One plan
        // per run of adjacent old tables, so no output spans a new table; a run's
        // tables leave `old` once claimed, so each is rewritten once.
        loop {
            let claimed = manual.claim_in(keyspace, |version| {
                let bottom = inputs(version, Level::BOTTOM, lower, upper);
                let run = bottom
                    .split(|t| !old.contains(&t.info().id))
                    .find(|run| !run.is_empty())?;
                let (bottom, tables) = (Level::BOTTOM, run.to_vec());
                CompactionPlan::manual(version, bottom, bottom, tables, options)
            });
            let Some(plan) = claimed.map_err(interrupted)? else {
                return Ok(());
            };
            for t in &plan.plan().inputs {
                old.remove(&t.info().id);
            }
            self.run(manual, plan)?;
        }
    }

    fn run(
        &self,
        manual: &ManualCompaction,
        plan: quickcache_compaction::ManualPlan,
    ) -> Result<()> {
        manual.run(plan).map_err(|source| match source {
            quickcache_compaction::Error::Stopped => Error::Closed,
            source => Error::Tree {
                operation: "compacting a range",
                path: self.dir.clone(),
                source: Box::new(source),
            },
        })
    }
}

fn interrupted(why: Interrupted) -> Error {
    match why {
        Interrupted::Stopped => Error::Closed,
        Interrupted::Failed(source) => Error::Compaction { source },
    }
}
