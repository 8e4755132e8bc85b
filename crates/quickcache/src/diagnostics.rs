//! What the background threads and the waits on them are doing: the report a
//! watchdog prints when something hangs, and the registry of pending waits behind it.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, Weak};
use std::time::Instant;

use crate::inner::{Inner, lock};

/// One thread blocked on background work.
#[derive(Debug)]
struct Wait {
    id: u64,
    what: &'static str,
    thread: String,
    since: Instant,
}

/// The waits pending now: every call that blocks on background work registers here
/// for as long as it waits (never on a fast path), so a hang names its waiters.
#[derive(Debug, Default)]
pub(crate) struct Waits {
    next: Mutex<u64>,
    list: Mutex<Vec<Wait>>,
}

/// Removes its wait from the registry when dropped.
pub(crate) struct Waiting<'a> {
    waits: &'a Waits,
    id: u64,
}

impl Waits {
    /// Registers a wait for `what` by the calling thread until the guard drops.
    pub(crate) fn enter(&self, what: &'static str) -> Waiting<'_> {
        let id = {
            let mut next = lock(&self.next);
            *next += 1;
            *next
        };
        let thread = std::thread::current();
        let thread = thread
            .name()
            .map_or_else(|| format!("{:?}", thread.id()), str::to_owned);
        lock(&self.list).push(Wait {
            id,
            what,
            thread,
            since: Instant::now(),
        });
        Waiting { waits: self, id }
    }

    fn describe(&self, out: &mut String) {
        let list = lock(&self.list);
        let _ = writeln!(out, "pending waits: {}", list.len());
        for w in list.iter() {
            let _ = writeln!(
                out,
                "  [{}] thread {} waiting {:?}: {}",
                w.id,
                w.thread,
                w.since.elapsed(),
                w.what
            );
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        lock(&self.waits.list).retain(|w| w.id != self.id);
    }
}

/// Describes an open database's background state without keeping it open; see
/// [`crate::Db::reporter`].
#[derive(Debug, Clone)]
pub struct BackgroundReporter(pub(crate) Weak<Inner>);

impl BackgroundReporter {
    /// The state as text (the format is for people, not stable): the flush backlog,
    /// the compaction pool (running, due, busy tables), the write stall figures, the
    /// error state, and every thread waiting on background work, for how long, and
    /// for what. Never blocks for long on the locks it reads.
    pub fn report(&self) -> String {
        match self.0.upgrade() {
            Some(inner) => inner.describe(),
            None => "database closed and dropped".to_string(),
        }
    }
}

impl Inner {
    fn describe(&self) -> String {
        let mut out = String::new();
        let version = self.set.current();
        let _ = writeln!(
            out,
            "database {}: closed {}, failed {}, frozen memtables {}, L0 tables {}, pending compaction bytes {}",
            self.dir.display(),
            self.life.is_closed(),
            self.life.has_failed(),
            self.writes.frozen_count.load(Ordering::Acquire),
            version.l0_count(),
            quickcache_compaction::pending_compaction_bytes(&version, self.set.options()),
        );
        let levels: Vec<usize> = quickcache_compaction::Level::all()
            .map(|l| version.level(l).len())
            .collect();
        let _ = writeln!(out, "tables per level: {levels:?}");
        if let Some(e) = self.background_error() {
            let _ = writeln!(out, "background error: {e}");
        }
        match self
            .background
            .compactor
            .try_lock()
            .ok()
            .as_deref()
            .map(Option::as_ref)
        {
            Some(Some(pool)) => match pool.state() {
                Some(state) => out.push_str(&state.to_string()),
                None => out.push_str("compaction pool: its state lock stays taken\n"),
            },
            Some(None) => out.push_str("compaction pool: stopped\n"),
            None => out.push_str("compaction pool: its handle's lock is taken\n"),
        }
        self.background.waits.describe(&mut out);
        out
    }
}
