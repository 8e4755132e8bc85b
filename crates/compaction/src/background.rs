//! The background compaction pool: worker threads that pick and run compactions
//! whenever they are nudged, until stopped; manual compactions claim their plans
//! from the same pool, so both never touch the same tables.
//!
//! Every wait on the pool is for something a thread is sure to do (see
//! `docs/design.md`, "Waiting on background work"):
//! - a worker sleeps only until the next nudge, and a nudge is counted, never lost;
//! - [`IdleWaiter`] waits for running compactions to end, and nudges the workers
//!   itself whenever it sees a compaction due;
//! - [`ManualCompaction::claim`] waits only for the running compactions that hold
//!   its inputs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use quickcache_sstable::SeqNo;

use crate::{Busy, CompactionPlan, Error, Result, SyncPoints, VersionSet};

mod idle;
mod manual;
mod report;
mod reserve;
mod space;

pub use idle::{Idle, IdleWaiter};
pub use manual::{Interrupted, ManualCompaction, ManualPlan};
pub use report::PoolState;
pub use reserve::OutputReservation;

/// Supplies the live snapshots' sequence numbers when a compaction starts.
pub type SnapshotSource = Arc<dyn Fn() -> Vec<SeqNo> + Send + Sync>;

/// Called on a worker thread whenever the pool's state changes in a way its owner
/// may be waiting for: a compaction ended (done or failed; the tree's backlog and
/// [`Compactor::error`] may have changed) or a worker ended a round (the pool may be
/// idle). It runs with no pool lock held, and should only signal (wake a condition
/// variable, say): waiting on it would stall compactions.
pub type Listener = Arc<dyn Fn() + Send + Sync>;

/// A pool of compaction threads (default one, [`crate::CompactionOptions::background_threads`]).
///
/// Workers wake on [`Compactor::schedule`] (call it after every flush), run due
/// compactions until none is left, and sleep again. [`Compactor::stop`] interrupts
/// running compactions between entries; an interrupted compaction leaves only
/// unreferenced output files, which the next open removes. The first error stops
/// further compactions and is kept for [`Compactor::error`] (sticky), except a full
/// disk met while writing ([`Error::is_retryable_no_space`]): then compactions wait
/// and retry with a backoff ([`crate::Backoff`]), reported by [`Compactor::no_space`].
#[derive(Debug)]
pub struct Compactor {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

struct Shared {
    set: Arc<VersionSet>,
    snapshots: SnapshotSource,
    hooks: SyncPoints,
    listener: Option<Listener>,
    threads: usize,
    stop: AtomicBool,
    state: Mutex<State>,
    /// Signalled when a compaction ends, a worker ends a round, or the pool stops.
    changed: Condvar,
    /// Signalled when a nudge is counted, or the pool stops.
    work: Condvar,
}

#[derive(Default)]
struct State {
    busy: Busy,
    /// Background compactions running.
    running: usize,
    /// Manual compactions running (claimed, not yet released).
    manual: usize,
    /// Manual compactions waiting for busy inputs, each with the tables and output
    /// range it wants, which workers leave alone meanwhile: otherwise a stream of
    /// background compactions could keep a manual one waiting for ever.
    reserved: Vec<(u64, Busy)>,
    /// Numbers the reservations.
    next_reservation: u64,
    /// Nudges not yet taken by a worker.
    nudges: usize,
    /// Workers asleep until the next nudge.
    sleeping: usize,
    error: Option<Arc<Error>>,
    /// The wait for space after a compaction met a full disk.
    backoff: crate::Backoff,
}

impl State {
    /// What a background compaction may not take: the busy tables and ranges, and
    /// those waiting manual compactions reserved.
    fn taken(&self) -> std::borrow::Cow<'_, Busy> {
        if self.reserved.is_empty() {
            return std::borrow::Cow::Borrowed(&self.busy);
        }
        let mut taken = self.busy.clone();
        for (_, wanted) in &self.reserved {
            taken.tables.extend(wanted.tables.iter().copied());
            taken.outputs.extend(wanted.outputs.iter().cloned());
        }
        std::borrow::Cow::Owned(taken)
    }
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
    ///
    /// # Errors
    /// A worker thread could not be spawned; the workers already started are
    /// stopped.
    pub fn start(set: Arc<VersionSet>, snapshots: SnapshotSource) -> std::io::Result<Compactor> {
        Compactor::start_with(set, snapshots, SyncPoints::default())
    }

