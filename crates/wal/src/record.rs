//! The record frame: encoding a record, decoding the record at an offset, and finding
//! the next intact record after damage.
//!
//! Each record is one frame; frames follow each other with no padding. All integers
//! are little-endian. Specified in `docs/format/wal.md`:
//!
//! ```text
//!  0                8            12     13             16
//!  +----------------+------------+------+--------------+-------------------+
//!  | checksum       | length     | type | header check | payload           |
//!  | u64            | u32        | u8=1 | u24          | `length` bytes    |
//!  +----------------+------------+------+--------------+-------------------+
//!
//!  seed         = xxh3_64(segment number as u64 LE ++ frame offset as u64 LE)
//!  header check = low 3 bytes of xxh3_64_with_seed(bytes 8..13, seed)
//!  checksum     = xxh3_64_with_seed(bytes 8..16 ++ payload, seed)
//! ```
//!
//! Seeding both checks with the segment number and the frame's offset makes a record
//! that is intact but in the wrong place (a stale copy, a renamed segment) fail. Type
//! 0 is reserved, so a zero-filled region never decodes. The header check lets the
//! reader test a candidate offset without hashing a payload, which keeps scanning for
//! intact records after damage linear in practice.

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::format::le_bytes;
use crate::{DamageKind, Error, SegmentId};

/// The largest payload a record may carry: 64 MiB. Longer payloads are refused with
/// [`Error::RecordTooLarge`], never truncated.
pub const MAX_RECORD_LEN: u32 = 64 << 20;

const CHECKSUM_OFFSET: usize = 0;
const LENGTH_OFFSET: usize = CHECKSUM_OFFSET + 8;
const TYPE_OFFSET: usize = LENGTH_OFFSET + 4;
const HEADER_CHECK_OFFSET: usize = TYPE_OFFSET + 1;
/// Bytes of framing before each payload.
pub const RECORD_HEADER_LEN: usize = HEADER_CHECK_OFFSET + 3;

/// A whole record in one frame: the only type versions 1 to 3 write.
const TYPE_FULL: u8 = 1;
/// A sync mark (version 4 on): its 8-byte payload is the offset up to which the
/// writer had made the segment durable before it staged the mark. Recovery uses it
/// to tell a power loss's unsynced pages from damage to synced data.
const TYPE_SYNC_MARK: u8 = 2;
/// The payload length of a sync mark.
const SYNC_MARK_LEN: u32 = 8;

/// Seed of both checks for the frame at `offset` of `segment`.
fn seed(segment: SegmentId, offset: u64) -> u64 {
    let mut place = [0u8; 16];
    place[..8].copy_from_slice(&segment.0.to_le_bytes());
    place[8..].copy_from_slice(&offset.to_le_bytes());
    xxh3_64(&place)
}

/// The header check over the length and type bytes.
fn header_check(seed: u64, length_and_type: &[u8]) -> [u8; 3] {
    let h = xxh3_64_with_seed(length_and_type, seed).to_le_bytes();
    [h[0], h[1], h[2]]
}

/// The length of the frame holding a payload of `len` bytes.
pub fn frame_len(len: usize) -> usize {
    RECORD_HEADER_LEN + len
}

/// Appends the frame of `payload`, to be placed at `offset` of `segment`, to `out`.
///
/// # Errors
/// [`Error::RecordTooLarge`] if the payload exceeds [`MAX_RECORD_LEN`]; `out` is then
/// unchanged.
pub fn encode(
    out: &mut Vec<u8>,
    segment: SegmentId,
    offset: u64,
    payload: &[u8],
) -> Result<(), Error> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len <= MAX_RECORD_LEN)
        .ok_or(Error::RecordTooLarge {
            len: payload.len(),
            max: MAX_RECORD_LEN,
        })?;
    debug_assert_eq!(len as usize, payload.len());
    encode_typed(out, segment, offset, TYPE_FULL, payload);
    Ok(())
}

/// Appends a frame of type `kind` holding `payload` (at most [`MAX_RECORD_LEN`]).
#[inline(always)]
fn encode_typed(out: &mut Vec<u8>, segment: SegmentId, offset: u64, kind: u8, payload: &[u8]) {
    let len = payload.len() as u32;
    let seed = seed(segment, offset);
    let start = out.len();
    let mut header = [0u8; RECORD_HEADER_LEN];
    header[LENGTH_OFFSET..TYPE_OFFSET].copy_from_slice(&len.to_le_bytes());
    header[TYPE_OFFSET] = kind;
    let check = header_check(seed, &header[LENGTH_OFFSET..HEADER_CHECK_OFFSET]);
    header[HEADER_CHECK_OFFSET..].copy_from_slice(&check);
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
    // Header fields and payload are contiguous in `out`: one hash covers both.
    let covered = start + LENGTH_OFFSET;
    let sum = xxh3_64_with_seed(&out[covered..], seed);
    out[start..covered].copy_from_slice(&sum.to_le_bytes());
}

