//! The pool's side of a full disk: a compaction that met one (ENOSPC while writing)
//! is not the pool's sticky error. Its partial outputs are gone (removed by the
//! compaction, `docs/crash-safety.md` rule 17), its inputs are still in the tree, so
//! the workers wait out a backoff and pick again (`next_nudge`: a worker sleeps until a
//! nudge or the end of the backoff). The listener hears of both ends, so that writers
//! stalled meanwhile are woken when compactions resume.

use std::time::Instant;

use super::{Shared, guard};
use crate::Error;

impl Shared {
    /// Records that a compaction met a full disk: no worker claims another one until
    /// the backoff is over (each sleeps that long at most, see `next_nudge`).
    pub(super) fn space_failed(&self, error: &Error) {
        let _delay = guard(&self.state).backoff.failed(Instant::now(), error);
        self.hooks.hit("compactor:no_space");
    }

    /// Records that a compaction succeeded: if compactions waited for space, they
    /// resume (the release that follows tells the listener).
    pub(super) fn space_ok(&self) {
        let mut state = guard(&self.state);
        if state.backoff.waiting() {
            state.backoff.succeeded();
        }
    }

    /// Waits for a nudge, or for the end of the wait for space after a full disk
    /// (the pool's only timed wait); false once the pool stops.
    pub(super) fn next_nudge(&self) -> bool {
        let mut state = guard(&self.state);
        while state.nudges == 0 && !self.stopping() {
            let left = state.backoff.left(std::time::Instant::now());
            if left.is_none() && state.backoff.waiting() && state.running == 0 {
                // The wait is over: retry (`claim` ends the wait if nothing is due).
                // With a retry running, its worker sees to the next wait instead.
                return true;
            }
            state.sleeping += 1;
            state = match left {
                Some(left) => {
                    (self.work.wait_timeout(state, left))
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => self.work.wait(state).unwrap_or_else(|p| p.into_inner()),
            };
            state.sleeping -= 1;
        }
        if self.stopping() {
            return false;
        }
        state.nudges -= 1;
        true
    }
}
