//! The WAL's error type: what went wrong, in which segment, at which offset.

use std::path::PathBuf;

use snafu::Snafu;

use crate::{DamageKind, SegmentId};

/// Errors of the write-ahead log.
///
/// File-system failures keep the [`quickcache_fs::Error`] they came from as their
/// `source` (which itself names the operation and path), wrapped with the segment they
/// happened to. Use [`Error::is_corruption`] rather than matching variants to decide
/// whether the log's bytes are damaged.
#[derive(Debug, Snafu)]
#[snafu(visibility(pub(crate)))]
#[non_exhaustive]
pub enum Error {
    /// The bytes of a segment are damaged in a way the recovery mode does not accept.
    #[snafu(display("corrupt WAL segment {segment} at offset {offset}: {reason}"))]
    Corruption {
        /// The damaged segment.
        segment: SegmentId,
        /// Byte offset of the damage within the segment file.
        offset: u64,
        /// What is wrong there.
        reason: DamageKind,
    },
    /// A segment was written by a newer (or unknown) version of the format.
    #[snafu(display(
        "WAL segment {segment} has format version {version}, this build reads only version {supported}"
    ))]
    UnsupportedVersion {
        /// The segment.
        segment: SegmentId,
        /// The version in its header.
        version: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// Segments exist on both sides of a number that has no segment: records are lost.
    #[snafu(display("WAL segment {segment} is missing between existing segments"))]
    MissingSegment {
        /// The missing segment.
        segment: SegmentId,
    },
    /// A record longer than the format's maximum was refused; nothing was written.
    #[snafu(display("record of {len} bytes exceeds the WAL maximum of {max} bytes"))]
    RecordTooLarge {
        /// The record's length.
        len: usize,
        /// The maximum, [`crate::MAX_RECORD_LEN`].
        max: u32,
    },
    /// An earlier write or sync failed; the log accepts nothing more. Reopen the log
    /// (which recovers it) to continue.
    #[snafu(display("WAL writer is poisoned by an earlier failure: {first_failure}"))]
    Poisoned {
        /// The description of the first failure.
        first_failure: String,
    },
    /// The log was closed with [`crate::Wal::close`].
    #[snafu(display("WAL writer is closed"))]
    Closed,
    /// `delete_segments_below` was asked to delete the segment being written.
    #[snafu(display(
        "cannot delete WAL segments below {requested}: segment {current} is being written"
    ))]
    SegmentInUse {
        /// The bound that was asked for.
        requested: SegmentId,
        /// The segment receiving appends.
        current: SegmentId,
    },
    /// The WAL directory could not be created or listed.
    #[snafu(display("WAL directory {}: {source}", dir.display()))]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// The file-system error.
        source: quickcache_fs::Error,
    },
    /// Creating a new segment file failed.
    #[snafu(display("creating WAL segment {segment}: {source}"))]
    CreateSegment {
        /// The segment.
        segment: SegmentId,
        /// The file-system error.
        source: quickcache_fs::Error,
    },
    /// Writing to a segment failed; an unknown prefix of the bytes may have landed.
    #[snafu(display("writing WAL segment {segment} at offset {offset}: {source}"))]
    Write {
        /// The segment.
        segment: SegmentId,
        /// The segment's length before the write.
        offset: u64,
        /// The file-system error.
        source: quickcache_fs::Error,
    },
    /// Syncing a segment failed: its unsynced data may be lost even if a retry succeeds.
    #[snafu(display("syncing WAL segment {segment}: {source}"))]
    Sync {
        /// The segment.
        segment: SegmentId,
        /// The file-system error.
        source: quickcache_fs::Error,
    },
    /// Syncing the WAL directory (after creating or removing segments) failed.
    #[snafu(display("syncing WAL directory {}: {source}", dir.display()))]
    SyncDir {
        /// The directory.
        dir: PathBuf,
        /// The file-system error.
        source: quickcache_fs::Error,
    },
    /// Reading a segment failed. This is never taken for the end of the log.
    #[snafu(display("reading WAL segment {segment}: {source}"))]
    Read {
        /// The segment.
        segment: SegmentId,
        /// The file-system error.
        source: quickcache_fs::Error,
    },
    /// Cutting a segment to the end of its records (a torn tail, or the unused
    /// preallocated space of a finished segment), or removing a torn segment, failed.
    #[snafu(display("cutting WAL segment {segment} to {len} bytes: {source}"))]
    Truncate {
        /// The segment.
        segment: SegmentId,
        /// The length it was being cut to (0 when removing it).
        len: u64,
        /// The file-system error.
        source: quickcache_fs::Error,
    },
    /// Removing an obsolete segment failed.
    #[snafu(display("removing WAL segment {segment}: {source}"))]
    Remove {
        /// The segment.
        segment: SegmentId,
        /// The file-system error.
        source: quickcache_fs::Error,
    },
    /// Closing a written segment failed.
    #[snafu(display("closing WAL segment {segment}: {source}"))]
    Close {
        /// The segment.
        segment: SegmentId,
        /// The file-system error.
        source: quickcache_fs::Error,
    },
    /// The background flush thread could not be started.
    #[snafu(display("starting the WAL flush thread: {source}"))]
    SpawnFlusher {
        /// The OS error.
        source: std::io::Error,
    },
}

impl Error {
    /// True if the error says the log's bytes are damaged or a segment is missing
    /// (as opposed to an I/O failure, a misuse, or a poisoned writer).
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Error::Corruption { .. } | Error::MissingSegment { .. }
        )
    }

    /// True if the writer refuses appends because of an earlier failure.
    pub fn is_poisoned(&self) -> bool {
        matches!(self, Error::Poisoned { .. })
    }
}

/// Result alias of the WAL crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
