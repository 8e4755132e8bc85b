//! Reading the records of one segment held in memory, applying the recovery mode to
//! whatever damage is found.

use crate::format::{FORMAT_VERSION, SEGMENT_HEADER_LEN, SYNC_MARKS_SINCE, check_segment_header};
use crate::record::{Frame, decode_frame, next_intact_frame_before};
use crate::zeros::zero_tail_start;
use crate::{DamageKind, DamagedRange, Error, Position, RecoveryMode, Result, SegmentId};

/// One record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Where the record starts.
    pub position: Position,
    /// The bytes that were appended.
    pub payload: Vec<u8>,
    /// The format version of the segment the record is in (from
    /// [`crate::OLDEST_FORMAT_VERSION`] to [`crate::FORMAT_VERSION`]): it tells how
    /// the payload is laid out, for a user whose payload layout changed with the
    /// version.
    pub format: u32,
}

/// What one step through a segment found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// An intact record.
    Record(Record),
    /// Damage skipped (skip mode); reading goes on after it.
    Skipped(DamagedRange),
    /// Damage running to the end of the last segment: the torn tail.
    TornTail(DamagedRange),
    /// The segment has no more records. (In the last segment, that may be where its
    /// zero-filled preallocated space starts: see [`SegmentCursor::zero_tail`].)
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    Records,
    Done,
}

/// A cursor over one segment's bytes.
///
/// Every step either moves forward by at least one byte or ends the segment, so
/// iteration terminates on any input; payloads are copied out of the segment's bytes,
/// so nothing is allocated beyond what the file holds.
///
/// In the last segment, a record boundary from which every byte is zero is the clean
/// end of the records: the writer preallocates segments, and a segment it did not
/// close (a crash) ends in the unused part of that space. Only the last segment can
/// be in that state: the writer cuts the unused space off a segment before it
/// creates the next one, so in earlier segments zeros are damage as before.
#[derive(Debug)]
pub(crate) struct SegmentCursor {
    id: SegmentId,
    bytes: Vec<u8>,
    at: usize,
    /// Where the segment's zero-filled end starts: no frame starts at or after it.
    zeros_from: usize,
    /// Set when the records ended cleanly at unused preallocated space: its offset.
    zero_tail: Option<usize>,
    /// The log's last segment is the only place a torn tail or unused preallocated
    /// space is expected.
    is_last: bool,
    mode: RecoveryMode,
    phase: Phase,
    /// The version in the segment's header, once read; records are tagged with it.
    /// A header that is damaged (the skip mode reads on) tells none: its records are
    /// taken for the current version.
    format: u32,
    /// Whether the header was read and intact.
    header_intact: bool,
}

impl SegmentCursor {
    /// A cursor at the start of segment `id`, whose file holds `bytes`.
    pub(crate) fn new(id: SegmentId, bytes: Vec<u8>, is_last: bool, mode: RecoveryMode) -> Self {
        SegmentCursor {
            id,
            zeros_from: zero_tail_start(&bytes),
            zero_tail: None,
            bytes,
            at: 0,
            is_last,
            mode,
            phase: Phase::Header,
            format: FORMAT_VERSION,
            header_intact: false,
        }
    }

    /// The next record, damage report or end.
    pub(crate) fn step(&mut self) -> Result<Step> {
        if self.phase == Phase::Header {
            self.phase = Phase::Records;
            self.at = SEGMENT_HEADER_LEN;
            match check_segment_header(&self.bytes, self.id)? {
                Ok(format) => {
                    self.format = format;
                    self.header_intact = true;
                }
                Err(damage) => return self.damaged(0, damage),
            }
        }
        if self.phase == Phase::Done {
            return Ok(Step::End);
        }
        loop {
            if self.is_last && self.at >= self.zeros_from {
                self.phase = Phase::Done;
                self.zero_tail = (self.at < self.bytes.len()).then_some(self.at);
                return Ok(Step::End);
            }
            match decode_frame(&self.bytes, self.id, self.at, self.marks()) {
                Ok(Frame::Record { payload, next }) => {
                    let record = Record {
                        position: Position {
                            segment: self.id,
                            offset: self.at as u64,
                        },
                        payload: payload.to_vec(),
                        format: self.format,
                    };
                    self.at = next;
                    return Ok(Step::Record(record));
                }
                // A mark matters only after damage (`damaged`): step over it.
                Ok(Frame::SyncMark { next, .. }) => self.at = next,
                Ok(Frame::End) => {
                    self.phase = Phase::Done;
                    return Ok(Step::End);
                }
                Err(damage) => return self.damaged(self.at, damage),
            }
        }
    }

