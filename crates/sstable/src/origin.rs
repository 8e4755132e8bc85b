//! Where decoded bytes came from (file and block), so every corruption error names both.

use std::fmt;
use std::path::Path;

use crate::Error;
use crate::error::{ChecksumMismatchSnafu, CorruptionSnafu};
use crate::wire::WireError;

/// A block of a table, named as error messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockId {
    /// The n-th data block (counting from 0).
    Data(usize),
    /// The decompressed contents of the n-th data block, stored compressed at file
    /// offset `at`: offsets in errors about it are positions in those contents.
    Decompressed {
        /// The data block's number.
        block: usize,
        /// File offset of its stored (compressed) contents.
        at: u64,
    },
    /// The index block.
    Index,
    /// The bloom filter block.
    Filter,
    /// The properties block.
    Properties,
    /// The range-deletion block.
    RangeDel,
    /// The fixed-size footer at the end of the file.
    Footer,
    /// The file as a whole (sizes, layout).
    File,
    /// A block decoded on its own, outside any table (the fuzz entry points).
    #[cfg(any(test, feature = "fuzzing"))]
    Loose,
}

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockId::Data(n) => write!(f, "data block {n}"),
            BlockId::Decompressed { block, at } => write!(
                f,
                "data block {block} (stored compressed at file offset {at}; \
                 the offset given is within its decompressed contents)"
            ),
            BlockId::Index => f.write_str("index block"),
            BlockId::Filter => f.write_str("filter block"),
            BlockId::Properties => f.write_str("properties block"),
            BlockId::RangeDel => f.write_str("range deletion block"),
            BlockId::Footer => f.write_str("footer"),
            BlockId::File => f.write_str("table file"),
            #[cfg(any(test, feature = "fuzzing"))]
            BlockId::Loose => f.write_str("block"),
        }
    }
}

/// A corruption error for a wire error in block `id`; `base` is the file offset that
/// the wire error's position is relative to.
pub(crate) fn wire_corruption(file: &Path, id: BlockId, base: u64, err: WireError) -> Error {
    corruption(file, id, base.saturating_add(err.at as u64), err)
}

/// A corruption error in block `id` at file offset `offset`.
pub(crate) fn corruption(
    file: &Path,
    id: BlockId,
    offset: u64,
    reason: impl fmt::Display,
) -> Error {
    CorruptionSnafu {
        file,
        offset,
        reason: format!("{id}: {reason}"),
    }
    .build()
}

/// A checksum error in block `id` at file offset `offset`.
pub(crate) fn checksum_mismatch(
    file: &Path,
    id: BlockId,
    offset: u64,
    expected: u64,
    actual: u64,
) -> Error {
    ChecksumMismatchSnafu {
        file,
        block: id.to_string(),
        offset,
        expected,
        actual,
    }
    .build()
}
