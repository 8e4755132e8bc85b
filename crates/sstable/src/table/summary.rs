//! What an open table keeps of a data block once it has read it: where the block's
//! restart array lies and, per restart point, its offset and key window.
//!
//! A seek picks its restart interval from this summary, in memory, and then reads only
//! that interval's cache lines. Without it, a seek into a cold block waits for the
//! restart array at the block's end, then for each restart key of a binary search,
//! then for the entries: dependent reads, each a cache miss (and a TLB miss) of its
//! own, which made point lookups on a table larger than the CPU cache slow.
//!
//! A summary is built on the block's first use, right after its checksum is verified,
//! so it derives from verified bytes only; its presence doubles as the "verified" mark.
//! It costs about 16 bytes per restart point (three per 4 KiB block of 100-byte values)
//! and is not built for blocks that are never read.

use std::path::Path;

use crate::block::seek::Candidates;
use crate::block::{BlockLayout, entry_header};
use crate::origin::corruption;
use crate::window::{KeyWindows, Place};
use crate::{KeyRef, Result, TRAILER_LEN};

/// The in-memory summary of one data block.
#[derive(Debug)]
pub(crate) struct BlockSummary {
    /// Position of the restart array, relative to the block's start.
    entries_len: usize,
    /// The restart points, in order.
    restarts: Box<[Restart]>,
    /// Whether every restart key starts with the table's key prefix, so that windows
    /// decide comparisons; if not, seeks binary-search the restart keys in the block.
    windowed: bool,
}

#[derive(Debug, Clone, Copy)]
struct Restart {
    /// Window of the restart key's user key (see [`KeyWindows`]).
    window: u64,
    /// Position of the restart entry, relative to the block's start.
    offset: u32,
}

impl BlockSummary {
    /// Summarizes the verified block `layout` of `data`: decodes its restart points and
    /// restart keys (checking them as a seek would).
    pub(crate) fn build(
        data: &[u8],
        layout: &BlockLayout,
        file: &Path,
        windows: &KeyWindows,
    ) -> Result<Self> {
        let mut restarts = Vec::with_capacity(layout.num_restarts);
        let mut windowed = true;
        for i in 0..layout.num_restarts {
            let pos = layout.restart_point(data, i, file)?;
            let h = entry_header(data, layout, file, pos)?;
            let key = &data[h.delta_start..h.delta_start + h.delta_len];
            let user_len = key.len().checked_sub(TRAILER_LEN);
            let (Some(user_len), 0) = (user_len, h.shared) else {
                let reason = "restart entry is not a whole internal key";
                return Err(corruption(file, layout.id, pos as u64, reason));
            };
            let window = windows.window_of(&key[..user_len]);
            let in_order = restarts
                .last()
                .is_none_or(|r: &Restart| Some(r.window) <= window);
            windowed &= window.is_some() && in_order;
            restarts.push(Restart {
                window: window.unwrap_or_default(),
                // Restart points are stored as u32 offsets within the block.
                offset: u32::try_from(pos - layout.start).unwrap_or(u32::MAX),
            });
        }
        Ok(BlockSummary {
            entries_len: layout.restarts - layout.start,
            restarts: restarts.into(),
            windowed,
        })
    }

    /// Heap bytes of the summary.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.restarts.len() * size_of::<Restart>()
    }

    /// The block's layout, given where it starts and which block it is.
    pub(crate) fn layout(&self, start: usize, id: crate::origin::BlockId) -> BlockLayout {
        BlockLayout {
            id,
            start,
            restarts: start + self.entries_len,
            num_restarts: self.restarts.len(),
        }
    }

    /// The restart points a seek for `target` may start from: the last one whose key
    /// is `< target` (restart point 0 if none is). `None` for a block without entries.
    #[inline]
    pub(crate) fn candidates(
        &self,
        windows: &KeyWindows,
        target: KeyRef<'_>,
    ) -> Option<Candidates> {
        let last = self.restarts.len().checked_sub(1)?;
        let all = Candidates { lo: 0, hi: last };
        if !self.windowed {
            return Some(all);
        }
        let w = match windows.place(target.user_key) {
            Place::Before => return Some(Candidates { lo: 0, hi: 0 }),
            Place::After => return Some(Candidates { lo: last, hi: last }),
            Place::At(w) => w,
        };
        // Smaller windows are smaller keys, larger ones larger keys: the restart points
        // below `less` are < target, those from `less_or_tied` on are > target.
        let less = self.restarts.partition_point(|r| r.window < w);
        let tied = self.restarts[less..].partition_point(|r| r.window == w);
        Some(Candidates {
            lo: less.saturating_sub(1),
            hi: (less + tied).saturating_sub(1),
        })
    }

    /// The range of restart interval `r`, relative to the block's start: from its
    /// restart entry to the next restart point or the restart array.
    /// Requires: `r` is a restart point of the block.
    #[inline]
    pub(crate) fn interval(&self, r: usize) -> (usize, usize) {
        let start = self.restarts[r].offset as usize;
        let end = self
            .restarts
            .get(r + 1)
            .map_or(self.entries_len, |n| n.offset as usize);
        (start, end.max(start))
    }
}