/// Appends a sync mark saying the segment was durable up to `synced_through`, to be
/// placed at `offset` of `segment`, to `out`.
pub fn encode_sync_mark(out: &mut Vec<u8>, segment: SegmentId, offset: u64, synced_through: u64) {
    let start = out.len();
    encode_typed(
        out,
        segment,
        offset,
        TYPE_SYNC_MARK,
        &synced_through.to_le_bytes(),
    );
    debug_assert_eq!(out.len() - start, SYNC_MARK_FRAME_LEN);
}

/// The length of a sync mark's frame.
pub const SYNC_MARK_FRAME_LEN: usize = RECORD_HEADER_LEN + SYNC_MARK_LEN as usize;

/// A frame of a segment that may hold sync marks (version 4 on).
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// An intact record.
    Record {
        /// The record's payload.
        payload: &'a [u8],
        /// Offset just past the frame.
        next: usize,
    },
    /// An intact sync mark.
    SyncMark {
        /// The segment was durable up to this offset before the mark was staged.
        synced_through: u64,
        /// Offset just past the frame.
        next: usize,
    },
    /// The segment ends exactly here.
    End,
}

/// What starts at an offset of a segment.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<'a> {
    /// An intact record; the next frame starts at `next`.
    Record {
        /// The record's payload.
        payload: &'a [u8],
        /// Offset just past the frame.
        next: usize,
    },
    /// The segment ends exactly here.
    End,
}

/// Decodes the frame at `offset` of `bytes`, the contents of segment `segment`. A
/// record is the only frame this accepts: manifests and segments before version 4
/// hold nothing else, so a sync mark there is damage (`BadRecordType(2)`).
///
/// Checks go from cheapest to dearest (header bytes, header check, bounds, then the
/// payload hash), and every length is checked against the bytes that remain before
/// anything is sliced.
pub fn decode_at(
    bytes: &[u8],
    segment: SegmentId,
    offset: usize,
) -> Result<Decoded<'_>, DamageKind> {
    match decode_frame(bytes, segment, offset, false)? {
        Frame::Record { payload, next } => Ok(Decoded::Record { payload, next }),
        Frame::End => Ok(Decoded::End),
        Frame::SyncMark { .. } => Err(DamageKind::BadRecordType(TYPE_SYNC_MARK)),
    }
}

/// Decodes the frame at `offset` of `bytes` (segment `segment`); `marks` says whether
/// a sync mark is a frame there (version 4 on) or damage.
pub fn decode_frame(
    bytes: &[u8],
    segment: SegmentId,
    offset: usize,
    marks: bool,
) -> Result<Frame<'_>, DamageKind> {
    let rest = bytes.get(offset..).unwrap_or_default();
    if rest.is_empty() {
        return Ok(Frame::End);
    }
    let header = le_bytes::<RECORD_HEADER_LEN>(rest, 0).ok_or(DamageKind::RecordHeaderTruncated)?;
    if header.iter().all(|&b| b == 0) {
        return Err(DamageKind::ZeroFilled);
    }
    let kind = header[TYPE_OFFSET];
    if kind != TYPE_FULL && !(marks && kind == TYPE_SYNC_MARK) {
        return Err(DamageKind::BadRecordType(kind));
    }
    let seed = seed(segment, offset as u64);
    if header_check(seed, &header[LENGTH_OFFSET..HEADER_CHECK_OFFSET])
        != header[HEADER_CHECK_OFFSET..]
    {
        return Err(DamageKind::HeaderCheckMismatch);
    }
    let len = le_bytes::<4>(&header, LENGTH_OFFSET).map_or(0, u32::from_le_bytes);
    if len > MAX_RECORD_LEN {
        return Err(DamageKind::LengthTooLarge(len));
    }
    let available = rest.len() - RECORD_HEADER_LEN;
    let Some(frame) = rest.get(..frame_len(len as usize)) else {
        return Err(DamageKind::PayloadTruncated {
            len,
            available: available as u64,
        });
    };
    let stored = le_bytes::<8>(&header, CHECKSUM_OFFSET).map_or(0, u64::from_le_bytes);
    let computed = xxh3_64_with_seed(&frame[LENGTH_OFFSET..], seed);
    if stored != computed {
        return Err(DamageKind::ChecksumMismatch { stored, computed });
    }
    let payload = &frame[RECORD_HEADER_LEN..];
    let next = offset + frame.len();
    if kind == TYPE_FULL {
        return Ok(Frame::Record { payload, next });
    }
    let synced_through = le_bytes::<8>(payload, 0)
        .filter(|_| len == SYNC_MARK_LEN)
        .map(u64::from_le_bytes)
        .ok_or(DamageKind::BadSyncMark(len))?;
    Ok(Frame::SyncMark {
        synced_through,
        next,
    })
}

/// The first offset at or after `from` where an intact record starts, if any.
///
/// Most candidates are rejected by their type byte, the rest mostly by the header
/// check; only a candidate whose header is intact costs a payload hash.
pub fn next_intact(bytes: &[u8], segment: SegmentId, from: usize) -> Option<usize> {
    next_intact_before(bytes, segment, from, bytes.len())
}

