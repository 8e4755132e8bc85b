//! quickcache-wal: a segmented write-ahead log of opaque records, with checksummed
//! frames, group commit, and recovery that tells a torn tail from corruption.
//!
//! Records go to numbered segment files (`000001.log`, `000002.log`, ...) in one
//! directory, through the [`quickcache_fs::FileSystem`] trait. Every append chooses
//! its [`Durability`]; concurrent appenders share writes and syncs. Recovery reads the
//! records back in a [`RecoveryMode`], cuts off the torn tail a power loss leaves, and
//! starts the writer: at the end of the last segment if it ended cleanly and is short
//! (continuing it costs no new file and no directory sync), otherwise in a fresh
//! segment. Each segment file is preallocated to the
//! segment size when created, so synced appends do not change its size, and cut to its
//! records when the writer finishes it; [`Wal::log_bytes`] counts what the log holds.
//! The on-disk format is specified in `docs/format/wal.md`.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use quickcache_wal::fs::SimFs;
//! use quickcache_wal::{Durability, Position, Wal, WalOptions};
//!
//! let fs = Arc::new(SimFs::new(1));
//! let (wal, _report) = Wal::open(fs.clone(), "/db/wal", WalOptions::default())?;
//! let first = wal.append(b"put a=1", Durability::Synced)?;
//! wal.append(b"put b=2", Durability::Os)?;
//! wal.close()?;
//!
//! // After a restart (or a crash): read the records back, then append again.
//! let mut recovery = Wal::recover(fs, "/db/wal", WalOptions::default(), Position::START)?;
//! let records: Vec<_> = recovery.by_ref().collect::<Result<_, _>>()?;
//! assert_eq!(records[0].position, first);
//! assert_eq!(records[1].payload, b"put b=2");
//! let (wal, report) = recovery.finish()?;
//! assert!(report.is_clean());
//! // The log ended cleanly in a short segment: the writer continues it.
//! assert_eq!(wal.current_segment(), first.segment);
//! assert!(wal.append(b"put c=3", Durability::Os)?.offset > first.offset);
//! # Ok::<(), quickcache_wal::Error>(())
//! ```
//!
//! # Guarantees
//! - A record appended with [`Durability::Synced`], or before a successful
//!   [`Wal::sync`], survives a power loss; one appended with [`Durability::Os`]
//!   survives a process crash.
//! - After a crash, recovery returns a prefix of the appended records: never a record
//!   that was not written, never a hole.
//! - A failed write or sync poisons the writer; it never retries an fsync.

#![forbid(unsafe_code)]

mod active;
mod cursor;
mod error;
mod format;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod group;
mod options;
mod reader;
mod record;
mod recovery;
mod report;
mod segment;
mod writer;
mod zeros;

pub use cursor::Record;
pub use error::{Error, Result};
pub use format::{
    DamageKind, FORMAT_VERSION, OLDEST_FORMAT_VERSION, SEGMENT_HEADER_LEN, SEGMENT_MAGIC,
};
pub use options::{Durability, RecoveryMode, WalOptions};
pub use reader::WalReader;
pub use record::{MAX_RECORD_LEN, RECORD_HEADER_LEN};
pub use recovery::Recovery;
pub use report::{DamagedRange, RecoveryReport};
pub use segment::{Position, SegmentId, list_segments, newer_segment};
pub use writer::Wal;

/// The file-system layer the log writes through (`quickcache-fs`), re-exported so a
/// user of this crate alone needs no second dependency: [`fs::RealFs`] for the disk,
/// [`fs::SimFs`] to simulate crashes in tests.
pub use quickcache_fs as fs;

/// The framing of one segment file (segment header, record frames), public so that
/// other logs reuse it instead of inventing a second one: the compaction crate's
/// manifest is a single segment whose number is the manifest number.
pub mod frame {
    pub use crate::format::sync_marks_in;
    pub use crate::format::{check_segment_header, encode_segment_header};
    pub use crate::record::{
        Decoded, Frame, SYNC_MARK_FRAME_LEN, decode_at, decode_frame, encode, encode_sync_mark,
        frame_len, next_intact, next_intact_frame,
    };
    pub use crate::zeros::zero_tail_start;
}
