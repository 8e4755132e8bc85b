//! The write-batch encoding: the bytes a batch is kept in and logged as.
//!
//! Specified in `docs/format/write_batch.md`; the layout of version 2, repeated here:
//!
//! ```text
//! header, 12 bytes:
//! +---------------------------+-------------------+
//! | base seqno: u64 LE        | count: u32 LE     |
//! +---------------------------+-------------------+
//! 0                           8                   12
//!
//! then `count` entries, back to back, nothing after the last:
//! +-----------+----------------+---------------+---------+-----------------+-----------+
//! | kind: u8  | keyspace: v32  | key len: v32  | key     | value len: v32  | value     |
//! +-----------+----------------+---------------+---------+-----------------+-----------+
//! ```
//!
//! Version 1 (WAL segments of format version 1) has the same header and entries
//! without the keyspace field; its entries belong to the default keyspace. It is only
//! decoded, never written: [`decode_v1`] turns it into a version-2 encoding.
//!
//! `v32` is an unsigned LEB128 varint of at most 5 bytes holding a `u32`, in its
//! shortest form. `kind` is a [`BatchKind`] byte (0 is reserved): 1 put, 2 delete
//! (an empty value), 15 range delete (from version 3: the key is the range's start,
//! the value its exclusive end, which must sort after the start). Entry *i* gets sequence number `base + i`; base 0 means "not yet
//! sequenced".
//!
//! Every reader here checks each length against the bytes that remain before slicing,
//! and names the field it reads in its error.

use quickcache_sstable::wire::{self, WireError};
use quickcache_sstable::{EXPIRY_LEN, KeyspaceId, SeqNo};

use super::{BatchEntry, BatchKind};
use crate::error::{Error, Result};

/// Offset of the base sequence number in the header.
const SEQNO_OFFSET: usize = 0;
/// Offset of the entry count in the header.
const COUNT_OFFSET: usize = SEQNO_OFFSET + 8;
/// Length of the header; entries start here.
pub(crate) const HEADER_LEN: usize = COUNT_OFFSET + 4;
/// The layouts of a batch's bytes. Persisted (as the WAL segment's format version,
/// which selects the layout of its records): values are fixed, 0 is reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum BatchFormat {
    /// Entries without a keyspace: all in the default keyspace. Read, never written.
    V1 = 1,
    /// Every entry names its keyspace. Read, never written.
    V2 = 2,
    /// Version 2's layout plus two entry kinds: range deletes
    /// ([`BatchKind::DeleteRange`]) and expiring values ([`BatchKind::PutExpiring`]).
    /// What this build writes.
    V3 = 3,
}

impl BatchFormat {
    /// The layout this build writes.
    pub const CURRENT: BatchFormat = BatchFormat::V3;

    /// The layout of the records of a WAL segment of format `version`; `None` for a
    /// version this build does not know.
    pub const fn of_wal_version(version: u32) -> Option<BatchFormat> {
        match version {
            1 => Some(BatchFormat::V1),
            2 => Some(BatchFormat::V2),
            // WAL version 4 added sync marks, frames of the log's own, and version 5
            // ingest records, which the engine tells apart before it decodes a
            // batch: their batches are version 3 batches.
            3..=5 => Some(BatchFormat::V3),
            _ => None,
        }
    }

    /// The shortest entry: a kind byte and one-byte varints.
    const fn min_entry_len(self) -> usize {
        match self {
            BatchFormat::V1 => 3,
            BatchFormat::V2 | BatchFormat::V3 => 4,
        }
    }

    /// Whether entries of `kind` may appear in this layout.
    fn allows(self, kind: BatchKind) -> bool {
        matches!(kind, BatchKind::Put | BatchKind::Delete) || self >= BatchFormat::V3
    }
}
/// The longest key or value the format can carry.
pub(crate) const MAX_LEN: u64 = u32::MAX as u64;

/// A decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Sequence number of the first entry (zero if not yet sequenced).
    pub(crate) seqno: SeqNo,
    /// Number of entries.
    pub(crate) count: u32,
}

/// An empty batch's bytes: a header with base 0 and count 0.
pub(crate) fn empty() -> Vec<u8> {
    vec![0; HEADER_LEN]
}

