//! A description of what the pool is doing, for diagnosing a stuck process.

use std::fmt;
use std::sync::TryLockError;
use std::time::Duration;

use super::Shared;
use crate::{Level, TableId};

/// The pool's state at one moment; see [`super::Compactor::state`].
#[derive(Debug, Clone, PartialEq)]
pub struct PoolState {
    /// Worker threads.
    pub threads: usize,
    /// Workers asleep until the next nudge.
    pub sleeping: usize,
    /// Nudges not yet taken by a worker.
    pub nudges: usize,
    /// Background compactions running.
    pub running: usize,
    /// Manual compactions running.
    pub manual: usize,
    /// Manual compactions waiting for busy inputs.
    pub manual_waiting: usize,
    /// The next compaction due, as (from, to) levels, if one is.
    pub due: Option<(Level, Level)>,
    /// Tables held by running compactions.
    pub busy_tables: Vec<TableId>,
    /// Output levels and user-key ranges running compactions write.
    pub busy_outputs: Vec<(Level, Vec<u8>, Vec<u8>)>,
    /// Whether the pool is stopping.
    pub stopping: bool,
    /// The sticky error, if a compaction failed.
    pub error: Option<String>,
}

impl PoolState {
    /// Reads the state, trying the lock for up to a second: a report must never
    /// hang on the thing it reports.
    pub(super) fn read(shared: &Shared) -> Option<PoolState> {
        for _ in 0..100 {
            let state = match shared.state.try_lock() {
                Ok(state) => state,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            };
            let due = shared
                .set
                .pick_any(&state.taken())
                .map(|p| (p.level, p.output_level));
            let mut busy_tables: Vec<TableId> = state.busy.tables.iter().copied().collect();
            busy_tables.sort_unstable();
            return Some(PoolState {
                threads: shared.threads,
                sleeping: state.sleeping,
                nudges: state.nudges,
                running: state.running,
                manual: state.manual,
                manual_waiting: state.reserved.len(),
                due,
                busy_tables,
                busy_outputs: state.busy.outputs.clone(),
                stopping: shared.stopping(),
                error: state.error.as_ref().map(|e| e.to_string()),
            });
        }
        None
    }
}

impl fmt::Display for PoolState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "compaction pool: {} threads, {} asleep, {} nudges pending, {} running, {} manual running, {} manual waiting for busy inputs{}",
            self.threads,
            self.sleeping,
            self.nudges,
            self.running,
            self.manual,
            self.manual_waiting,
            if self.stopping { ", stopping" } else { "" },
        )?;
        match self.due {
            Some((from, to)) => writeln!(f, "  due: {from:?} -> {to:?}")?,
            None => writeln!(f, "  due: nothing claimable")?,
        }
        writeln!(f, "  busy tables: {:?}", self.busy_tables)?;
        for (level, lo, hi) in &self.busy_outputs {
            let (lo, hi) = (String::from_utf8_lossy(lo), String::from_utf8_lossy(hi));
            writeln!(f, "  busy output: {level:?} [{lo:?} ..= {hi:?}]")?;
        }
        if let Some(e) = &self.error {
            writeln!(f, "  sticky error: {e}")?;
        }
        Ok(())
    }
}
