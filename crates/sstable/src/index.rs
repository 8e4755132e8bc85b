//! The index: one entry per data block, mapping a separator key (>= every key of the
//! block, < every key of the next) to the block's handle. Stored as a block with a
//! restart at every entry; kept decoded in memory by open tables.
//!
//! ```text
//! index block entry: key = separator (encoded internal key)
//!                    value = block offset varint64 | block size varint64
//! ```

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use quickcache_fs::Mapping;

use crate::block::BlockLayout;
use crate::block::cursor::BlockCursor;
use crate::compare::cmp_encoded_to;
use crate::handle::BlockHandle;
use crate::origin::{BlockId, corruption, wire_corruption};
use crate::window::{KeyWindows, Place};
use crate::wtree::WindowTree;
use crate::{Cursor, KeyRef, Result, SeqNo, TRAILER_LEN};

/// The decoded index of an open table.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// All separator keys, back to back.
    keys: Vec<u8>,
    /// End of each entry's key in `keys`.
    key_ends: Vec<usize>,
    handles: Vec<BlockHandle>,
    /// The user-key prefix every separator shares.
    base: KeyWindows,
    /// For each separator, its window after `base`'s prefix, in a search tree that
    /// mostly stays in the CPU cache; only separators with a window equal to the
    /// target's are compared in full.
    windows: WindowTree,
}

impl Index {
    /// Decodes the index block `layout` of `data`, checking that keys increase and that
    /// the data blocks it lists tile `0..data_end` exactly.
    pub(crate) fn load(
        data: &Mapping,
        file: &Arc<Path>,
        layout: BlockLayout,
        data_end: u64,
    ) -> Result<Index> {
        let mut index = Index::default();
        let mut cursor = BlockCursor::new(data.clone(), Arc::clone(file), layout);
        cursor.seek_to_first()?;
        let mut expected_offset = 0u64;
        while let Some(key) = cursor.key() {
            let at = cursor.position().unwrap_or(layout.start) as u64;
            let (value_start, value_len) = cursor.value_range();
            let handle =
                BlockHandle::decode_varints(&data[value_start..value_start + value_len])
                    .map_err(|e| wire_corruption(file, BlockId::Index, value_start as u64, e))?;
            if handle.offset != expected_offset {
                return Err(corruption(
                    file,
                    BlockId::Index,
                    at,
                    format!(
                        "data block handle {handle:?} does not follow the previous block (expected offset {expected_offset})"
                    ),
                ));
            }
            expected_offset = handle.end().ok_or_else(|| {
                corruption(file, BlockId::Index, at, "data block handle overflows")
            })?;
            if index
                .last_key()
                .is_some_and(|last| cmp_encoded_to(last, key) != Some(Ordering::Less))
            {
                return Err(corruption(
                    file,
                    BlockId::Index,
                    at,
                    "separator keys out of order",
                ));
            }
            key.encode_into(&mut index.keys);
            index.key_ends.push(index.keys.len());
            index.handles.push(handle);
            cursor.next()?;
        }
        if expected_offset != data_end {
            let reason =
                format!("data blocks end at {expected_offset}, metadata starts at {data_end}");
            return Err(corruption(
                file,
                BlockId::Index,
                layout.start as u64,
                reason,
            ));
        }
        index.build_windows();
        Ok(index)
    }

    fn build_windows(&mut self) {
        // Every key here was re-encoded by `parse` from a decoded internal key, so it
        // holds a trailer (debug builds assert these invariants).
        let user = |i: usize| {
            let user = user_part(self.key(i));
            debug_assert!(user.is_some(), "index key {i} shorter than a trailer");
            user.unwrap_or_default()
        };
        let base = match self.len() {
            0 => KeyWindows::default(),
            n => KeyWindows::spanning(user(0), user(n - 1)),
        };
        // Every separator lies between the first and the last (`parse` refused them
        // out of order), so has the prefix.
        let windows: Vec<u64> = (0..self.len())
            .map(|i| {
                let window = base.window_of(user(i));
                debug_assert!(
                    window.is_some(),
                    "index key {i} outside the first..last span"
                );
                window.unwrap_or_default()
            })
            .collect();
        (self.base, self.windows) = (base, WindowTree::new(&windows));
    }

    /// Number of data blocks.
    pub(crate) fn len(&self) -> usize {
        self.handles.len()
    }

