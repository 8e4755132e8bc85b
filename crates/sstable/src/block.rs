//! Data and index blocks: sorted entries with shared-prefix key compression and
//! restart points for binary search.
//!
//! ```text
//! +---------+---------+-----+-------------+------------+-----+----------------+-------------------+
//! | entry 0 | entry 1 | ... | entry n - 1 | restart[0] | ... | restart[r - 1] | restart count u32 |
//! +---------+---------+-----+-------------+------------+-----+----------------+-------------------+
//!                                           u32 LE offsets of restart entries within the block
//!
//! entry:
//! +----------------+------------------+-------------------+-----------------------+-------+
//! | shared varint32| unshared varint32| value len varint32| key bytes [shared..]  | value |
//! +----------------+------------------+-------------------+-----------------------+-------+
//! ```
//!
//! Keys are encoded internal keys ([`crate::KeyRef::encode_into`]). An entry's key is
//! the previous entry's first `shared` bytes followed by its own `unshared` bytes. Every
//! `restart interval`-th entry is a *restart*: it stores its whole key (`shared` = 0)
//! and its offset is listed in the restart array, so a seek can binary-search the
//! restarts and then scan at most one interval. The block trailer (compression byte and
//! checksum) follows the restart count; see `handle.rs`.

pub(crate) mod builder;
pub(crate) mod cursor;
pub(crate) mod seek;

use std::path::Path;

use crate::Result;
use crate::origin::{BlockId, corruption, wire_corruption};
use crate::wire;

/// Bytes of the restart count at the end of a block.
const RESTART_COUNT_LEN: usize = 4;
/// Bytes of one restart offset.
const RESTART_LEN: usize = 4;

/// The layout of one block inside a larger buffer (the mapped file): where its entries
/// and its restart array lie. All offsets are absolute positions in that buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockLayout {
    /// Which block, for error messages.
    pub(crate) id: BlockId,
    /// Position of the first entry.
    pub(crate) start: usize,
    /// Position of the restart array, just past the last entry.
    pub(crate) restarts: usize,
    /// Number of restart points.
    pub(crate) num_restarts: usize,
}

impl BlockLayout {
    /// Parses the restart count of the block contents at `bytes[start..start + len]`.
    pub(crate) fn parse(
        bytes: &[u8],
        start: usize,
        len: usize,
        file: &Path,
        id: BlockId,
    ) -> Result<Self> {
        let err = |e| wire_corruption(file, id, 0, e);
        let contents = wire::slice(bytes, start, len, "block contents").map_err(err)?;
        let count_at = len
            .checked_sub(RESTART_COUNT_LEN)
            .ok_or_else(|| corruption(file, id, start as u64, "shorter than its restart count"))?;
        let count = wire::u32_at(contents, count_at, "restart count").map_err(err)?;
        let array_len = (count as usize)
            .checked_mul(RESTART_LEN)
            .filter(|&n| n <= count_at)
            .ok_or_else(|| {
                corruption(
                    file,
                    id,
                    (start + count_at) as u64,
                    format!("restart count {count} does not fit in the block"),
                )
            })?;
        let restarts = start + count_at - array_len;
        if count == 0 && restarts != start {
            return Err(corruption(
                file,
                id,
                start as u64,
                "entries without a restart point",
            ));
        }
        Ok(BlockLayout {
            id,
            start,
            restarts,
            num_restarts: count as usize,
        })
    }

    /// The absolute position of restart point `i`, checked to lie among the entries.
    pub(crate) fn restart_point(&self, bytes: &[u8], i: usize, file: &Path) -> Result<usize> {
        let at = self.restarts + i * RESTART_LEN;
        let rel = wire::u32_at(bytes, at, "restart point")
            .map_err(|e| wire_corruption(file, self.id, 0, e))?;
        let pos = self
            .start
            .checked_add(rel as usize)
            .filter(|&p| p < self.restarts);
        pos.ok_or_else(|| {
            corruption(
                file,
                self.id,
                at as u64,
                format!("restart point {rel} lies outside the entries"),
            )
        })
    }
}

/// One decoded entry header: where its key delta and value lie.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// Bytes shared with the previous key.
    pub(crate) shared: usize,
    /// Position of the key's own bytes.
    pub(crate) delta_start: usize,
    /// Number of the key's own bytes.
    pub(crate) delta_len: usize,
    /// Position of the value.
    pub(crate) value_start: usize,
    /// Length of the value.
    pub(crate) value_len: usize,
}

impl Header {
    /// Position just past the entry.
    pub(crate) fn end(&self) -> usize {
        self.value_start + self.value_len
    }
}

/// Decodes the header of the entry at `pos` of block `layout` in `data`, checking that
/// the entry lies before the restart array.
#[inline]
pub(crate) fn entry_header(
    data: &[u8],
    layout: &BlockLayout,
    file: &Path,
    pos: usize,
) -> Result<Header> {
    let entries = data.get(..layout.restarts).unwrap_or_default();
    match short_header(entries, pos) {
        Some(h) => Ok(h),
        None => long_header(entries, layout, file, pos),
    }
}

/// The header at `pos` if its three lengths are one-byte varints (keys and values
/// under 128 bytes, the common case) and the entry ends inside `entries`: decoded
/// inline, without the general varint loop.
#[inline]
pub(crate) fn short_header(entries: &[u8], pos: usize) -> Option<Header> {
    let &[shared, delta_len, value_len] = entries.get(pos..pos.checked_add(3)?)? else {
        return None;
    };
    if (shared | delta_len | value_len) & 0x80 != 0 {
        return None;
    }
    let delta_start = pos + 3;
    let value_start = delta_start + usize::from(delta_len);
    if value_start + usize::from(value_len) > entries.len() {
        return None;
    }
    Some(Header {
        shared: usize::from(shared),
        delta_start,
        delta_len: usize::from(delta_len),
        value_start,
        value_len: usize::from(value_len),
    })
}

/// The general case of [`entry_header`], with errors naming what is wrong.
#[cold]
fn long_header(entries: &[u8], layout: &BlockLayout, file: &Path, pos: usize) -> Result<Header> {
    let err = |e| wire_corruption(file, layout.id, 0, e);
    let mut p = pos;
    let shared = wire::varint32(entries, &mut p, "entry shared length").map_err(err)?;
    let delta_len = wire::varint32(entries, &mut p, "entry key length").map_err(err)?;
    let value_len = wire::varint32(entries, &mut p, "entry value length").map_err(err)?;
    let value_start = p
        .checked_add(delta_len as usize)
        .filter(|&v| {
            v.checked_add(value_len as usize)
                .is_some_and(|end| end <= entries.len())
        })
        .ok_or_else(|| {
            corruption(
                file,
                layout.id,
                pos as u64,
                "entry runs past the restart array",
            )
        })?;
    Ok(Header {
        shared: shared as usize,
        delta_start: p,
        delta_len: delta_len as usize,
        value_start,
        value_len: value_len as usize,
    })
}
