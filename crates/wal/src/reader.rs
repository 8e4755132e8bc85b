//! `WalReader`: the records of a log directory, in order across segments, from a
//! position on. Reading never modifies the directory.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use quickcache_fs::DynFs;
use snafu::ResultExt;

use crate::cursor::{SegmentCursor, Step};
use crate::error::{MissingSegmentSnafu, ReadSnafu};
use crate::segment::list_segments;
use crate::{Position, Record, RecoveryMode, RecoveryReport, Result, SegmentId};

/// An iterator over the records of a log, in log order, starting at a position.
///
/// Yields `Ok(record)` for each intact record at or after the start position. Damage
/// is handled as the [`RecoveryMode`] says; an error (corruption, or an I/O error,
/// which is never taken for the end of the log) is yielded once and ends the
/// iteration. [`WalReader::report`] tells what was found so far.
///
/// Segments below the start position's segment are not read. Each segment is read
/// into memory whole while its records are returned.
#[derive(Debug)]
pub struct WalReader {
    fs: DynFs,
    dir: PathBuf,
    from: Position,
    mode: RecoveryMode,
    pending: VecDeque<SegmentId>,
    last: Option<SegmentId>,
    cursor: Option<SegmentCursor>,
    /// Where the last segment's unused preallocated space starts, once read.
    zero_tail: Option<Position>,
    /// The format version of the last segment, once its header was read intact.
    last_format: Option<u32>,
    /// Where the last segment's intact frames end, once it has been read.
    last_end: Option<Position>,
    report: RecoveryReport,
    failed: bool,
    /// Segments read into memory beforehand ([`WalReader::from_held`]): read from
    /// here instead of the directory.
    held: Option<BTreeMap<SegmentId, Vec<u8>>>,
}

impl WalReader {
    /// A reader of the segments in `dir`, returning records at or after `from`.
    ///
    /// # Errors
    /// Listing the directory fails, or a segment is missing between two existing
    /// segments at or above `from.segment`.
    pub fn new(
        fs: DynFs,
        dir: impl Into<PathBuf>,
        from: Position,
        mode: RecoveryMode,
    ) -> Result<WalReader> {
        let dir = dir.into();
        let all = list_segments(&*fs, &dir)?;
        WalReader::over(fs, dir, all, from, mode, None)
    }

    /// A reader of segments already read into memory (`held`, by number), as if they
    /// were the files of `dir`: for a reader that must keep the bytes of a log
    /// another process may delete segments from while it reads. The highest-numbered
    /// segment held is the last one.
    ///
    /// # Errors
    /// A segment is missing between two held segments at or above `from.segment`.
    pub fn from_held(
        fs: DynFs,
        dir: impl Into<PathBuf>,
        held: BTreeMap<SegmentId, Vec<u8>>,
        from: Position,
        mode: RecoveryMode,
    ) -> Result<WalReader> {
        let segments = held.keys().copied().collect();
        WalReader::over(fs, dir.into(), segments, from, mode, Some(held))
    }

    /// A reader of `segments` (ascending, the files of `dir` or the ones `held`) from
    /// `from` on.
    fn over(
        fs: DynFs,
        dir: PathBuf,
        segments: Vec<SegmentId>,
        from: Position,
        mode: RecoveryMode,
        held: Option<BTreeMap<SegmentId, Vec<u8>>>,
    ) -> Result<WalReader> {
        let last = segments.last().copied();
        let pending: VecDeque<SegmentId> = segments
            .into_iter()
            .filter(|s| *s >= from.segment)
            .collect();
        check_contiguous(&pending)?;
        Ok(WalReader {
            fs,
            dir,
            from,
            mode,
            pending,
            last,
            cursor: None,
            zero_tail: None,
            last_format: None,
            last_end: None,
            report: RecoveryReport {
                mode,
                ..RecoveryReport::default()
            },
            failed: false,
            held,
        })
    }

