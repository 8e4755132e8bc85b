//! Manual compaction: every table overlapping a key range pushed down to the bottom
//! level, level by level, then the bottom level's older tables rewritten in place
//! (RocksDB's `BottommostLevelCompaction::kForceOptimized`), with the background pool
//! paused so plans never conflict.

use std::collections::HashSet;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use quickcache_compaction::{
    CompactionPlan, Compactor, Idle, Level, LevelTargets, TableHandle, TableId, Version, l0_output,
};

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
    pub(crate) fn compact_range(
        &self,
        lower: &Bound<Vec<u8>>,
        upper: &Bound<Vec<u8>>,
    ) -> Result<()> {
        self.flush_all()?;
        // Before the lock: from here the flush thread does not wait for the pool.
        self.manual_compaction.store(true, Ordering::Release);
        let mut pool = lock(&self.compactor);
        let Some(compactor) = pool.take() else {
            self.manual_compaction.store(false, Ordering::Release);
            return Err(Error::Closed);
        };
        let idle = compactor.wait_idle();
        compactor.stop();
        let result = idle
            .map_err(|source| Error::Compaction { source })
            .and_then(|()| self.compact_levels(lower, upper));
        let set = Arc::clone(&self.set);
        let snapshots = Arc::clone(&self.snapshots);
        *pool = Some(Compactor::start(set, Arc::new(move || snapshots.list())));
        self.manual_compaction.store(false, Ordering::Release);
        drop(pool);
        self.refresh_backlog();
        self.notify();
        result.map_err(|e| if e.is_io() { self.fail(e) } else { e })
    }

    /// Waits until the frozen memtables are flushed and no compaction is due or
    /// running; the active memtable stays as it is.
    pub(crate) fn wait_for_compactions(&self) -> Result<()> {
        self.check_writable()?;
        self.wait_flushed()?;
        loop {
            // The pool's lock is not held while waiting: the flush thread takes it
            // after every flush.
            let waiter = {
                let pool = lock(&self.compactor);
                let Some(compactor) = pool.as_ref() else {
                    return Err(Error::Closed);
                };
                compactor.schedule();
                compactor.idle_waiter()
            };
            match waiter.wait() {
                Ok(Idle::Reached) => return Ok(()),
                // A manual compaction replaced the pool, or the database is closing:
                // wait on whatever pool there is now.
                Ok(Idle::Stopped) => {}
                Err(source) => return Err(self.fail(Error::Compaction { source })),
            }
        }
    }

    fn compact_levels(&self, lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> Result<()> {
        let start = self.set.current();
        let base = LevelTargets::of(&start, self.set.options()).base;
        let mut level = Level::L0;
        while level != Level::BOTTOM {
            let version = self.set.current();
            let output = if level == Level::L0 {
                l0_output(&version, base)
            } else {
                level.below().unwrap_or(Level::BOTTOM)
            };
            let taken = inputs(&version, level, lower, upper);
            if let Some(plan) =
                CompactionPlan::manual(&version, level, output, taken, self.set.options())
            {
                self.run(&plan)?;
            }
            level = output.max(level.below().unwrap_or(Level::BOTTOM));
        }
        // The bottom level's own tables too: versions only a released snapshot
        // needed, and tombstones over nothing, stay there until rewritten. Tables the
        // steps above wrote were merged just now and need no second pass.
        let version = self.set.current();
        // By id: a bottom level of many thousand tables would make a scan per table
        // quadratic.
        let old: HashSet<TableId> = start
            .level(Level::BOTTOM)
            .iter()
            .map(|t| t.info().id)
            .collect();
        let was_there = |t: &Arc<TableHandle>| old.contains(&t.info().id);
        // One plan per run of adjacent old tables, so no output spans a new table.
        let bottom = inputs(&version, Level::BOTTOM, lower, upper);
        for run in bottom.split(|t| !was_there(t)) {
            let (bottom, tables) = (Level::BOTTOM, run.to_vec());
            let in_place =
                CompactionPlan::manual(&version, bottom, bottom, tables, self.set.options());
            if let Some(plan) = in_place {
                self.run(&plan)?;
            }
        }
        Ok(())
    }

    fn run(&self, plan: &CompactionPlan) -> Result<()> {
        let never = AtomicBool::new(false);
        let snapshots = self.snapshots.list();
        self.set
            .compact(plan, &snapshots, &never)
            .map_err(|source| Error::Tree {
                operation: "compacting a range",
                path: self.dir.clone(),
                source: Box::new(source),
            })
    }
}
