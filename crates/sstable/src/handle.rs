//! Block handles (where a block lies in the file) and the trailer that follows every
//! block: a compression-type byte and an xxh3 checksum seeded with the block's offset.
//!
//! ```text
//! offset                               offset + size
//! |                                    |
//! +------------------------------------+----------------+----------------------+
//! | contents (size bytes)              | compression u8 | checksum u64 LE      |
//! +------------------------------------+----------------+----------------------+
//!  checksum = xxh3_64_with_seed(contents ++ compression, seed = offset)
//! ```

use std::ops::Range;
use std::path::Path;

use crate::checksum::checksum;
use crate::origin::{BlockId, checksum_mismatch, corruption, wire_corruption};
use crate::wire::{self, WireResult};
use crate::{Compression, Result};

/// Bytes after each block's contents: compression type and checksum.
pub(crate) const BLOCK_TRAILER_LEN: usize = 1 + 8;

/// Where a block lies: the offset and length of its contents (the trailer follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct BlockHandle {
    /// File offset of the first byte of the contents.
    pub(crate) offset: u64,
    /// Length of the contents, trailer excluded.
    pub(crate) size: u64,
}

impl BlockHandle {
    /// Appends the handle as two varints (the index block's value encoding).
    pub(crate) fn encode_varints(&self, buf: &mut Vec<u8>) {
        wire::put_varint(buf, self.offset);
        wire::put_varint(buf, self.size);
    }

    /// Decodes a handle written by [`BlockHandle::encode_varints`]; all of `buf`.
    pub(crate) fn decode_varints(buf: &[u8]) -> WireResult<BlockHandle> {
        let mut pos = 0;
        let offset = wire::varint64(buf, &mut pos, "block handle offset")?;
        let size = wire::varint64(buf, &mut pos, "block handle size")?;
        if pos != buf.len() {
            return Err(wire::bad(pos, "block handle", "trailing bytes"));
        }
        Ok(BlockHandle { offset, size })
    }

    /// The offset just past the block's trailer, if it does not overflow.
    pub(crate) fn end(&self) -> Option<u64> {
        self.offset
            .checked_add(self.size)?
            .checked_add(BLOCK_TRAILER_LEN as u64)
    }
}

/// Appends the trailer of the contents at `out[contents_start..]`, stored as `kind`
/// says, a block that will lie at file offset `offset`.
pub(crate) fn append_trailer(
    out: &mut Vec<u8>,
    contents_start: usize,
    offset: u64,
    kind: Compression,
) {
    out.push(kind as u8);
    let sum = checksum(&out[contents_start..], offset);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Which compression types a block may be stored with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Only `None`: metadata blocks, and every block of a version 1 table.
    Plain,
    /// Any known type: data blocks from version 2 on.
    AnyCompression,
}

/// Checks that block `id` at `handle` lies inside `bytes[..limit]`, matches its
/// checksum and is stored as `allowed` permits; returns the range of its stored
/// contents and how they are stored.
pub(crate) fn check_block(
    bytes: &[u8],
    handle: BlockHandle,
    limit: u64,
    file: &Path,
    id: BlockId,
    allowed: Stored,
) -> Result<(Range<usize>, Compression)> {
    let limit = limit.min(bytes.len() as u64);
    let range = block_range(handle, limit).ok_or_else(|| {
        corruption(
            file,
            id,
            handle.offset,
            format!("block handle {handle:?} lies outside the file's {limit} bytes of blocks"),
        )
    })?;
    let covered = range.start..range.end + 1;
    let stored = wire::u64_at(bytes, covered.end, "block checksum")
        .map_err(|e| wire_corruption(file, id, 0, e))?;
    let actual = checksum(&bytes[covered.clone()], handle.offset);
    if stored != actual {
        return Err(checksum_mismatch(file, id, handle.offset, stored, actual));
    }
    let byte = bytes[range.end];
    match (Compression::from_byte(byte), allowed) {
        (Some(Compression::None), _) => Ok((range, Compression::None)),
        (Some(kind), Stored::AnyCompression) => Ok((range, kind)),
        (Some(kind), Stored::Plain) => {
            let reason = format!("compression {kind} where only uncompressed blocks may be");
            Err(corruption(file, id, range.end as u64, reason))
        }
        (None, _) => {
            let reason = format!("unknown compression type {byte}");
            Err(corruption(file, id, range.end as u64, reason))
        }
    }
}

