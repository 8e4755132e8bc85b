//! The segment header and the damage vocabulary shared by the codec and the reader.
//!
//! The full format is specified in `docs/format/wal.md`. A segment file is:
//!
//! ```text
//! +----------------------+----------+----------+-----+----------+
//! | segment header (32B) | record 0 | record 1 | ... | record n |
//! +----------------------+----------+----------+-----+----------+
//!
//! segment header, little-endian:
//!  0               8          12         16               24               32
//!  +---------------+----------+----------+----------------+----------------+
//!  | magic         | version  | reserved | segment number | header xxh3    |
//!  | "QCWALSEG"    | u32 = 5  | u32 = 0  | u64            | u64 (bytes 0..24)
//!  +---------------+----------+----------+----------------+----------------+
//! ```
//!
//! The record frame is in [`crate::record`]. Versions 1 and 2 frame records the same
//! way; the version tells the reader of the payloads how they are laid out (for the
//! engine: write batches without, then with, keyspace ids). Both are read; version 2
//! is written.

use std::fmt;

use xxhash_rust::xxh3::xxh3_64;

use crate::{Error, SegmentId};

/// The first eight bytes of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"QCWALSEG";
/// The format version this build writes. Bumped by any change to the segment header,
/// the record frame, or the layout of the payloads its user logs (version 2: write
/// batches carry keyspace ids; version 3: they may hold range deletes and expiring
/// values, new entry kinds; version 4: sync marks, a new frame type; version 5: the
/// engine also logs ingests, records that are not write batches;
/// `docs/format/wal.md`, "Versioning").
pub const FORMAT_VERSION: u32 = 5;
/// The first format version whose segments may hold sync marks.
pub(crate) const SYNC_MARKS_SINCE: u32 = 4;

/// Whether a segment of format `version` may hold sync marks (version 4 on): a
/// reader passes it to [`crate::frame::decode_frame`].
pub fn sync_marks_in(version: u32) -> bool {
    version >= SYNC_MARKS_SINCE
}
/// The oldest format version this build reads. Segments of versions from this one to
/// [`FORMAT_VERSION`] are read; [`crate::Record::format`] says which one each record
/// came from.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

const MAGIC_OFFSET: usize = 0;
const VERSION_OFFSET: usize = MAGIC_OFFSET + SEGMENT_MAGIC.len();
const RESERVED_OFFSET: usize = VERSION_OFFSET + 4;
const SEGMENT_NUMBER_OFFSET: usize = RESERVED_OFFSET + 4;
const HEADER_CHECKSUM_OFFSET: usize = SEGMENT_NUMBER_OFFSET + 8;
/// Length of the segment header; the first record starts here.
pub const SEGMENT_HEADER_LEN: usize = HEADER_CHECKSUM_OFFSET + 8;

/// What is wrong with the bytes at a damaged offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DamageKind {
    /// The file is shorter than a segment header.
    SegmentHeaderTruncated,
    /// The segment header has the wrong magic or fails its checksum.
    SegmentHeaderChecksum,
    /// An intact segment header names another segment: the file was copied or renamed.
    SegmentNumberMismatch {
        /// The number in the header.
        found: u64,
    },
    /// An intact segment header has reserved bits set.
    ReservedNotZero,
    /// Fewer bytes remain than a record header needs.
    RecordHeaderTruncated,
    /// The record header is all zeros (a zero-filled region).
    ZeroFilled,
    /// The record type byte is not one this version writes.
    BadRecordType(u8),
    /// The record header fails its own check: the length or type is damaged.
    HeaderCheckMismatch,
    /// The record claims more than [`crate::MAX_RECORD_LEN`] bytes.
    LengthTooLarge(u32),
    /// The record's payload runs past the end of the segment (a torn write).
    PayloadTruncated {
        /// The payload length the header claims.
        len: u32,
        /// The bytes left in the segment after the header.
        available: u64,
    },
    /// An intact sync mark (version 4) whose payload is not the 8 bytes it must be.
    BadSyncMark(u32),
    /// Header and payload do not match the record checksum.
    ChecksumMismatch {
        /// The checksum stored in the frame.
        stored: u64,
        /// The checksum of the bytes as read.
        computed: u64,
    },
}

impl fmt::Display for DamageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SegmentHeaderTruncated => f.write_str("segment header truncated"),
            Self::SegmentHeaderChecksum => f.write_str("segment header magic or checksum mismatch"),
            Self::SegmentNumberMismatch { found } => {
                write!(f, "segment header names segment {found}")
            }
            Self::ReservedNotZero => f.write_str("segment header reserved field is not zero"),
            Self::RecordHeaderTruncated => f.write_str("record header truncated"),
            Self::ZeroFilled => f.write_str("zero-filled record header"),
            Self::BadRecordType(t) => write!(f, "unknown record type {t}"),
            Self::HeaderCheckMismatch => f.write_str("record header check mismatch"),
            Self::LengthTooLarge(len) => write!(f, "record length {len} exceeds the maximum"),
            Self::PayloadTruncated { len, available } => {
                write!(f, "record of {len} bytes but only {available} bytes remain")
            }
            Self::BadSyncMark(len) => write!(f, "sync mark of {len} bytes, not 8"),
            Self::ChecksumMismatch { stored, computed } => {
                write!(
                    f,
                    "record checksum mismatch: stored {stored:#018x}, computed {computed:#018x}"
                )
            }
        }
    }
}

