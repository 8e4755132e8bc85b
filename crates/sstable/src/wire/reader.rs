//! [`Reader`]: a cursor over encoded bytes whose every read is bounds-checked and names
//! its field.

use super::{PAST_END, WireResult, bad};

/// A cursor over an encoded buffer. Every read checks what remains before it slices,
/// advances past what it read, and fails with a [`WireError`](super::WireError) naming the field (at the
/// position where the field starts) instead of panicking.
///
/// On an error the position is unspecified: decoders stop at the first error.
///
/// ```
/// use quickcache_sstable::wire::{PAST_END, Reader};
///
/// let mut r = Reader::new(&[7, 0xac, 0x02, 1, 0, 0, 0]);
/// assert_eq!(r.u8("kind"), Ok(7));
/// assert_eq!(r.varint32_strict("length"), Ok(300));
/// assert_eq!(r.u32_le("count"), Ok(1));
/// let err = r.u8("next").unwrap_err();
/// assert_eq!((err.at, err.field, err.problem), (7, "next", PAST_END));
/// ```
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The position of the next read, from the start of the buffer.
    #[inline]
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The whole buffer being read.
    #[inline]
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }

    /// How many bytes remain after the position.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Whether every byte has been read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `len` bytes; [`PAST_END`] if fewer remain.
    #[inline]
    pub fn bytes(&mut self, len: usize, field: &'static str) -> WireResult<&'a [u8]> {
        let end = self.pos.checked_add(len);
        let Some(out) = end.and_then(|end| self.buf.get(self.pos..end)) else {
            return Err(bad(self.pos, field, PAST_END));
        };
        self.pos += len;
        Ok(out)
    }

    /// Every byte that remains (possibly none).
    #[inline]
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        out
    }

    /// The next `N` bytes as an array.
    #[inline]
    pub fn array<const N: usize>(&mut self, field: &'static str) -> WireResult<[u8; N]> {
        let at = self.pos;
        self.bytes(N, field)?
            .try_into()
            .map_err(|_| bad(at, field, PAST_END))
    }

    /// The next byte.
    #[inline]
    pub fn u8(&mut self, field: &'static str) -> WireResult<u8> {
        let Some(&byte) = self.buf.get(self.pos) else {
            return Err(bad(self.pos, field, PAST_END));
        };
        self.pos += 1;
        Ok(byte)
    }

    /// A little-endian `u32`.
    #[inline]
    pub fn u32_le(&mut self, field: &'static str) -> WireResult<u32> {
        self.array(field).map(u32::from_le_bytes)
    }

    /// A little-endian `u64`.
    #[inline]
    pub fn u64_le(&mut self, field: &'static str) -> WireResult<u64> {
        self.array(field).map(u64::from_le_bytes)
    }

    /// A LEB128 varint of at most 5 bytes that fits in a `u32`; the table format's
    /// lengths. Longer-than-needed encodings are accepted.
    #[inline]
    pub fn varint32(&mut self, field: &'static str) -> WireResult<u32> {
        super::varint32(self.buf, &mut self.pos, field)
    }

    /// A LEB128 varint of at most 10 bytes that fits in a `u64`.
    #[inline]
    pub fn varint64(&mut self, field: &'static str) -> WireResult<u64> {
        super::varint64(self.buf, &mut self.pos, field)
    }

    /// A LEB128 varint holding a `u32` in its shortest form, at most 5 bytes; the
    /// write-batch format's lengths (`docs/format/write_batch.md`). Errors are at the
    /// varint's start, except a varint cut short: [`PAST_END`] where the missing byte
    /// would be.
    #[inline]
    pub fn varint32_strict(&mut self, field: &'static str) -> WireResult<u32> {
        // One byte is the common case (keyspace ids, key lengths, short values): no
        // loop, no checks beyond the bound.
        if let Some(&byte) = self.buf.get(self.pos)
            && byte < 0x80
        {
            self.pos += 1;
            return Ok(u32::from(byte));
        }
        self.varint32_strict_long(field)
    }

    /// [`Reader::varint32_strict`] past its one-byte fast path.
    #[cold]
    fn varint32_strict_long(&mut self, field: &'static str) -> WireResult<u32> {
        let at = self.pos;
        let mut value: u32 = 0;
        for i in 0..5 {
            let byte = self.u8(field)?;
            // The fifth byte may only hold the top 4 bits of a u32 and must end it.
            if i == 4 && byte > 0x0f {
                return Err(bad(at, field, "varint overflows u32"));
            }
            value |= u32::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if i > 0 && byte == 0 {
                    return Err(bad(at, field, "varint not in shortest form"));
                }
                return Ok(value);
            }
        }
        Err(bad(at, field, "varint longer than 5 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn short_reads_name_the_field_where_it_starts() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u8("a"), Ok(1));
        assert_eq!(r.u32_le("b"), Err(bad(1, "b", PAST_END)));
        assert_eq!(r.bytes(usize::MAX, "c"), Err(bad(1, "c", PAST_END)));
        assert_eq!(r.bytes(2, "d"), Ok(&[2, 3][..]));
        assert!(r.is_empty());
        assert_eq!(r.rest(), &[] as &[u8]);
    }

    #[test]
    fn strict_varints_reject_what_the_batch_format_forbids() {
        for (bytes, want) in [
            (
                &[0x80, 0x00][..],
                bad(0, "v", "varint not in shortest form"),
            ),
            (
                &[0xff, 0xff, 0xff, 0xff, 0x10],
                bad(0, "v", "varint overflows u32"),
            ),
            (
                &[0xff, 0xff, 0xff, 0xff, 0x8f, 0],
                bad(0, "v", "varint overflows u32"),
            ),
            (&[0x80], bad(1, "v", PAST_END)),
        ] {
            assert_eq!(
                Reader::new(bytes).varint32_strict("v"),
                Err(want),
                "{bytes:?}"
            );
        }
        let max = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert_eq!(Reader::new(&max).varint32_strict("v"), Ok(u32::MAX));
    }

    quickcheck! {
        fn strict_varints_round_trip(v: u32) -> bool {
            let mut buf = Vec::new();
            super::super::put_varint(&mut buf, u64::from(v));
            let mut r = Reader::new(&buf);
            r.varint32_strict("v") == Ok(v) && r.is_empty()
        }

        fn reads_never_panic(bytes: Vec<u8>, len: usize) -> bool {
            let mut r = Reader::new(&bytes);
            let _ = r.varint32_strict("v");
            let _ = r.varint64("v");
            let _ = r.bytes(len, "v");
            let _ = r.u64_le("v");
            r.pos() <= bytes.len()
        }
    }
}
