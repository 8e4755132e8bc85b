//! Point lookups inside one block, on a borrowed slice: the lean path `Table::get`
//! takes (no cursor, no reference counting), decoding exactly as the cursor does.

use std::cmp::Ordering;
use std::path::Path;

use super::cursor::cmp_encoded_to;
use super::{BlockLayout, entry_header};
use crate::origin::corruption;
use crate::{KeyRef, Result};

/// The entry a seek landed on; its encoded key is left in the caller's buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    /// Position of the value in the buffer.
    pub(crate) value_start: usize,
    /// Length of the value.
    pub(crate) value_len: usize,
}

/// Finds the first entry `>= target` of block `layout` in `data`, leaving its encoded
/// key in `key`; `None` if every entry is smaller.
pub(crate) fn seek(
    data: &[u8],
    layout: &BlockLayout,
    file: &Path,
    target: KeyRef<'_>,
    key: &mut Vec<u8>,
) -> Result<Option<Found>> {
    let Some(mut hi) = layout.num_restarts.checked_sub(1) else {
        return Ok(None);
    };
    // The last restart whose key is < target; the answer lies at or after it.
    let mut lo = 0;
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if restart_key_cmp(data, layout, file, mid, target)? == Ordering::Less {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    scan_from(
        data,
        layout,
        file,
        layout.restart_point(data, lo, file)?,
        target,
        key,
    )
}

/// Scans entries from the restart entry at `pos` to the first one `>= target`.
fn scan_from(
    data: &[u8],
    layout: &BlockLayout,
    file: &Path,
    mut pos: usize,
    target: KeyRef<'_>,
    key: &mut Vec<u8>,
) -> Result<Option<Found>> {
    key.clear();
    while pos < layout.restarts {
        let h = entry_header(data, layout, file, pos)?;
        if h.shared > key.len() {
            return Err(corruption(
                file,
                layout.id,
                pos as u64,
                "entry shares more than the previous key",
            ));
        }
        key.truncate(h.shared);
        key.extend_from_slice(&data[h.delta_start..h.delta_start + h.delta_len]);
        let order = cmp_encoded_to(key, target).ok_or_else(|| {
            corruption(
                file,
                layout.id,
                pos as u64,
                "entry key is not an internal key",
            )
        })?;
        if order != Ordering::Less {
            if KeyRef::decode(key).is_none() {
                return Err(corruption(
                    file,
                    layout.id,
                    pos as u64,
                    "entry key is not an internal key",
                ));
            }
            return Ok(Some(Found {
                value_start: h.value_start,
                value_len: h.value_len,
            }));
        }
        pos = h.end();
    }
    Ok(None)
}

/// Compares the full key of restart entry `i` with `target`.
#[inline]
pub(crate) fn restart_key_cmp(
    data: &[u8],
    layout: &BlockLayout,
    file: &Path,
    i: usize,
    target: KeyRef<'_>,
) -> Result<Ordering> {
    let pos = layout.restart_point(data, i, file)?;
    let h = entry_header(data, layout, file, pos)?;
    if h.shared != 0 {
        return Err(corruption(
            file,
            layout.id,
            pos as u64,
            "restart entry shares a key prefix",
        ));
    }
    let key = &data[h.delta_start..h.delta_start + h.delta_len];
    cmp_encoded_to(key, target).ok_or_else(|| {
        corruption(
            file,
            layout.id,
            pos as u64,
            "restart key is not an internal key",
        )
    })
}