/// The header that starts segment `id`.
pub fn encode_segment_header(id: SegmentId) -> [u8; SEGMENT_HEADER_LEN] {
    let mut h = [0u8; SEGMENT_HEADER_LEN];
    h[MAGIC_OFFSET..VERSION_OFFSET].copy_from_slice(&SEGMENT_MAGIC);
    h[VERSION_OFFSET..RESERVED_OFFSET].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[SEGMENT_NUMBER_OFFSET..HEADER_CHECKSUM_OFFSET].copy_from_slice(&id.0.to_le_bytes());
    let sum = xxh3_64(&h[..HEADER_CHECKSUM_OFFSET]);
    h[HEADER_CHECKSUM_OFFSET..].copy_from_slice(&sum.to_le_bytes());
    h
}

/// A little-endian integer of `N` bytes at `at`, or `None` past the end.
pub(crate) fn le_bytes<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// Checks the header of segment `id` at the start of `bytes` and returns the segment's
/// format version (from [`OLDEST_FORMAT_VERSION`] to [`FORMAT_VERSION`]).
///
/// `Ok(Err(damage))` is damage the recovery mode decides about (a torn or garbled
/// header); `Err` is a definitive error no mode accepts: an intact header that belongs
/// to another segment or to a format version this build does not read.
pub fn check_segment_header(bytes: &[u8], id: SegmentId) -> Result<Result<u32, DamageKind>, Error> {
    let Some(header) = le_bytes::<SEGMENT_HEADER_LEN>(bytes, 0) else {
        return Ok(Err(DamageKind::SegmentHeaderTruncated));
    };
    let stored = le_bytes::<8>(&header, HEADER_CHECKSUM_OFFSET).map(u64::from_le_bytes);
    if header[..VERSION_OFFSET] != SEGMENT_MAGIC
        || stored != Some(xxh3_64(&header[..HEADER_CHECKSUM_OFFSET]))
    {
        return Ok(Err(DamageKind::SegmentHeaderChecksum));
    }
    let field = |at| le_bytes::<4>(&header, at).map_or(0, u32::from_le_bytes);
    let version = field(VERSION_OFFSET);
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(Error::UnsupportedVersion {
            segment: id,
            version,
            supported: FORMAT_VERSION,
        });
    }
    let definitive = |reason| Error::Corruption {
        segment: id,
        offset: 0,
        reason,
    };
    if field(RESERVED_OFFSET) != 0 {
        return Err(definitive(DamageKind::ReservedNotZero));
    }
    let found = le_bytes::<8>(&header, SEGMENT_NUMBER_OFFSET).map_or(0, u64::from_le_bytes);
    if found != id.0 {
        return Err(definitive(DamageKind::SegmentNumberMismatch { found }));
    }
    Ok(Ok(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let h = encode_segment_header(SegmentId(42));
        assert_eq!(&h[..8], b"QCWALSEG");
        assert!(matches!(
            check_segment_header(&h, SegmentId(42)),
            Ok(Ok(FORMAT_VERSION))
        ));
        assert_eq!(&h[8..12], &[5, 0, 0, 0]);
    }

    #[test]
    fn short_or_garbled_headers_are_damage() {
        let h = encode_segment_header(SegmentId(1));
        for len in 0..SEGMENT_HEADER_LEN {
            assert_eq!(
                check_segment_header(&h[..len], SegmentId(1)).unwrap(),
                Err(DamageKind::SegmentHeaderTruncated)
            );
        }
        for i in 0..SEGMENT_HEADER_LEN {
            let mut bad = h;
            bad[i] ^= 0x10;
            assert_eq!(
                check_segment_header(&bad, SegmentId(1)).unwrap(),
                Err(DamageKind::SegmentHeaderChecksum),
                "flip in byte {i}"
            );
        }
        let zeros = [0u8; SEGMENT_HEADER_LEN];
        assert_eq!(
            check_segment_header(&zeros, SegmentId(1)).unwrap(),
            Err(DamageKind::SegmentHeaderChecksum)
        );
    }

    #[test]
    fn a_header_of_another_segment_is_a_definitive_error() {
        let h = encode_segment_header(SegmentId(7));
        let err = check_segment_header(&h, SegmentId(8)).unwrap_err();
        assert!(matches!(
            err,
            Error::Corruption {
                reason: DamageKind::SegmentNumberMismatch { found: 7 },
                ..
            }
        ));
    }

    fn with_version(id: SegmentId, version: u32) -> [u8; SEGMENT_HEADER_LEN] {
        let mut h = encode_segment_header(id);
        h[VERSION_OFFSET..RESERVED_OFFSET].copy_from_slice(&version.to_le_bytes());
        let sum = xxh3_64(&h[..HEADER_CHECKSUM_OFFSET]);
        h[HEADER_CHECKSUM_OFFSET..].copy_from_slice(&sum.to_le_bytes());
        h
    }

    #[test]
    fn versions_this_build_does_not_read_are_refused_by_name() {
        for version in [0, FORMAT_VERSION + 1, u32::MAX] {
            let h = with_version(SegmentId(3), version);
            let err = check_segment_header(&h, SegmentId(3)).unwrap_err();
            assert!(
                matches!(err, Error::UnsupportedVersion { version: v, supported: FORMAT_VERSION, .. } if v == version),
                "{err}"
            );
        }
    }

    #[test]
    fn a_version_1_header_is_read_and_named() {
        let h = with_version(SegmentId(3), 1);
        assert!(matches!(check_segment_header(&h, SegmentId(3)), Ok(Ok(1))));
    }
}