/// [`next_intact`] for a segment that may hold sync marks (`marks`: version 4 on),
/// where an intact mark is a frame too.
pub fn next_intact_frame(
    bytes: &[u8],
    segment: SegmentId,
    from: usize,
    marks: bool,
) -> Option<usize> {
    next_intact_frame_before(bytes, segment, from, bytes.len(), marks)
}

/// [`next_intact`], testing only candidates before `limit`: past the start of a
/// segment's zero-filled end no frame can start, and scanning 64 MiB of preallocated
/// zeros byte by byte would make every torn tail slow to recover.
pub(crate) fn next_intact_before(
    bytes: &[u8],
    segment: SegmentId,
    from: usize,
    limit: usize,
) -> Option<usize> {
    next_intact_frame_before(bytes, segment, from, limit, false)
}

/// [`next_intact_before`], also taking an intact sync mark for a frame when `marks`
/// (segments of version 4 on).
pub(crate) fn next_intact_frame_before(
    bytes: &[u8],
    segment: SegmentId,
    from: usize,
    limit: usize,
    marks: bool,
) -> Option<usize> {
    let last_start = bytes
        .len()
        .checked_sub(RECORD_HEADER_LEN)?
        .min(limit.checked_sub(1)?);
    (from..=last_start).find(|&at| {
        let kind = bytes.get(at + TYPE_OFFSET).copied();
        (kind == Some(TYPE_FULL) || (marks && kind == Some(TYPE_SYNC_MARK)))
            && matches!(
                decode_frame(bytes, segment, at, marks),
                Ok(Frame::Record { .. } | Frame::SyncMark { .. })
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEG: SegmentId = SegmentId(5);

    fn frames(payloads: &[&[u8]], base: usize) -> Vec<u8> {
        let mut out = vec![0xAB; base];
        for p in payloads {
            let at = out.len() as u64;
            encode(&mut out, SEG, at, p).unwrap();
        }
        out
    }

    #[test]
    fn encoded_records_decode_in_order() {
        let bytes = frames(&[b"one", b"", b"three"], 32);
        let mut at = 32;
        let mut seen = Vec::new();
        while let Decoded::Record { payload, next } = decode_at(&bytes, SEG, at).unwrap() {
            seen.push(payload.to_vec());
            at = next;
        }
        assert_eq!(seen, vec![b"one".to_vec(), vec![], b"three".to_vec()]);
        assert_eq!(at, bytes.len());
    }

    #[test]
    fn a_record_read_at_another_place_fails() {
        let bytes = frames(&[b"payload"], 32);
        assert!(matches!(
            decode_at(&bytes, SegmentId(6), 32),
            Err(DamageKind::HeaderCheckMismatch)
        ));
        let mut moved = vec![0xAB; 40];
        moved.extend_from_slice(&bytes[32..]);
        assert!(decode_at(&moved, SEG, 40).is_err());
    }

    #[test]
    fn zeros_and_short_headers_are_named() {
        let zeros = vec![0u8; 64];
        assert_eq!(decode_at(&zeros, SEG, 0), Err(DamageKind::ZeroFilled));
        let bytes = frames(&[b"abc"], 0);
        assert_eq!(
            decode_at(&bytes[..10], SEG, 0),
            Err(DamageKind::RecordHeaderTruncated)
        );
        assert_eq!(
            decode_at(&bytes[..17], SEG, 0),
            Err(DamageKind::PayloadTruncated {
                len: 3,
                available: 1
            })
        );
        assert_eq!(decode_at(&bytes, SEG, bytes.len()), Ok(Decoded::End));
        assert_eq!(decode_at(&bytes, SEG, bytes.len() + 7), Ok(Decoded::End));
    }

    #[test]
    fn a_flipped_payload_bit_fails_the_checksum() {
        let mut bytes = frames(&[b"abcdef"], 0);
        bytes[RECORD_HEADER_LEN + 2] ^= 1;
        assert!(matches!(
            decode_at(&bytes, SEG, 0),
            Err(DamageKind::ChecksumMismatch { .. })
        ));
    }

    #[test]
    fn too_large_records_are_refused_not_truncated() {
        let big = vec![0u8; MAX_RECORD_LEN as usize + 1];
        let mut out = Vec::new();
        let err = encode(&mut out, SEG, 0, &big).unwrap_err();
        assert!(matches!(err, Error::RecordTooLarge { len, .. } if len == big.len()));
        assert!(out.is_empty());
        let max = vec![7u8; MAX_RECORD_LEN as usize];
        encode(&mut out, SEG, 0, &max).unwrap();
        assert!(
            matches!(decode_at(&out, SEG, 0), Ok(Decoded::Record { payload, .. }) if payload.len() == max.len())
        );
    }

    #[test]
    fn next_intact_skips_garbage_and_finds_the_next_frame() {
        let mut bytes = frames(&[b"first", b"second"], 0);
        let second = frame_len(5);
        bytes[3] ^= 0xFF;
        assert_eq!(next_intact(&bytes, SEG, 0), Some(second));
        assert_eq!(next_intact(&bytes, SEG, second + 1), None);
        assert_eq!(next_intact(&[], SEG, 0), None);
    }
}
