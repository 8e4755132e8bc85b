//! The background compaction pool: worker threads that pick and run compactions
//! whenever they are nudged, until stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};
use quickcache_sstable::SeqNo;

use crate::{Busy, CompactionPlan, Error, Result, VersionSet};

/// Supplies the live snapshots' sequence numbers when a compaction starts.
pub type SnapshotSource = Arc<dyn Fn() -> Vec<SeqNo> + Send + Sync>;

/// A pool of compaction threads (default one, [`crate::CompactionOptions::threads`]).
///
/// Workers wake on [`Compactor::schedule`] (call it after every flush), run due
/// compactions until none is left, and sleep again. [`Compactor::stop`] interrupts
/// running compactions between entries; an interrupted compaction leaves only
/// unreferenced output files, which the next open removes. The first error stops
/// further compactions and is kept for [`Compactor::error`] (sticky).
#[derive(Debug)]
pub struct Compactor {
    shared: Arc<Shared>,
    nudge: Option<Sender<()>>,
    workers: Vec<JoinHandle<()>>,
}

struct Shared {
    set: Arc<VersionSet>,
    snapshots: SnapshotSource,
    stop: AtomicBool,
    state: Mutex<State>,
    idle: Condvar,
}

#[derive(Default)]
struct State {
    busy: Busy,
    running: usize,
    error: Option<Arc<Error>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compactor")
            .field("stopping", &self.stop.load(Ordering::Relaxed))
            .finish()
    }
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Compactor {
    /// Starts the workers for `set`; `snapshots` gives the live snapshots.
    pub fn start(set: Arc<VersionSet>, snapshots: SnapshotSource) -> Compactor {
        let threads = set.options().threads.max(1);
        let shared = Arc::new(Shared {
            set,
            snapshots,
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            idle: Condvar::new(),
        });
        let (tx, rx) = crossbeam_channel::unbounded();
        let workers = (0..threads)
            .map(|_| {
                let (shared, rx) = (Arc::clone(&shared), rx.clone());
                std::thread::spawn(move || worker(&shared, &rx))
            })
            .collect();
        let compactor = Compactor {
            shared,
            nudge: Some(tx),
            workers,
        };
        compactor.schedule();
        compactor
    }

    /// Asks the workers to look for due compactions.
    pub fn schedule(&self) {
        if let Some(tx) = &self.nudge {
            for _ in 0..self.workers.len() {
                let _ = tx.send(());
            }
        }
    }

    /// The error that stopped compactions, if any.
    pub fn error(&self) -> Option<Arc<Error>> {
        guard(&self.shared.state).error.clone()
    }

    /// Number of compactions running now.
    pub fn running(&self) -> usize {
        guard(&self.shared.state).running
    }

    /// Blocks until no compaction is due or running (or one failed), then reports the
    /// sticky error if there is one.
    pub fn wait_idle(&self) -> Result<(), Arc<Error>> {
        self.schedule();
        // The pool cannot stop while `self` is borrowed: only `stop` or a drop does.
        self.idle_waiter().wait().map(|_| ())
    }

    /// A handle that waits for this pool to go idle without borrowing it, so that a
    /// caller need not hold whatever lock guards the pool while it waits (the engine's
    /// flush thread takes that lock after every flush). Call [`Compactor::schedule`]
    /// first, so that due work is picked up.
    pub fn idle_waiter(&self) -> IdleWaiter {
        IdleWaiter {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops the workers, interrupting running compactions, and waits for them; then
    /// returns the sticky error, which a compaction finishing during the stop may
    /// have set (an interruption is not an error).
    pub fn stop(mut self) -> Option<Arc<Error>> {
        self.shutdown();
        self.error()
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Under the state lock, so a waiter between its check of `stop` and its wait
        // cannot miss the wake-up.
        drop(guard(&self.shared.state));
        self.shared.idle.notify_all();
        self.nudge = None;
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// How [`IdleWaiter::wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// No compaction was due or running.
    Reached,
    /// The pool was stopped first (closed, or replaced by a manual compaction).
    Stopped,
}

/// Waits for a [`Compactor`] to go idle; see [`Compactor::idle_waiter`].
#[derive(Debug, Clone)]
pub struct IdleWaiter {
    shared: Arc<Shared>,
}

impl IdleWaiter {
    /// Blocks until no compaction is due or running, or the pool is stopped; reports
    /// the pool's sticky error if one failed.
    pub fn wait(&self) -> Result<Idle, Arc<Error>> {
        let shared = &self.shared;
        let mut state = guard(&shared.state);
        loop {
            if let Some(e) = &state.error {
                return Err(Arc::clone(e));
            }
            if shared.stop.load(Ordering::SeqCst) {
                return Ok(Idle::Stopped);
            }
            let due = shared.set.pick_any(&state.busy).is_some();
            if state.running == 0 && !due {
                return Ok(Idle::Reached);
            }
            state = shared.idle.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Drop for Compactor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn worker(shared: &Shared, nudges: &Receiver<()>) {
    while nudges.recv().is_ok() {
        while !shared.stop.load(Ordering::SeqCst) {
            let Some(plan) = claim(shared) else { break };
            let result = shared
                .set
                .compact(&plan, &(shared.snapshots)(), &shared.stop);
            release(shared, plan, result);
        }
        shared.idle.notify_all();
    }
}

/// Picks a compaction and marks its tables and output range busy.
fn claim(shared: &Shared) -> Option<CompactionPlan> {
    let mut state = guard(&shared.state);
    if state.error.is_some() {
        return None;
    }
    let plan = shared.set.pick_any(&state.busy)?;
    state
        .busy
        .tables
        .extend(plan.all_inputs().map(|t| t.info().id));
    if let Some((lo, hi)) = plan.user_range() {
        state.busy.outputs.push((plan.output_level, lo, hi));
    }
    state.running += 1;
    Some(plan)
}

/// Frees `plan`'s tables and range, then wakes waiters. The plan's input handles are
/// dropped before `running` counts down, so a file they were the last to hold is
/// removed before [`Compactor::wait_idle`] returns, not during what the caller does next.
fn release(shared: &Shared, plan: CompactionPlan, result: Result<()>) {
    let ids: Vec<_> = plan.all_inputs().map(|t| t.info().id).collect();
    let range = plan
        .user_range()
        .map(|(lo, hi)| (plan.output_level, lo, hi));
    drop(plan);
    let mut state = guard(&shared.state);
    for id in &ids {
        state.busy.tables.remove(id);
    }
    if let Some(range) = range
        && let Some(i) = state.busy.outputs.iter().position(|o| *o == range)
    {
        state.busy.outputs.swap_remove(i);
    }
    state.running -= 1;
    match result {
        Ok(()) | Err(Error::Stopped) => {}
        Err(e) => state.error = Some(Arc::new(e)),
    }
    drop(state);
    shared.idle.notify_all();
}
