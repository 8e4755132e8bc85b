//! Segment identities and names: `SegmentId`, `Position`, and the `000001.log` files.

use std::fmt;
use std::path::{Path, PathBuf};

use quickcache_fs::FileSystem;
use snafu::ResultExt;

use crate::Result;
use crate::error::DirectorySnafu;

/// The number of a segment file. Segments are numbered from 1 upwards without gaps;
/// `SegmentId(0)` never names a file and only appears in [`Position::START`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SegmentId(pub u64);

impl SegmentId {
    /// The first segment a new log writes.
    pub const FIRST: SegmentId = SegmentId(1);

    /// The segment after this one.
    pub fn next(self) -> SegmentId {
        SegmentId(self.0.saturating_add(1))
    }

    /// The segment's file name: the number, zero-padded to six digits, and `.log`.
    pub fn file_name(self) -> String {
        format!("{:06}.log", self.0)
    }

    /// The segment's path inside `dir`.
    pub fn path_in(self, dir: &Path) -> PathBuf {
        dir.join(self.file_name())
    }

    /// The segment a file name denotes, if it is a segment name in canonical form
    /// (so `1.log` or `0000001.log` are not segments: one number has one name).
    pub fn from_file_name(name: &str) -> Option<SegmentId> {
        let digits = name.strip_suffix(".log")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let id = SegmentId(digits.parse().ok()?);
        (id.0 > 0 && id.file_name() == name).then_some(id)
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// Where a record starts: its segment and the byte offset of its frame in that
/// segment's file. Positions order like the log: by segment, then offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    /// The segment holding the record.
    pub segment: SegmentId,
    /// Byte offset of the record's frame within the segment file.
    pub offset: u64,
}

impl Position {
    /// Before every record of every segment: reading from here reads the whole log.
    pub const START: Position = Position {
        segment: SegmentId(0),
        offset: 0,
    };

    /// The first position of `segment`.
    pub fn segment_start(segment: SegmentId) -> Position {
        Position { segment, offset: 0 }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.segment, self.offset)
    }
}

/// The segments in `dir`, ascending. Other files in the directory are ignored.
pub fn list_segments(fs: &dyn FileSystem, dir: &Path) -> Result<Vec<SegmentId>> {
    let names = fs.list(dir).context(DirectorySnafu { dir })?;
    let mut ids: Vec<SegmentId> = names
        .iter()
        .filter_map(|n| SegmentId::from_file_name(n))
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// The first segment in `dir` whose intact header carries a format version newer
/// than this build reads: its path and version. Unreadable segments and damaged
/// headers are left for recovery to report in context.
///
/// # Examples
/// ```
/// use quickcache_wal::fs::RealFs;
/// use quickcache_wal::{Wal, WalOptions, newer_segment};
/// let dir = tempfile::tempdir()?;
/// Wal::open_dir(dir.path(), WalOptions::default())?.0.close()?;
/// assert_eq!(newer_segment(&RealFs::new(), dir.path()), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn newer_segment(fs: &dyn FileSystem, dir: &Path) -> Option<(PathBuf, u32)> {
    let segments = list_segments(fs, dir).ok()?;
    segments.into_iter().find_map(|id| {
        let path = id.path_in(dir);
        let file = fs.open(&path).ok()?;
        let mut header = [0u8; crate::SEGMENT_HEADER_LEN];
        let n = file.read_at(0, &mut header).ok()?;
        match crate::format::check_segment_header(header.get(..n)?, id) {
            Err(crate::Error::UnsupportedVersion { version, .. }) => Some((path, version)),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_like_numbers() {
        for id in [1, 9, 999_999, 1_000_000, u64::MAX] {
            let name = SegmentId(id).file_name();
            assert_eq!(SegmentId::from_file_name(&name), Some(SegmentId(id)));
        }
        assert_eq!(SegmentId(1).file_name(), "000001.log");
    }

    #[test]
    fn non_canonical_names_are_not_segments() {
        for name in [
            "1.log",
            "0000001.log",
            "000000.log",
            ".log",
            "00000a.log",
            "000001.log.tmp",
            "LOCK",
            "+00001.log",
            "99999999999999999999999.log",
        ] {
            assert_eq!(SegmentId::from_file_name(name), None, "{name}");
        }
    }

    #[test]
    fn positions_order_by_segment_then_offset() {
        let a = Position {
            segment: SegmentId(1),
            offset: 900,
        };
        let b = Position {
            segment: SegmentId(2),
            offset: 32,
        };
        assert!(Position::START < a && a < b);
        assert_eq!(b.to_string(), "000002@32");
    }
}