/// The contents range of `handle` if the block and its trailer end by `limit` (and
/// `limit` fits in memory).
fn block_range(handle: BlockHandle, limit: u64) -> Option<Range<usize>> {
    if handle.end()? > limit {
        return None;
    }
    let start = usize::try_from(handle.offset).ok()?;
    let len = usize::try_from(handle.size).ok()?;
    let end = start.checked_add(len)?;
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(contents: &[u8], offset: u64) -> Vec<u8> {
        let mut out = vec![0u8; offset as usize];
        out.extend_from_slice(contents);
        append_trailer(&mut out, offset as usize, offset, Compression::None);
        out
    }

    #[test]
    fn compression_types_are_checked() {
        let p = Path::new("t");
        let h = BlockHandle { offset: 0, size: 5 };
        let mut lz4 = b"hello".to_vec();
        append_trailer(&mut lz4, 0, 0, Compression::Lz4);
        let len = lz4.len() as u64;
        let (_, kind) =
            check_block(&lz4, h, len, p, BlockId::Data(0), Stored::AnyCompression).unwrap();
        assert_eq!(kind, Compression::Lz4);
        let err = check_block(&lz4, h, len, p, BlockId::Index, Stored::Plain).unwrap_err();
        assert!(err.to_string().contains("compression lz4"), "{err}");
        // A valid checksum over an unknown type byte (as a later version might write).
        let mut unknown = b"hello".to_vec();
        unknown.push(9);
        let sum = checksum(&unknown, 0);
        unknown.extend_from_slice(&sum.to_le_bytes());
        let err = check_block(
            &unknown,
            h,
            len,
            p,
            BlockId::Data(0),
            Stored::AnyCompression,
        )
        .unwrap_err();
        assert!(
            matches!(err, crate::Error::Corruption { offset: 5, .. }),
            "{err}"
        );
    }

    #[test]
    fn trailer_round_trips_and_catches_moves() {
        let bytes = framed(b"hello", 3);
        let h = BlockHandle { offset: 3, size: 5 };
        let p = Path::new("t");
        let (range, _) = check_block(
            &bytes,
            h,
            bytes.len() as u64,
            p,
            BlockId::Index,
            Stored::Plain,
        )
        .unwrap();
        assert_eq!(&bytes[range], b"hello");
        let moved = framed(b"hello", 4);
        let h4 = BlockHandle { offset: 4, size: 5 };
        assert!(
            check_block(
                &moved,
                h4,
                moved.len() as u64,
                p,
                BlockId::Index,
                Stored::Plain
            )
            .is_ok()
        );
        let mut shifted = moved.clone();
        shifted.remove(0);
        let err = check_block(
            &shifted,
            h,
            shifted.len() as u64,
            p,
            BlockId::Index,
            Stored::Plain,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            crate::Error::ChecksumMismatch { offset: 3, .. }
        ));
    }

    #[test]
    fn handles_outside_the_file_are_errors() {
        let bytes = framed(b"hello", 0);
        let p = Path::new("t");
        for h in [
            BlockHandle { offset: 0, size: 6 },
            BlockHandle {
                offset: u64::MAX,
                size: 1,
            },
            BlockHandle {
                offset: 1,
                size: u64::MAX,
            },
        ] {
            let err = check_block(
                &bytes,
                h,
                bytes.len() as u64,
                p,
                BlockId::Filter,
                Stored::Plain,
            )
            .unwrap_err();
            assert!(err.is_corruption(), "{err}");
        }
    }
}