/// Overwrites the base sequence number. Requires: `rep` holds a header.
pub(crate) fn write_seqno(rep: &mut [u8], seqno: SeqNo) {
    rep[SEQNO_OFFSET..COUNT_OFFSET].copy_from_slice(&seqno.get().to_le_bytes());
}

/// Overwrites the entry count. Requires: `rep` holds a header.
pub(crate) fn write_count(rep: &mut [u8], count: u32) {
    rep[COUNT_OFFSET..HEADER_LEN].copy_from_slice(&count.to_le_bytes());
}

/// Appends one entry in the current layout. Requires: both lengths are at most
/// [`MAX_LEN`].
pub(crate) fn append_entry(rep: &mut Vec<u8>, entry: &BatchEntry<'_>) {
    let BatchEntry {
        kind,
        keyspace,
        key,
        value,
    } = *entry;
    rep.push(kind as u8);
    put_varint32(rep, keyspace.0 as usize);
    put_varint32(rep, key.len());
    rep.extend_from_slice(key);
    put_varint32(rep, value.len());
    rep.extend_from_slice(value);
}

/// Appends `len` as a shortest-form LEB128 varint (the shared writer).
#[inline]
fn put_varint32(buf: &mut Vec<u8>, len: usize) {
    debug_assert!(len as u64 <= MAX_LEN, "a length past the format's limit");
    wire::put_varint(buf, len as u64);
}

/// Checks that `bytes` is exactly one well-formed batch in the current layout and
/// returns its header.
pub(crate) fn validate(bytes: &[u8]) -> Result<Header> {
    validate_as(bytes, BatchFormat::CURRENT)
}

pub(crate) fn validate_as(bytes: &[u8], format: BatchFormat) -> Result<Header> {
    let mut r = Reader::new(bytes);
    let header = read_header(&mut r, format)?;
    for _ in 0..header.count {
        read_entry(&mut r, format)?;
    }
    if r.remaining() != 0 {
        return Err(corrupt_at(
            r.pos(),
            "entries",
            "bytes after the last entry".into(),
        ));
    }
    Ok(header)
}

/// The offset in `bytes` (a batch in the current layout) of each expiring entry's
/// expiry, by entry index.
pub(crate) fn expiry_offsets(bytes: &[u8]) -> Result<Vec<(u32, usize)>> {
    let mut r = Reader::new(bytes);
    let header = read_header(&mut r, BatchFormat::CURRENT)?;
    let mut out = Vec::new();
    for i in 0..header.count {
        let entry = read_entry(&mut r, BatchFormat::CURRENT)?;
        if entry.kind == BatchKind::PutExpiring {
            // The value ends where the reader stands; the expiry starts it.
            out.push((i, r.pos() - entry.value.len()));
        }
    }
    Ok(out)
}

/// Decodes a version-1 batch and re-encodes it in the current layout, every entry in
/// the default keyspace. Offsets in errors are those of the version-1 bytes.
pub(crate) fn decode_v1(bytes: &[u8]) -> Result<(Header, Vec<u8>)> {
    let header = validate_as(bytes, BatchFormat::V1)?;
    let mut r = Reader::new(bytes);
    read_header(&mut r, BatchFormat::V1)?;
    // One more byte per entry (the keyspace); the input's length bounds the count.
    let mut rep = Vec::with_capacity(bytes.len().saturating_add(header.count as usize));
    rep.extend_from_slice(bytes.get(..HEADER_LEN).unwrap_or_default());
    for _ in 0..header.count {
        append_entry(&mut rep, &read_entry(&mut r, BatchFormat::V1)?);
    }
    Ok((header, rep))
}

/// Reads and checks the header: the count must fit in the bytes that follow, and the
/// entries' sequence numbers must not run past [`SeqNo::MAX`].
pub(crate) fn read_header(r: &mut Reader<'_>, format: BatchFormat) -> Result<Header> {
    let at = r.pos();
    let raw = u64_le(r, "base seqno")?;
    let seqno = SeqNo::new(raw)
        .ok_or_else(|| corrupt_at(at, "base seqno", format!("{raw} exceeds the maximum")))?;
    let count = u32_le(r, "count")?;
    if (count as usize).saturating_mul(format.min_entry_len()) > r.remaining() {
        let reason = format!("{count} entries cannot fit in {} bytes", r.remaining());
        return Err(corrupt_at(COUNT_OFFSET, "count", reason));
    }
    if seqno != SeqNo::ZERO && last_seqno(seqno, count).is_none() {
        let reason = format!("{count} entries from {seqno} run past the maximum");
        return Err(corrupt_at(at, "base seqno", reason));
    }
    Ok(Header { seqno, count })
}

