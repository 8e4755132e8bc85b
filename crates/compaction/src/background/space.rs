//! The pool's side of a full disk: a compaction that met one (ENOSPC while writing)
//! is not the pool's sticky error. Its partial outputs are gone (removed by the
//! compaction, `docs/crash-safety.md` rule 17), its inputs are still in the tree, so
//! the workers wait out a backoff and pick again. The listener hears of both ends,
//! so that writers stalled meanwhile are woken when compactions resume.

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
}
