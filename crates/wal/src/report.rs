//! What recovery found: records read, a torn tail cut off, damaged ranges skipped.

use crate::{DamageKind, RecoveryMode, SegmentId};

/// A damaged byte range of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DamagedRange {
    /// The segment.
    pub segment: SegmentId,
    /// Where the damage starts.
    pub offset: u64,
    /// How many bytes, from `offset`, hold no intact record.
    pub len: u64,
    /// What was wrong at `offset`.
    pub reason: DamageKind,
}

/// The outcome of reading a log in some [`RecoveryMode`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    /// The mode the log was read in.
    pub mode: RecoveryMode,
    /// The segments read, in order.
    pub segments: Vec<SegmentId>,
    /// Records returned (those at or after the starting position).
    pub records: u64,
    /// The damaged end of the last segment, with no intact record after it: a torn
    /// write. [`crate::Recovery::finish`] cuts it off the file.
    pub torn_tail: Option<DamagedRange>,
    /// Damaged ranges skipped in [`RecoveryMode::SkipCorrupt`], in log order.
    pub skipped: Vec<DamagedRange>,
}

impl RecoveryReport {
    /// Bytes skipped over as damaged (the torn tail not included).
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped.iter().map(|r| r.len).sum()
    }

    /// True if no damage at all was found.
    pub fn is_clean(&self) -> bool {
        self.torn_tail.is_none() && self.skipped.is_empty()
    }
}
