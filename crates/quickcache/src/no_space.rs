//! Recovering from a full disk by itself: a flush that meets ENOSPC while writing
//! its table or its manifest edit loses nothing (the memtable and its WAL segments
//! stay, the partial table is removed, a torn manifest record is replaced by a fresh
//! manifest before the next edit), so instead of the sticky error state the flush
//! thread waits out a backoff and tries again. Writes go on meanwhile into the
//! memtables until their budget is used up, then stop (the frozen-memtable stop) and
//! are woken by the flush that succeeds. Compactions do the same in their pool.
//!
//! Every other error, and ENOSPC from a sync, stays sticky
//! (`docs/crash-safety.md`, rules 11 and 17; `docs/design.md`, "A full disk").

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quickcache_compaction::{Backoff, NoSpaceState};

use crate::error::{Error, Result};
use crate::inner::{Inner, lock};

/// What flushes and compactions do about a full disk, in [`crate::Stats::no_space`].
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// let no_space = db.stats().no_space;
/// assert!(!no_space.waiting() && no_space.flush.failures == 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NoSpaceStats {
    /// The flushes': whether they wait for space, failures and retries so far, the
    /// last ENOSPC.
    pub flush: NoSpaceState,
    /// The background compactions', likewise.
    pub compaction: NoSpaceState,
}

impl NoSpaceStats {
    /// Whether flushes or compactions wait for space now: writes may stop until the
    /// disk has room again (then they resume by themselves).
    pub fn waiting(&self) -> bool {
        self.flush.waiting || self.compaction.waiting
    }
}

/// Whether `error` is a full disk met while writing a table or a manifest edit
/// ([`quickcache_compaction::Error::is_retryable_no_space`]): nothing was lost.
pub(crate) fn is_retryable(error: &Error) -> bool {
    match error {
        Error::Tree { source, .. } => source.is_retryable_no_space(),
        Error::Compaction { source } | Error::NoSpace { source } => source.is_retryable_no_space(),
        _ => false,
    }
}

/// The flush thread's backoff after a full disk.
#[derive(Debug, Default)]
pub(crate) struct FlushSpace {
    backoff: Mutex<Backoff>,
    /// The last full-disk error, reported by waits for a flush while flushes wait.
    last: Mutex<Option<Arc<quickcache_compaction::Error>>>,
}

impl Inner {
    /// Handles a failed flush: a full disk met while writing starts (or continues)
    /// the backoff and wakes waiters so that they see it; anything else enters the
    /// sticky error state, as before.
    pub(crate) fn flush_failed(
        &self,
        operation: &'static str,
        source: quickcache_compaction::Error,
    ) {
        if source.is_retryable_no_space() {
            let mut backoff = lock(&self.background.flush_space.backoff);
            backoff.attempt();
            let _delay = backoff.failed(Instant::now(), &source);
            *lock(&self.background.flush_space.last) = Some(Arc::new(source));
            drop(backoff);
            self.notify();
            return;
        }
        let _reported = self.fail(Error::Tree {
            operation,
            path: self.dir.clone(),
            source: Box::new(source),
        });
    }

    /// [`Inner::fail`], except for a full disk met while writing a table or a
    /// manifest edit ([`is_retryable`]): that one is only returned, since nothing was
    /// lost and the manifest is replaced by a fresh one before the next edit (a
    /// keyspace's creation or drop that met it simply did not happen).
    pub(crate) fn fail_unless_no_space(&self, error: Error) -> Error {
        if is_retryable(&error) {
            error
        } else {
            self.fail(error)
        }
    }

    /// Records a flush that succeeded: if flushes waited for space, this was a retry
    /// and they resume (the flush's own signal wakes the stalled writers).
    pub(crate) fn flush_succeeded(&self) {
        let mut backoff = lock(&self.background.flush_space.backoff);
        if backoff.waiting() {
            backoff.attempt();
            backoff.succeeded();
        }
    }

    /// Ends a wait for space that is over with nothing left to flush (the keyspace
    /// was dropped, say): nothing waits for space any more.
    pub(crate) fn flush_idle(&self) {
        let mut backoff = lock(&self.background.flush_space.backoff);
        if backoff.waiting() && backoff.left(Instant::now()).is_none() {
            backoff.succeeded();
        }
    }

    /// The flush failures for a full disk so far: a wait for a flush reads it first
    /// and gives it to [`Inner::check_flush_space`].
    pub(crate) fn flush_space_failures(&self) -> u64 {
        lock(&self.background.flush_space.backoff).state().failures
    }

    /// Fails with [`Error::NoSpace`] if a flush met a full disk since `failures` was
    /// read, so that a caller waiting for a flush waits for one attempt at most (the
    /// next retry, if flushes waited already) rather than for an operator to free
    /// space; the flush thread signals every such failure.
    pub(crate) fn check_flush_space(&self, failures: u64) -> Result<()> {
        if lock(&self.background.flush_space.backoff).state().failures == failures {
            return Ok(());
        }
        match lock(&self.background.flush_space.last).clone() {
            Some(source) => Err(Error::NoSpace { source }),
            None => Ok(()),
        }
    }

    /// How long the flush thread still waits for space before its next attempt;
    /// `None` if it may flush now.
    pub(crate) fn flush_wait_left(&self) -> Option<Duration> {
        lock(&self.background.flush_space.backoff).left(Instant::now())
    }

    /// The no-space state of flushes and compactions, for [`crate::Stats`].
    pub(crate) fn no_space_stats(&self) -> NoSpaceStats {
        let flush = lock(&self.background.flush_space.backoff).state();
        let mut compaction = NoSpaceState::default();
        self.with_pool(|pool| compaction = pool.no_space());
        NoSpaceStats { flush, compaction }
    }

    /// [`Inner::wait_signal`], but for `timeout` at most: the flush thread's wait for
    /// space, its one timed wait.
    pub(crate) fn wait_signal_for(&self, seen: u64, timeout: Duration) -> Result<()> {
        let bg = lock(&self.background.state);
        let (bg, _) = self
            .background
            .changed
            .wait_timeout_while(bg, timeout, |bg| bg.signals == seen && !bg.stop)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if bg.stop { Err(Error::Closed) } else { Ok(()) }
    }
}