/// The sequence number of the last of `count` entries from `base`; `None` if it
/// would exceed [`SeqNo::MAX`]. An empty batch ends at its base.
pub(crate) fn last_seqno(base: SeqNo, count: u32) -> Option<SeqNo> {
    base.checked_add(u64::from(count).saturating_sub(1))
}

/// Reads one entry laid out as `format`.
pub(crate) fn read_entry<'a>(r: &mut Reader<'a>, format: BatchFormat) -> Result<BatchEntry<'a>> {
    let at = r.pos();
    let byte = u8(r, "entry kind")?;
    let kind = BatchKind::from_u8(byte)
        .filter(|&k| format.allows(k))
        .ok_or_else(|| corrupt_at(at, "entry kind", format!("unknown kind {byte}")))?;
    let keyspace = match format {
        BatchFormat::V1 => KeyspaceId::DEFAULT,
        BatchFormat::V2 | BatchFormat::V3 => KeyspaceId(varint_u32(r, "keyspace")?),
    };
    let key_len = varint32(r, "key length")?;
    let key = bytes(r, key_len, "key")?;
    let value_at = r.pos();
    let value_len = varint32(r, "value length")?;
    let value = bytes(r, value_len, "value")?;
    if kind == BatchKind::Delete && !value.is_empty() {
        let reason = "a tombstone carries a value".into();
        return Err(corrupt_at(value_at, "value length", reason));
    }
    if kind == BatchKind::DeleteRange && key >= value {
        let reason = "a range delete's end is not after its start".into();
        return Err(corrupt_at(value_at, "value", reason));
    }
    if kind == BatchKind::PutExpiring && value.len() < EXPIRY_LEN {
        let reason = format!("an expiring value of {} bytes has no expiry", value.len());
        return Err(corrupt_at(value_at, "value length", reason));
    }
    Ok(BatchEntry {
        kind,
        keyspace,
        key,
        value,
    })
}

/// The shared bounds-checked reader (`docs/design.md`, "Shared vocabulary"); the
/// functions below read through it and turn its errors into [`Error::Corruption`]
/// naming the field and its offset.
pub(crate) use quickcache_sstable::wire::Reader;

/// A byte.
#[inline]
fn u8(r: &mut Reader<'_>, field: &'static str) -> Result<u8> {
    r.u8(field).map_err(|e| corrupt(e, 1, r.buf().len()))
}

/// A little-endian `u32`.
#[inline]
fn u32_le(r: &mut Reader<'_>, field: &'static str) -> Result<u32> {
    r.u32_le(field).map_err(|e| corrupt(e, 4, r.buf().len()))
}

/// A little-endian `u64`.
#[inline]
fn u64_le(r: &mut Reader<'_>, field: &'static str) -> Result<u64> {
    r.u64_le(field).map_err(|e| corrupt(e, 8, r.buf().len()))
}

/// The next `len` bytes.
#[inline]
fn bytes<'a>(r: &mut Reader<'a>, len: usize, field: &'static str) -> Result<&'a [u8]> {
    r.bytes(len, field)
        .map_err(|e| corrupt(e, len, r.buf().len()))
}

/// A shortest-form LEB128 `u32` of at most 5 bytes.
#[inline]
fn varint_u32(r: &mut Reader<'_>, field: &'static str) -> Result<u32> {
    // A varint cut short is a one-byte read past the end.
    r.varint32_strict(field)
        .map_err(|e| corrupt(e, 1, r.buf().len()))
}

/// A shortest-form LEB128 `u32` of at most 5 bytes, returned as a length.
#[inline]
fn varint32(r: &mut Reader<'_>, field: &'static str) -> Result<usize> {
    let at = r.pos();
    let value = varint_u32(r, field)?;
    usize::try_from(value).map_err(|_| corrupt_at(at, field, "length exceeds memory".into()))
}

