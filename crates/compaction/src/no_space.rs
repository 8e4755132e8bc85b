//! Retrying after a full disk: the backoff between attempts and what is reported
//! about it. Used by the compaction pool and by the facade's flush thread.
//!
//! Only errors that lost nothing durable are retried
//! ([`crate::Error::is_retryable_no_space`]); every other error stays sticky.

use std::fmt;
use std::time::{Duration, Instant};

/// The first wait after a full disk.
pub const FIRST_RETRY: Duration = Duration::from_millis(100);

/// The longest wait between two attempts: the wait doubles up to it.
pub const MAX_RETRY: Duration = Duration::from_millis(3200);

/// What a job that met a full disk reports: whether it waits for space now, how
/// often it met the full disk and retried, and the last such error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NoSpaceState {
    /// Whether the job waits for space now (its last attempt met a full disk).
    pub waiting: bool,
    /// Attempts that failed with a full disk, since the tree was opened.
    pub failures: u64,
    /// Attempts made again after a full disk, since the tree was opened.
    pub retries: u64,
    /// The last full-disk error, as text (kept after the job resumed).
    pub last_error: Option<String>,
}

impl NoSpaceState {
    /// The two states of a database's flushes and compactions as one: waiting if
    /// either waits, counts summed, the first one's last error if it has one.
    pub fn merge(&self, other: &NoSpaceState) -> NoSpaceState {
        NoSpaceState {
            waiting: self.waiting || other.waiting,
            failures: self.failures + other.failures,
            retries: self.retries + other.retries,
            last_error: self.last_error.clone().or_else(|| other.last_error.clone()),
        }
    }
}

/// The backoff of one kind of job after a full disk: [`FIRST_RETRY`] after the first
/// failure, doubling after each failure up to [`MAX_RETRY`], back to the start after
/// a success.
#[derive(Debug, Clone)]
pub struct Backoff {
    delay: Duration,
    until: Option<Instant>,
    state: NoSpaceState,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            delay: FIRST_RETRY,
            until: None,
            state: NoSpaceState::default(),
        }
    }
}

impl Backoff {
    /// Records an attempt that met a full disk at `now`; returns how long to wait
    /// before the next one.
    pub fn failed(&mut self, now: Instant, error: &dyn fmt::Display) -> Duration {
        let delay = self.delay;
        self.until = Some(now + delay);
        self.delay = (delay * 2).min(MAX_RETRY);
        self.state.waiting = true;
        self.state.failures += 1;
        self.state.last_error = Some(error.to_string());
        delay
    }

    /// Records an attempt that succeeded (or found nothing left to do): the job no
    /// longer waits, and the next full disk starts the backoff afresh.
    pub fn succeeded(&mut self) {
        self.delay = FIRST_RETRY;
        self.until = None;
        self.state.waiting = false;
    }

    /// Whether the job waits for space.
    pub fn waiting(&self) -> bool {
        self.state.waiting
    }

    /// How long the job must still wait at `now` before its next attempt; `None` if
    /// it may go ahead (not waiting, or the wait is over).
    pub fn left(&self, now: Instant) -> Option<Duration> {
        let until = self.until.filter(|_| self.state.waiting)?;
        until.checked_duration_since(now).filter(|d| !d.is_zero())
    }

    /// Records that an attempt starts after a full disk (counted as a retry only
    /// while waiting).
    pub fn attempt(&mut self) {
        if self.state.waiting {
            self.state.retries += 1;
        }
    }

    /// What to report.
    pub fn state(&self) -> NoSpaceState {
        self.state.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_the_cap_and_a_success_resets_it() {
        let mut b = Backoff::default();
        let now = Instant::now();
        assert_eq!(b.left(now), None);
        let waits: Vec<_> = (0..8).map(|_| b.failed(now, &"full")).collect();
        assert_eq!(waits[0], FIRST_RETRY);
        assert_eq!(waits[1], FIRST_RETRY * 2);
        assert_eq!(*waits.last().unwrap(), MAX_RETRY);
        assert!(b.waiting() && b.left(now).is_some());
        assert_eq!(b.left(now + MAX_RETRY), None, "the wait is over");
        b.attempt();
        b.succeeded();
        let s = b.state();
        assert!(!s.waiting && s.failures == 8 && s.retries == 1);
        assert_eq!(s.last_error.as_deref(), Some("full"));
        assert_eq!(b.failed(now, &"again"), FIRST_RETRY);
    }
}