    /// As [`Compactor::start`], with a test's sync points.
    ///
    /// # Errors
    /// As [`Compactor::start`].
    pub fn start_with(
        set: Arc<VersionSet>,
        snapshots: SnapshotSource,
        hooks: SyncPoints,
    ) -> std::io::Result<Compactor> {
        Compactor::start_listening(set, snapshots, hooks, None)
    }

    /// As [`Compactor::start_with`], calling `listener` after every compaction and
    /// every worker's round, so that its owner waits on signals rather than polling
    /// [`Compactor::error`] and the tree's backlog.
    ///
    /// # Errors
    /// As [`Compactor::start`].
    pub fn start_listening(
        set: Arc<VersionSet>,
        snapshots: SnapshotSource,
        hooks: SyncPoints,
        listener: Option<Listener>,
    ) -> std::io::Result<Compactor> {
        let threads = set.options().background_threads.max(1);
        let shared = Arc::new(Shared {
            set,
            snapshots,
            hooks,
            listener,
            threads,
            stop: AtomicBool::new(false),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            work: Condvar::new(),
        });
        // A pool with fewer workers than `threads` would count nudges nobody takes:
        // on a failed spawn the ones started are stopped (by the drop) instead.
        let mut compactor = Compactor {
            shared,
            workers: Vec::with_capacity(threads),
        };
        for i in 0..threads {
            let shared = Arc::clone(&compactor.shared);
            let worker = std::thread::Builder::new()
                .name(format!("quickcache-compact-{i}"))
                .spawn(move || worker(&shared))?;
            compactor.workers.push(worker);
        }
        compactor.schedule();
        Ok(compactor)
    }

    /// Asks the workers to look for due compactions.
    pub fn schedule(&self) {
        self.shared.nudge();
    }

    /// The error that stopped compactions, if any.
    pub fn error(&self) -> Option<Arc<Error>> {
        guard(&self.shared.state).error.clone()
    }

    /// Whether compactions wait for space after a full disk, and the retries so far.
    pub fn no_space(&self) -> crate::NoSpaceState {
        guard(&self.shared.state).backoff.state()
    }

    /// Number of compactions running now, manual ones included.
    pub fn running(&self) -> usize {
        let state = guard(&self.shared.state);
        state.running + state.manual
    }

    /// Whether no compaction is running (manual ones included) or due now: then
    /// nothing this pool will do shrinks the tree's backlog until the tree changes.
    pub fn is_idle(&self) -> bool {
        let state = guard(&self.shared.state);
        state.running == 0
            && state.manual == 0
            && self.shared.set.pick_any(&state.taken()).is_none()
    }

    /// Blocks until no compaction is due or running (or one failed), then reports the
    /// sticky error if there is one. While writes go on, that may take as long as
    /// they keep making compactions due.
    pub fn wait_idle(&self) -> Result<(), Arc<Error>> {
        // The pool cannot stop while `self` is borrowed: only `stop` or a drop does.
        self.idle_waiter().wait().map(|_| ())
    }

    /// A handle that waits for this pool to go idle without borrowing it, so that a
    /// caller need not hold whatever lock guards the pool while it waits.
    pub fn idle_waiter(&self) -> IdleWaiter {
        IdleWaiter::new(Arc::clone(&self.shared))
    }

    /// A handle through which a caller runs its own compactions on its own thread,
    /// claiming their tables from this pool (see [`ManualCompaction`]).
    pub fn manual(&self) -> ManualCompaction {
        ManualCompaction::new(Arc::clone(&self.shared))
    }

    /// What the pool is doing now, for diagnosing a stuck process; `None` if its
    /// state lock stays taken (it is never held across I/O).
    pub fn state(&self) -> Option<PoolState> {
        PoolState::read(&self.shared)
    }