    /// What has been found so far; complete once the iterator has returned `None`.
    pub fn report(&self) -> &RecoveryReport {
        &self.report
    }

    /// The highest-numbered segment in the directory when the reader was made.
    pub fn last_segment(&self) -> Option<SegmentId> {
        self.last
    }

    /// Where the records of the last segment end in unused preallocated space (zeros
    /// up to the end of the file), once that segment has been read: what
    /// [`crate::Recovery::finish`] cuts off. Not damage, so not in the report.
    pub(crate) fn zero_tail(&self) -> Option<Position> {
        self.zero_tail
    }

    /// The format version of the directory's last segment, once it has been read and
    /// its header was intact; `None` before, or if it is below the start position.
    /// A writer continues only a segment of its own version, so that one segment
    /// never mixes versions.
    pub fn last_segment_format(&self) -> Option<u32> {
        self.last_format
    }

    /// Where the intact frames of the directory's last segment end (records and sync
    /// marks alike; at a torn tail, where the damage starts), once that segment has
    /// been read; `None` before, or if it is below the start position.
    pub fn last_segment_end(&self) -> Option<Position> {
        self.last_end
    }

    /// The directory being read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn open_segment(&mut self, id: SegmentId) -> Result<SegmentCursor> {
        let held = self.held.as_mut().and_then(|h| h.remove(&id));
        let bytes = match held {
            Some(bytes) => bytes,
            None => self
                .fs
                .read_file(&id.path_in(&self.dir))
                .context(ReadSnafu { segment: id })?,
        };
        self.report.segments.push(id);
        let is_last = Some(id) == self.last;
        Ok(SegmentCursor::new(id, bytes, is_last, self.mode))
    }

    /// The next record at or after the start position, or `None` at the end.
    fn advance(&mut self) -> Result<Option<Record>> {
        loop {
            let Some(cursor) = self.cursor.as_mut() else {
                let Some(id) = self.pending.pop_front() else {
                    return Ok(None);
                };
                self.cursor = Some(self.open_segment(id)?);
                continue;
            };
            match cursor.step()? {
                Step::Record(record) if record.position >= self.from => {
                    self.report.records += 1;
                    return Ok(Some(record));
                }
                Step::Record(_) => {}
                Step::Skipped(range) => self.report.skipped.push(range),
                Step::TornTail(range) => self.report.torn_tail = Some(range),
                Step::End => {
                    if Some(cursor.id()) == self.last {
                        if cursor.header_intact() {
                            self.last_format = Some(cursor.format());
                        }
                        self.last_end = Some(Position {
                            segment: cursor.id(),
                            offset: cursor.frames_end() as u64,
                        });
                    }
                    if let Some(offset) = cursor.zero_tail() {
                        let segment = cursor.id();
                        let offset = offset as u64;
                        self.zero_tail = Some(Position { segment, offset });
                    }
                    self.cursor = None;
                }
            }
        }
    }
}

impl Iterator for WalReader {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.advance() {
            Ok(record) => record.map(Ok),
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

/// Fails if a number is missing between the first and last of `segments` (ascending).
fn check_contiguous(segments: &VecDeque<SegmentId>) -> Result<()> {
    let mut expected = None;
    for &segment in segments {
        if let Some(expected) = expected
            && segment != expected
        {
            return MissingSegmentSnafu { segment: expected }.fail();
        }
        expected = Some(segment.next());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_between_segments_are_named() {
        let ids = |v: &[u64]| v.iter().map(|&n| SegmentId(n)).collect::<VecDeque<_>>();
        assert!(check_contiguous(&ids(&[])).is_ok());
        assert!(check_contiguous(&ids(&[4, 5, 6])).is_ok());
        let err = check_contiguous(&ids(&[4, 5, 7])).unwrap_err();
        assert!(matches!(
            err,
            crate::Error::MissingSegment {
                segment: SegmentId(6)
            }
        ));
        assert!(err.is_corruption());
    }
}
