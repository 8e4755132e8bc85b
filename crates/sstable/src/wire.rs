//! Bounds-checked little-endian readers and varints; each read names the field it reads.
//!
//! Decoders never index a slice directly with a number taken from disk: they go through
//! these helpers, which return a [`WireError`] naming the field instead of panicking.
//!
//! This module is the workspace's one field reader (`docs/design.md`, "Shared
//! vocabulary"): the table decoders here, the write-batch decoder of
//! `quickcache-memtable` and the version-edit decoder of `quickcache-compaction` all
//! read through [`Reader`], each turning a [`WireError`] into its own crate's
//! corruption error.

use std::fmt;

mod reader;

pub use reader::Reader;

/// The problem of a read that needed more bytes than remain.
pub const PAST_END: &str = "runs past the end";

/// Why a read failed: which field, at which position of the buffer being decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError {
    /// Position in the decoded buffer where the field starts (for a varint cut short
    /// by [`Reader::varint32_strict`], where the missing byte would be).
    pub at: usize,
    /// The field being read.
    pub field: &'static str,
    /// What was wrong with it; [`PAST_END`] for a read past the end of the buffer.
    pub problem: &'static str,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Result of a wire read.
pub type WireResult<T> = std::result::Result<T, WireError>;

/// A `WireError` for `field` at `at`.
pub fn bad(at: usize, field: &'static str, problem: &'static str) -> WireError {
    WireError { at, field, problem }
}

/// `buf[at..at + len]`, or an error if it is not all inside `buf`.
pub(crate) fn slice<'a>(
    buf: &'a [u8],
    at: usize,
    len: usize,
    field: &'static str,
) -> WireResult<&'a [u8]> {
    at.checked_add(len)
        .and_then(|end| buf.get(at..end))
        .ok_or_else(|| bad(at, field, PAST_END))
}

/// The fixed-size array at `at`.
fn array<const N: usize>(buf: &[u8], at: usize, field: &'static str) -> WireResult<[u8; N]> {
    let bytes = slice(buf, at, N, field)?;
    bytes.try_into().map_err(|_| bad(at, field, PAST_END))
}

/// A little-endian `u32` at `at`.
pub(crate) fn u32_at(buf: &[u8], at: usize, field: &'static str) -> WireResult<u32> {
    array(buf, at, field).map(u32::from_le_bytes)
}

/// A little-endian `u64` at `at`.
pub(crate) fn u64_at(buf: &[u8], at: usize, field: &'static str) -> WireResult<u64> {
    array(buf, at, field).map(u64::from_le_bytes)
}

/// A byte at `at`.
pub(crate) fn u8_at(buf: &[u8], at: usize, field: &'static str) -> WireResult<u8> {
    buf.get(at).copied().ok_or_else(|| bad(at, field, PAST_END))
}

/// Decodes a LEB128 varint of at most `max_bytes` bytes at `*pos`, advancing `*pos`.
fn varint(buf: &[u8], pos: &mut usize, max_bytes: usize, field: &'static str) -> WireResult<u64> {
    let start = *pos;
    let mut value = 0u64;
    for i in 0..max_bytes {
        let at = start + i;
        let byte = *buf.get(at).ok_or_else(|| bad(start, field, PAST_END))?;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // A zero last byte after the first adds nothing: an overlong form, which
            // put_varint never writes. Accepting it would let two byte strings decode
            // to one value, so a re-encoded block would differ from what was read.
            if i > 0 && byte == 0 {
                return Err(bad(start, field, "varint not in its shortest form"));
            }
            *pos = at + 1;
            return Ok(value);
        }
    }
    Err(bad(start, field, "varint too long"))
}

/// A varint that must fit in a `u32`, at `*pos`.
#[inline]
pub(crate) fn varint32(buf: &[u8], pos: &mut usize, field: &'static str) -> WireResult<u32> {
    // Fast path: one byte, the common case for key and value lengths.
    if let Some(&b) = buf.get(*pos)
        && b < 0x80
    {
        *pos += 1;
        return Ok(u32::from(b));
    }
    let start = *pos;
    let v = varint(buf, pos, 5, field)?;
    u32::try_from(v).map_err(|_| bad(start, field, "does not fit in 32 bits"))
}

/// A varint that must fit in a `u64`, at `*pos`.
pub(crate) fn varint64(buf: &[u8], pos: &mut usize, field: &'static str) -> WireResult<u64> {
    let start = *pos;
    let v = varint(buf, pos, 10, field)?;
    // The tenth byte may carry only the top bit of a u64.
    if *pos - start == 10 && buf.get(start + 9).is_some_and(|&b| b > 1) {
        return Err(bad(start, field, "does not fit in 64 bits"));
    }
    Ok(v)
}

/// Appends `v` as a LEB128 varint, in its shortest form.
#[inline]
pub fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn overlong_varints_are_refused() {
        // 44 written as 0xac 0x00 instead of 0x2c (fuzz target range_del_block).
        for bytes in [&[0xac, 0x00][..], &[0x80, 0x80, 0x00], &[0xff, 0x80, 0x00]] {
            let mut pos = 0;
            let err = varint32(bytes, &mut pos, "length").unwrap_err();
            assert!(err.to_string().contains("shortest form"), "{err}");
            let mut pos = 0;
            assert!(varint64(bytes, &mut pos, "length").is_err());
        }
        let (mut pos, mut buf) = (0, Vec::new());
        put_varint(&mut buf, 128);
        assert_eq!(varint32(&buf, &mut pos, "length").unwrap(), 128);
    }

    #[test]
    fn reads_name_the_field() {
        let err = u32_at(&[1, 2, 3], 0, "restart count").unwrap_err();
        assert_eq!(err.field, "restart count");
        assert!(slice(&[0; 4], usize::MAX, 2, "x").is_err());
        let mut pos = 0;
        assert!(varint32(&[0xff; 6], &mut pos, "len").is_err());
        let mut pos = 0;
        assert!(varint32(&[0xff, 0xff, 0xff, 0xff, 0x7f], &mut pos, "len").is_err());
    }

    quickcheck! {
        fn varint_round_trips(v: u64) -> bool {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            let mut pos = 0;
            varint64(&buf, &mut pos, "v") == Ok(v) && pos == buf.len()
        }

        fn varint_never_panics(bytes: Vec<u8>) -> bool {
            let mut pos = 0;
            let _ = varint64(&bytes, &mut pos, "v");
            let mut pos = 0;
            let _ = varint32(&bytes, &mut pos, "v");
            true
        }
    }
}
