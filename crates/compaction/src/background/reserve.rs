//! Reserving output ranges for tables that join the tree from outside the pool
//! (ingestion): no compaction may write into them until the reservation drops.

use std::sync::Arc;

use super::{Shared, guard};
use crate::{Busy, Level};

/// A level and user-key range (both ends inclusive) kept busy.
type Range = (Level, Vec<u8>, Vec<u8>);

/// Ranges kept busy in a [`super::Compactor`]: compactions whose output would meet
/// one of them are not started. Dropping it frees them and wakes the pool.
#[derive(Debug)]
#[must_use = "the ranges are free again as soon as this drops"]
pub struct OutputReservation {
    shared: Option<Arc<Shared>>,
    ranges: Vec<Range>,
}

impl OutputReservation {
    /// A reservation with no pool behind it (the pool is stopped): nothing to free.
    pub fn none(ranges: Vec<Range>) -> OutputReservation {
        OutputReservation {
            shared: None,
            ranges,
        }
    }

    /// The ranges reserved.
    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }
}

impl super::Compactor {
    /// Calls `choose` with what running compactions (and waiting manual ones) are
    /// busy with, and keeps the ranges it returns busy until the reservation drops:
    /// chosen and reserved under one hold of the pool's lock, so no compaction can
    /// start writing into a range between the choice and the reservation.
    pub fn reserve_outputs(&self, choose: impl FnOnce(&Busy) -> Vec<Range>) -> OutputReservation {
        let mut state = guard(&self.shared.state);
        let ranges = choose(&state.taken());
        state.busy.outputs.extend(ranges.iter().cloned());
        OutputReservation {
            shared: Some(Arc::clone(&self.shared)),
            ranges,
        }
    }
}

impl Drop for OutputReservation {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let mut state = guard(&shared.state);
        for range in &self.ranges {
            if let Some(i) = state.busy.outputs.iter().position(|o| o == range) {
                state.busy.outputs.swap_remove(i);
            }
        }
        drop(state);
        // A compaction may have been held back by these ranges.
        shared.nudge();
        shared.changed.notify_all();
    }
}
