//! Waiting for the pool to go idle: no compaction due, none running.

use std::sync::Arc;

use super::{Shared, guard};
use crate::Error;

/// How [`IdleWaiter::wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// No compaction was due or running.
    Reached,
    /// The pool was stopped first (the database is closing).
    Stopped,
}

/// Waits for a [`super::Compactor`] to go idle; see [`super::Compactor::idle_waiter`].
#[derive(Debug, Clone)]
pub struct IdleWaiter {
    shared: Arc<Shared>,
}

impl IdleWaiter {
    pub(super) fn new(shared: Arc<Shared>) -> IdleWaiter {
        IdleWaiter { shared }
    }

    /// Blocks until no compaction is due or running (manual ones included), or the
    /// pool is stopped; reports the pool's sticky error if one failed.
    ///
    /// Whenever it sees a compaction due it nudges the workers itself, so it never
    /// waits for work that no thread was asked to do: each of its waits ends with a
    /// worker's round (it asked for one) or a running compaction's end.
    pub fn wait(&self) -> Result<Idle, Arc<Error>> {
        let shared = &self.shared;
        let mut state = guard(&shared.state);
        loop {
            if let Some(e) = &state.error {
                return Err(Arc::clone(e));
            }
            if shared.stopping() {
                return Ok(Idle::Stopped);
            }
            let due = shared.set.pick_any(&state.taken()).is_some();
            // While compactions wait for space the workers wake on their own timer:
            // nudging them would only spin; their rounds still signal `changed`.
            if due {
                if !state.backoff.waiting() {
                    state.nudges += shared.threads;
                    shared.work.notify_all();
                }
            } else if state.running == 0 && state.manual == 0 {
                // Nothing due: nothing waits for space either (a manual compaction
                // may have done the work a failed one had to retry).
                state.backoff.succeeded();
                return Ok(Idle::Reached);
            }
            state = shared
                .changed
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}