    /// Heap bytes the decoded index holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.capacity()
            + self.base.heap_bytes()
            + self.key_ends.capacity() * size_of::<usize>()
            + self.handles.capacity() * size_of::<BlockHandle>()
            + self.windows.heap_bytes()
    }

    /// Handle of data block `i`. Requires: `i < len()`.
    pub(crate) fn handle(&self, i: usize) -> BlockHandle {
        self.handles[i]
    }

    /// The encoded separator of block `i`. Requires: `i < len()`.
    pub(crate) fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.key_ends[i - 1] };
        &self.keys[start..self.key_ends[i]]
    }

    fn last_key(&self) -> Option<&[u8]> {
        self.len().checked_sub(1).map(|i| self.key(i))
    }

    /// The first block whose separator is `>= target`: the only block that can hold
    /// the first entry `>= target`. `len()` if there is none.
    #[inline]
    pub(crate) fn find(&self, target: KeyRef<'_>) -> usize {
        let w = match self.base.place(target.user_key) {
            Place::Before => return 0,
            Place::After => return self.len(),
            Place::At(w) => w,
        };
        // Windows are ordered like the user keys: a smaller window means a smaller key,
        // a larger one a larger key; equal windows need the full comparison.
        let mut lo = self.windows.count_below(w);
        // Usually no separator has the target's window, or one: skip a second search.
        let mut hi = match self.windows.get(lo + 1) {
            Some(next) if next == w => w
                .checked_add(1)
                .map_or(self.len(), |above| self.windows.count_below(above)),
            _ => (lo + 1).min(self.len()),
        };
        if self.windows.get(lo) != Some(w) {
            hi = lo;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            // Keys were checked to decode at load, so the comparison always succeeds.
            if cmp_encoded_to(self.key(mid), target) == Some(Ordering::Less) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// Writes into `out` a short key `s` with `last <= s < next` (encoded internal keys,
/// `last < next`): a shortened user key between the two when one exists, else `last`.
pub(crate) fn separator(last: &[u8], next: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let (Some(lu), Some(nu)) = (user_part(last), user_part(next)) else {
        out.extend_from_slice(last);
        return;
    };
    let shared = lu.iter().zip(nu).take_while(|(a, b)| a == b).count();
    if let (Some(&l), Some(&n)) = (lu.get(shared), nu.get(shared))
        && l < 0xff
        && l + 1 < n
        && shared + 1 < lu.len()
    {
        // `lu[..shared] ++ [l + 1]` is > lu and < nu; with the smallest trailer for its
        // user key it sorts after `last` and before `next`.
        out.extend_from_slice(&lu[..shared]);
        out.push(l + 1);
        out.extend_from_slice(&KeyRef::lookup(&[], SeqNo::MAX).trailer().to_le_bytes());
        return;
    }
    out.extend_from_slice(last);
}

fn user_part(encoded: &[u8]) -> Option<&[u8]> {
    encoded.get(..encoded.len().checked_sub(TRAILER_LEN)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValueKind;
    use quickcheck::quickcheck;

    fn enc(user: &[u8], seq: u64) -> Vec<u8> {
        let mut v = Vec::new();
        KeyRef::new(user, SeqNo::new(seq).unwrap(), ValueKind::Value).encode_into(&mut v);
        v
    }

    #[test]
    fn shortens_when_it_can() {
        let mut out = Vec::new();
        separator(&enc(b"abcdef", 3), &enc(b"abzz", 9), &mut out);
        assert_eq!(KeyRef::decode(&out).unwrap().user_key, b"abd");
        separator(&enc(b"ab", 3), &enc(b"ab", 2), &mut out);
        assert_eq!(out, enc(b"ab", 3));
        separator(&enc(b"a", 3), &enc(b"b", 2), &mut out);
        assert_eq!(out, enc(b"a", 3));
    }

    quickcheck! {
        fn separator_lies_between(a: Vec<u8>, sa: u64, b: Vec<u8>, sb: u64) -> bool {
            let (mut x, mut y) = (enc(&a, sa >> 8), enc(&b, sb >> 8));
            match crate::compare_encoded(&x, &y) {
                Ordering::Equal => return true,
                Ordering::Greater => std::mem::swap(&mut x, &mut y),
                Ordering::Less => {}
            }
            let mut s = Vec::new();
            separator(&x, &y, &mut s);
            s.len() <= x.len()
                && crate::compare_encoded(&x, &s) != Ordering::Greater
                && crate::compare_encoded(&s, &y) == Ordering::Less
        }
    }
}
