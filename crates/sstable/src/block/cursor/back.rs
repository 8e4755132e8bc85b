//! The entries of one restart interval, decoded once and kept, so that a block cursor
//! steps backwards in O(1) amortized time.
//!
//! Keys are prefix-compressed against the entry before them, so an entry can only be
//! decoded by scanning forward from its restart point. Without this cache each `prev`
//! re-decoded the interval up to the current entry: O(interval) per step, which made
//! reverse scans several times slower than forward ones. Now the first `prev` into an
//! interval decodes it once, recording every entry; the following ones read the record.

use crate::{SeqNo, ValueKind};

/// Where one decoded entry lies and what its key's trailer says: everything a block
/// cursor holds about its current entry besides the key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// Position of the entry.
    pub(crate) pos: usize,
    /// Position of the entry after it.
    pub(crate) next: usize,
    pub(crate) seqno: SeqNo,
    pub(crate) kind: ValueKind,
    /// Position of the value.
    pub(crate) value_start: usize,
    /// Length of the value.
    pub(crate) value_len: usize,
}

impl Step {
    /// No entry: the state of a cursor that was never positioned.
    pub(crate) const NONE: Step = Step {
        pos: 0,
        next: 0,
        seqno: SeqNo::ZERO,
        kind: ValueKind::Value,
        value_start: 0,
        value_len: 0,
    };
}

/// The recorded entries of one restart interval, in order, up to some entry.
#[derive(Debug, Default)]
pub(crate) struct BackSteps {
    /// Each entry with the end of its encoded key in `keys`.
    steps: Vec<(Step, usize)>,
    /// The entries' encoded keys, back to back.
    keys: Vec<u8>,
}

impl BackSteps {
    /// Forgets every entry (a new interval is about to be recorded).
    pub(crate) fn clear(&mut self) {
        self.steps.clear();
        self.keys.clear();
    }

    /// Records the next entry of the interval, with its encoded key.
    pub(crate) fn push(&mut self, step: Step, key: &[u8]) {
        self.keys.extend_from_slice(key);
        self.steps.push((step, self.keys.len()));
    }

    /// Number of recorded entries.
    pub(crate) fn len(&self) -> usize {
        self.steps.len()
    }

    /// Recorded entry `k` and its encoded key; `None` past the end.
    pub(crate) fn get(&self, k: usize) -> Option<(Step, &[u8])> {
        let (step, end) = *self.steps.get(k)?;
        let start = k.checked_sub(1).map_or(0, |p| self.steps[p].1);
        Some((step, self.keys.get(start..end)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_entries_and_their_keys_in_order() {
        let mut b = BackSteps::default();
        let step = |pos, next| Step {
            pos,
            next,
            ..Step::NONE
        };
        b.push(step(0, 10), b"apple");
        b.push(step(10, 18), b"apricot");
        assert_eq!(b.len(), 2);
        let (step, key) = b.get(1).unwrap();
        assert_eq!((step.pos, step.next, key), (10, 18, &b"apricot"[..]));
        assert_eq!(b.get(0).unwrap().1, b"apple");
        assert!(b.get(2).is_none());
        b.clear();
        assert!(b.get(0).is_none());
    }
}