/// A wire error as a corruption error. A read past the end says how many bytes the
/// read of `needed` bytes found left in the `len` bytes of the batch.
#[cold]
fn corrupt(e: WireError, needed: usize, len: usize) -> Error {
    let reason = if e.problem == wire::PAST_END {
        format!("needs {needed} bytes, {} remain", len.saturating_sub(e.at))
    } else {
        e.problem.into()
    };
    corrupt_at(e.at, e.field, reason)
}

/// A corruption error for `field` at byte `offset` of the batch.
fn corrupt_at(offset: usize, field: &'static str, reason: String) -> Error {
    Error::Corruption {
        offset: offset as u64,
        field,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Raw<'a> = (u8, u32, &'a [u8], &'a [u8]);

    /// The bytes of a batch laid out as `format`, fields taken as given (not checked),
    /// so that tests can build malformed ones. Version 1 leaves the keyspace out.
    fn bytes_as(format: BatchFormat, seqno: u64, entries: &[Raw<'_>]) -> Vec<u8> {
        let mut rep = empty();
        write_seqno(&mut rep, SeqNo::new(seqno).unwrap());
        write_count(&mut rep, entries.len() as u32);
        for (kind, keyspace, key, value) in entries {
            rep.push(*kind);
            if format == BatchFormat::V2 {
                put_varint32(&mut rep, *keyspace as usize);
            }
            put_varint32(&mut rep, key.len());
            rep.extend_from_slice(key);
            put_varint32(&mut rep, value.len());
            rep.extend_from_slice(value);
        }
        rep
    }

    fn batch_bytes(seqno: u64, entries: &[(u8, &[u8], &[u8])]) -> Vec<u8> {
        let raw: Vec<Raw<'_>> = entries.iter().map(|&(k, key, v)| (k, 0, key, v)).collect();
        bytes_as(BatchFormat::V2, seqno, &raw)
    }

    fn corruption_at(bytes: &[u8]) -> (u64, &'static str) {
        match validate(bytes) {
            Err(Error::Corruption { offset, field, .. }) => (offset, field),
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    #[test]
    fn header_layout_is_seqno_then_count_little_endian() {
        let bytes = batch_bytes(0x0102, &[(1, b"k", b"v")]);
        assert_eq!(&bytes[..12], &[2, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&bytes[12..], &[1, 0, 1, b'k', 1, b'v']);
        let header = validate(&bytes).unwrap();
        assert_eq!(header.count, 1);
        assert_eq!(header.seqno.get(), 0x0102);
    }

    #[test]
    fn the_keyspace_follows_the_kind_as_a_varint() {
        let bytes = bytes_as(
            BatchFormat::V2,
            5,
            &[(1, 300, b"k", b"v"), (2, 7, b"d", b"")],
        );
        assert_eq!(
            &bytes[12..],
            &[1, 0xac, 0x02, 1, b'k', 1, b'v', 2, 7, 1, b'd', 0]
        );
        let mut r = Reader::new(&bytes);
        read_header(&mut r, BatchFormat::V2).unwrap();
        let first = read_entry(&mut r, BatchFormat::V2).unwrap();
        assert_eq!((first.keyspace, first.key), (KeyspaceId(300), &b"k"[..]));
        let second = read_entry(&mut r, BatchFormat::V2).unwrap();
        assert_eq!(
            (second.keyspace, second.kind),
            (KeyspaceId(7), BatchKind::Delete)
        );
    }

    #[test]
    fn a_version_1_batch_becomes_version_2_in_the_default_keyspace() {
        let v1 = bytes_as(
            BatchFormat::V1,
            9,
            &[(1, 0, b"ab", b"x"), (2, 0, b"ab", b"")],
        );
        assert_eq!(&v1[12..], &[1, 2, b'a', b'b', 1, b'x', 2, 2, b'a', b'b', 0]);
        let (header, rep) = decode_v1(&v1).unwrap();
        assert_eq!((header.seqno.get(), header.count), (9, 2));
        let want = bytes_as(
            BatchFormat::V2,
            9,
            &[(1, 0, b"ab", b"x"), (2, 0, b"ab", b"")],
        );
        assert_eq!(rep, want);
        assert_eq!(validate(&rep).unwrap(), header);
    }

    #[test]
    fn each_layout_is_refused_as_the_other_where_it_does_not_fit() {
        // A version-1 entry read as version 2 takes its key length for the keyspace and
        // runs out of bytes; a version-2 entry read as version 1 leaves bytes over.
        let v1 = bytes_as(BatchFormat::V1, 1, &[(1, 0, b"key", b"")]);
        assert!(validate(&v1).is_err());
        let v2 = batch_bytes(1, &[(1, b"key", b"")]);
        assert!(decode_v1(&v2).unwrap_err().is_corruption());
    }

    #[test]
    fn varints_use_the_shortest_form() {
        for (len, want) in [
            (0usize, &[0u8][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (300, &[0xac, 0x02]),
            (u32::MAX as usize, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ] {
            let mut buf = Vec::new();
            put_varint32(&mut buf, len);
            assert_eq!(buf, want, "encoding {len}");
            assert_eq!(varint32(&mut Reader::new(&buf), "t").unwrap(), len);
        }
    }

    #[test]
    fn rejects_malformed_varints() {
        for bad in [
            &[0x80, 0x00][..],                  // not shortest
            &[0xff, 0xff, 0xff, 0xff, 0x10],    // overflows u32
            &[0xff, 0xff, 0xff, 0xff, 0x8f, 0], // longer than 5 bytes
            &[0x80],                            // truncated
        ] {
            let err = varint32(&mut Reader::new(bad), "key length").unwrap_err();
            assert!(err.is_corruption(), "{bad:?} gave {err:?}");
        }
    }

    #[test]
    fn rejects_a_malformed_keyspace_naming_the_field() {
        let mut bytes = batch_bytes(1, &[(1, b"k", b"")]);
        bytes[13] = 0x80; // a varint continued into the key length: not shortest form
        bytes[14] = 0x00;
        assert_eq!(corruption_at(&bytes), (13, "keyspace"));
    }

    #[test]
    fn rejects_a_truncated_header() {
        assert_eq!(corruption_at(&[0; 11]), (8, "count"));
        assert_eq!(corruption_at(&[0; 7]), (0, "base seqno"));
    }

    #[test]
    fn rejects_unknown_kinds_including_reserved_zero() {
        for kind in [0u8, 3, 0xff] {
            let bytes = batch_bytes(1, &[(kind, b"k", b"")]);
            assert_eq!(corruption_at(&bytes), (12, "entry kind"));
        }
    }

    #[test]
    fn rejects_a_tombstone_with_a_value() {
        let bytes = batch_bytes(1, &[(2, b"k", b"v")]);
        assert_eq!(corruption_at(&bytes), (16, "value length"));
    }

    #[test]
    fn rejects_a_key_longer_than_what_remains() {
        let mut bytes = batch_bytes(1, &[(1, b"key", b"")]);
        bytes[14] = 50;
        assert_eq!(corruption_at(&bytes), (15, "key"));
    }

    #[test]
    fn rejects_trailing_bytes_and_a_count_that_cannot_fit() {
        let mut bytes = batch_bytes(1, &[(1, b"k", b"v")]);
        bytes.push(0);
        assert_eq!(corruption_at(&bytes), (18, "entries"));
        let mut bytes = batch_bytes(1, &[(1, b"k", b"v")]);
        write_count(&mut bytes, 2);
        assert_eq!(corruption_at(&bytes), (8, "count"));
    }

    #[test]
    fn rejects_seqnos_past_the_maximum() {
        let bytes = batch_bytes(SeqNo::MAX.get(), &[(1, b"a", b""), (1, b"b", b"")]);
        assert_eq!(corruption_at(&bytes), (0, "base seqno"));
        let mut bytes = batch_bytes(1, &[]);
        bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(corruption_at(&bytes), (0, "base seqno"));
        // One entry at exactly the maximum is fine.
        validate(&batch_bytes(SeqNo::MAX.get(), &[(1, b"a", b"")])).unwrap();
    }
}