    /// Whether sync marks are frames in this segment (an intact header of version 4
    /// on), rather than damage.
    fn marks(&self) -> bool {
        self.header_intact && self.format >= SYNC_MARKS_SINCE
    }

    /// Whether a sync mark after `resume` says the segment was durable past
    /// `damage`: the damage is then in synced data, not a power loss's unsynced pages.
    fn synced_past(&self, damage: usize, resume: usize) -> bool {
        let mut at = resume;
        loop {
            match decode_frame(&self.bytes, self.id, at, true) {
                Ok(Frame::Record { next, .. }) => at = next,
                Ok(Frame::SyncMark {
                    synced_through,
                    next,
                }) => {
                    if synced_through > damage as u64 {
                        return true;
                    }
                    at = next;
                }
                Ok(Frame::End) => return false,
                Err(_) => {
                    let limit = self.zeros_from;
                    match next_intact_frame_before(&self.bytes, self.id, at + 1, limit, true) {
                        Some(next) => at = next,
                        None => return false,
                    }
                }
            }
        }
    }

    /// Where the segment's intact frames (records and sync marks) end, once the
    /// cursor has ended: at a torn tail, at the damage.
    pub(crate) fn frames_end(&self) -> usize {
        self.at
    }

    /// The segment being read.
    pub(crate) fn id(&self) -> SegmentId {
        self.id
    }

    /// The segment's format version: read from its header once the first step is
    /// taken ([`FORMAT_VERSION`] before, or when the header was damaged).
    pub(crate) fn format(&self) -> u32 {
        self.format
    }

    /// Whether the segment's header has been read and was intact.
    pub(crate) fn header_intact(&self) -> bool {
        self.header_intact
    }

    /// Where the unused (zero-filled) space after the last record starts, once the
    /// cursor has ended cleanly there in the last segment; `None` if the records run
    /// to the end of the file or the segment ended otherwise.
    pub(crate) fn zero_tail(&self) -> Option<usize> {
        self.zero_tail
    }

    /// Applies the recovery mode to damage found at `offset`.
    fn damaged(&mut self, offset: usize, reason: DamageKind) -> Result<Step> {
        let corruption = Error::Corruption {
            segment: self.id,
            offset: offset as u64,
            reason,
        };
        if self.mode == RecoveryMode::AbsoluteConsistency {
            return Err(corruption);
        }
        // Records never start inside the segment header.
        let from = (offset + 1).max(SEGMENT_HEADER_LEN);
        let resume =
            next_intact_frame_before(&self.bytes, self.id, from, self.zeros_from, self.marks());
        let range = |end: usize| DamagedRange {
            segment: self.id,
            offset: offset as u64,
            len: (end - offset) as u64,
            reason,
        };
        match (self.mode, resume) {
            (RecoveryMode::SkipCorrupt, Some(next)) => {
                self.at = next;
                Ok(Step::Skipped(range(next)))
            }
            (_, None) if self.is_last => {
                self.phase = Phase::Done;
                // A torn header costs the whole file (recovery removes it). A torn
                // record ends at the last non-zero byte: the zeros after it are
                // preallocated space, not lost data.
                let end = if offset < SEGMENT_HEADER_LEN {
                    self.bytes.len()
                } else {
                    self.zeros_from.max(offset)
                };
                Ok(Step::TornTail(range(end)))
            }
            // Intact frames after the damage, but no sync mark says the damage was
            // ever durable: unsynced pages of a power loss, landed out of order. The
            // log ends where they start, as at a torn tail: none of what follows was
            // acknowledged as synced (`docs/format/wal.md`, "Sync marks").
            (RecoveryMode::TolerateCorruptTail, Some(resume))
                if self.is_last
                    && self.marks()
                    && offset >= SEGMENT_HEADER_LEN
                    && !self.synced_past(offset, resume) =>
            {
                self.phase = Phase::Done;
                Ok(Step::TornTail(range(self.zeros_from.max(offset))))
            }
            (RecoveryMode::SkipCorrupt, None) => {
                self.phase = Phase::Done;
                Ok(Step::Skipped(range(self.bytes.len())))
            }
            // Damage followed by intact records, or damage inside a segment that a
            // later segment proves was complete, is never the end of the log.
            _ => Err(corruption),
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod zero_tail_tests;
