//! The fixed-size footer at the end of every table: where the metadata blocks lie, the
//! format version, a checksum of its own and the magic number.
//!
//! ```text
//! footer offset = file size - 72
//! +0   index offset u64       +8   index size u64
//! +16  filter offset u64      +24  filter size u64       (size 0: no filter)
//! +32  properties offset u64  +40  properties size u64
//! +48  format version u32     +52  reserved u32 = 0
//! +56  checksum u64 = xxh3_64_with_seed(footer[0..56], seed = footer offset)
//! +64  magic: 89 'Q' 'C' 'S' 'S' 'T' '\r' '\n'
//! ```
//!
//! All integers little-endian. Sizes exclude each block's 9-byte trailer.

use crate::checksum::checksum;
use crate::handle::BlockHandle;
use crate::wire::{self, WireError, WireResult};

/// The table format version this crate writes. Version 2 added compressed data blocks
/// (trailer types 2 = lz4 and 3 = zstd); version 3 the range-deletion block between
/// the index and the properties blocks, and entries of kind 4, values carrying an
/// expiry time ([`crate::ValueKind::ExpiringValue`]). Nothing else changed.
pub const FORMAT_VERSION: u32 = 3;

/// The first table format version that may hold a range-deletion block.
pub(crate) const RANGE_DEL_VERSION: u32 = 3;

/// The oldest table format version this crate still reads: version 1 tables (every
/// block uncompressed) read as they always did.
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// Identifies a quickcache table. The high first byte and the CR LF catch files
/// mangled by 7-bit or line-ending conversions, as PNG's signature does.
pub(crate) const MAGIC: [u8; 8] = *b"\x89QCSST\r\n";

const INDEX_AT: usize = 0;
const FILTER_AT: usize = INDEX_AT + 16;
const PROPERTIES_AT: usize = FILTER_AT + 16;
const VERSION_AT: usize = PROPERTIES_AT + 16;
const RESERVED_AT: usize = VERSION_AT + 4;
const CHECKSUM_AT: usize = RESERVED_AT + 4;
const MAGIC_AT: usize = CHECKSUM_AT + 8;
/// Length of the footer.
pub(crate) const FOOTER_LEN: usize = MAGIC_AT + MAGIC.len();

/// The decoded footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Footer {
    /// The table's format version, `OLDEST_READABLE_VERSION..=FORMAT_VERSION`.
    pub(crate) version: u32,
    pub(crate) index: BlockHandle,
    /// `None` when the table was written without a filter.
    pub(crate) filter: Option<BlockHandle>,
    pub(crate) properties: BlockHandle,
}

/// Why a footer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FooterError {
    /// A field is malformed.
    Wire(WireError),
    /// The stored checksum does not match.
    Checksum { expected: u64, actual: u64 },
}

impl From<WireError> for FooterError {
    fn from(e: WireError) -> Self {
        FooterError::Wire(e)
    }
}

impl Footer {
    /// Appends the footer, which will lie at file offset `offset`.
    pub(crate) fn encode(&self, offset: u64, out: &mut Vec<u8>) {
        let start = out.len();
        let filter = self.filter.unwrap_or_default();
        for h in [self.index, filter, self.properties] {
            out.extend_from_slice(&h.offset.to_le_bytes());
            out.extend_from_slice(&h.size.to_le_bytes());
        }
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        let sum = checksum(&out[start..], offset);
        out.extend_from_slice(&sum.to_le_bytes());
        out.extend_from_slice(&MAGIC);
    }