    /// Stops the workers, interrupting running compactions (manual ones too), and
    /// waits for the workers; then returns the sticky error, which a compaction
    /// finishing during the stop may have set (an interruption is not an error).
    pub fn stop(mut self) -> Option<Arc<Error>> {
        self.shutdown();
        self.error()
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Under the state lock, so a waiter between its check of `stop` and its wait
        // cannot miss the wake-up.
        drop(guard(&self.shared.state));
        self.shared.changed.notify_all();
        self.shared.work.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl Drop for Compactor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Counts one nudge per worker and wakes them; a nudge given while every worker
    /// is busy is taken when one finishes its round, so none is lost.
    fn nudge(&self) {
        for _ in 0..self.threads {
            self.hooks.hit("compactor:nudge");
        }
        guard(&self.state).nudges += self.threads;
        self.work.notify_all();
    }

    /// Marks `plan`'s tables and output range busy.
    fn mark_busy(state: &mut State, plan: &CompactionPlan) {
        mark(&mut state.busy, plan);
    }

    /// Frees `plan`'s tables and range, then wakes waiters. The plan's input handles
    /// are dropped before the count goes down, so a file they were the last to hold is
    /// removed before a waiter returns, not during what the caller does next. A
    /// background compaction's `failure` becomes the pool's sticky error; a manual
    /// one's goes back to its caller instead.
    fn release(&self, plan: CompactionPlan, manual: bool, failure: Option<Error>) {
        let ids: Vec<_> = plan.all_inputs().map(|t| t.info().id).collect();
        let range = plan
            .user_range()
            .map(|(lo, hi)| (plan.output_level, lo, hi));
        drop(plan);
        let mut state = guard(&self.state);
        for id in &ids {
            state.busy.tables.remove(id);
        }
        if let Some(range) = range
            && let Some(i) = state.busy.outputs.iter().position(|o| *o == range)
        {
            state.busy.outputs.swap_remove(i);
        }
        if manual {
            debug_assert!(state.manual > 0, "a manual release without a claim");
            state.manual -= 1;
        } else {
            debug_assert!(state.running > 0, "a release without a claim");
            state.running -= 1;
        }
        if let Some(e) = failure {
            state.error.get_or_insert(Arc::new(e));
        }
        drop(state);
        self.changed.notify_all();
        self.tell_listener();
    }

    fn tell_listener(&self) {
        if let Some(listener) = &self.listener {
            listener();
        }
    }
}

fn worker(shared: &Shared) {
    while shared.next_nudge() {
        while !shared.stopping() {
            let Some(plan) = claim(shared) else { break };
            shared.hooks.hit("compactor:run");
            let result = shared
                .set
                .compact(&plan, &(shared.snapshots)(), &shared.stop);
            let failure = match result {
                Ok(()) => {
                    shared.space_ok();
                    None
                }
                Err(Error::Stopped) => None,
                Err(e) if e.is_retryable_no_space() => {
                    shared.space_failed(&e);
                    None
                }
                Err(e) => Some(e),
            };
            shared.release(plan, false, failure);
        }
        shared.hooks.hit("compactor:round_done");
        // Under the state lock, so an idle waiter between its look at the pool and
        // its wait cannot miss the end of this round.
        drop(guard(&shared.state));
        shared.changed.notify_all();
        shared.tell_listener();
    }
}

/// Adds `plan`'s tables and output range to `busy`.
fn mark(busy: &mut Busy, plan: &CompactionPlan) {
    busy.tables.extend(plan.all_inputs().map(|t| t.info().id));
    if let Some((lo, hi)) = plan.user_range() {
        busy.outputs.push((plan.output_level, lo, hi));
    }
}

/// Picks a compaction and marks its tables and output range busy.
fn claim(shared: &Shared) -> Option<CompactionPlan> {
    let mut state = guard(&shared.state);
    if state.error.is_some() || state.backoff.left(std::time::Instant::now()).is_some() {
        return None;
    }
    let Some(plan) = shared.set.pick_any(&state.taken()) else {
        // Nothing due: nothing waits for space either.
        if state.running == 0 && state.backoff.waiting() {
            state.backoff.succeeded();
        }
        return None;
    };
    state.backoff.attempt();
    Shared::mark_busy(&mut state, &plan);
    state.running += 1;
    Some(plan)
}