    /// Decodes the footer `bytes` (exactly [`FOOTER_LEN`] long) found at `offset`.
    pub(crate) fn decode(bytes: &[u8], offset: u64) -> Result<Footer, FooterError> {
        if bytes.len() != FOOTER_LEN {
            return Err(wire::bad(0, "footer", "wrong length").into());
        }
        if bytes[MAGIC_AT..] != MAGIC {
            return Err(wire::bad(MAGIC_AT, "magic number", "not a quickcache table").into());
        }
        let expected = wire::u64_at(bytes, CHECKSUM_AT, "footer checksum")?;
        let actual = checksum(&bytes[..CHECKSUM_AT], offset);
        if expected != actual {
            return Err(FooterError::Checksum { expected, actual });
        }
        let version = wire::u32_at(bytes, VERSION_AT, "format version")?;
        if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
            return Err(wire::bad(VERSION_AT, "format version", "unsupported").into());
        }
        if wire::u32_at(bytes, RESERVED_AT, "reserved footer field")? != 0 {
            return Err(wire::bad(RESERVED_AT, "reserved footer field", "not zero").into());
        }
        let filter = handle_at(bytes, FILTER_AT, "filter handle")?;
        // No filter is written as (0, 0); an empty handle elsewhere is not ours, and
        // would re-encode differently (fuzz target footer).
        if filter.size == 0 && filter.offset != 0 {
            return Err(wire::bad(FILTER_AT, "filter handle", "empty but not at offset 0").into());
        }
        Ok(Footer {
            version,
            index: handle_at(bytes, INDEX_AT, "index handle")?,
            filter: (filter.size != 0).then_some(filter),
            properties: handle_at(bytes, PROPERTIES_AT, "properties handle")?,
        })
    }
}

fn handle_at(bytes: &[u8], at: usize, field: &'static str) -> WireResult<BlockHandle> {
    Ok(BlockHandle {
        offset: wire::u64_at(bytes, at, field)?,
        size: wire::u64_at(bytes, at + 8, field)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Footer {
        Footer {
            version: FORMAT_VERSION,
            index: BlockHandle {
                offset: 100,
                size: 20,
            },
            filter: Some(BlockHandle {
                offset: 70,
                size: 21,
            }),
            properties: BlockHandle {
                offset: 129,
                size: 50,
            },
        }
    }

    #[test]
    fn an_empty_filter_handle_off_offset_zero_is_refused() {
        // Decoded as "no filter", it would re-encode as (0, 0): not what was read.
        let odd = Footer {
            filter: Some(BlockHandle {
                offset: 70,
                size: 0,
            }),
            ..sample()
        };
        let mut out = Vec::new();
        odd.encode(188, &mut out);
        let Err(FooterError::Wire(e)) = Footer::decode(&out, 188) else {
            panic!("an empty filter handle at offset 70 decoded");
        };
        assert_eq!(e.field, "filter handle");
    }

    #[test]
    fn round_trips() {
        let mut out = Vec::new();
        sample().encode(188, &mut out);
        assert_eq!(out.len(), FOOTER_LEN);
        assert_eq!(Footer::decode(&out, 188), Ok(sample()));
        let none = Footer {
            filter: None,
            ..sample()
        };
        out.clear();
        none.encode(5, &mut out);
        assert_eq!(Footer::decode(&out, 5), Ok(none));
        let v1 = Footer {
            version: 1,
            ..sample()
        };
        out.clear();
        v1.encode(188, &mut out);
        assert_eq!(Footer::decode(&out, 188), Ok(v1));
    }

    #[test]
    fn refuses_versions_it_does_not_know() {
        for version in [0, FORMAT_VERSION + 1, u32::MAX] {
            let mut out = Vec::new();
            Footer {
                version,
                ..sample()
            }
            .encode(188, &mut out);
            let err = Footer::decode(&out, 188).unwrap_err();
            assert_eq!(
                err,
                FooterError::Wire(wire::bad(VERSION_AT, "format version", "unsupported"))
            );
        }
    }

    #[test]
    fn refuses_moved_flipped_and_foreign_footers() {
        let mut out = Vec::new();
        sample().encode(188, &mut out);
        assert!(matches!(
            Footer::decode(&out, 189),
            Err(FooterError::Checksum { .. })
        ));
        for i in 0..FOOTER_LEN {
            let mut bad = out.clone();
            bad[i] ^= 0x10;
            assert!(Footer::decode(&bad, 188).is_err(), "flip at {i} accepted");
        }
        assert!(Footer::decode(&[0; FOOTER_LEN], 0).is_err());
        assert!(Footer::decode(&out[1..], 188).is_err());
    }
}
