//! `BlockCursor`: the cursor protocol over one block's entries.
//!
//! Valid iff positioned at an entry; `key`/`value` borrow from the cursor and the mapped
//! file. Every entry is bounds-checked as it is decoded: damaged bytes give a
//! corruption error naming the block and offset, never a panic.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use quickcache_fs::Mapping;

use super::{BlockLayout, Header, entry_header};
pub(crate) use crate::compare::cmp_encoded_to;
use crate::origin::corruption;
use crate::{Cursor, KeyRef, Result, SeqNo, TRAILER_LEN, ValueKind};

/// A cursor over one block of a mapped file.
#[derive(Debug)]
pub(crate) struct BlockCursor {
    data: Mapping,
    file: Arc<Path>,
    layout: BlockLayout,
    /// Restart region of the current entry, the position of its restart point and of
    /// the next one (`usize::MAX` if none).
    restart_idx: usize,
    restart_at: usize,
    next_restart: usize,
    /// Position of the current entry (meaningful iff `valid`).
    cur: usize,
    /// Position of the entry after the current one.
    next: usize,
    valid: bool,
    key: Vec<u8>,
    seqno: SeqNo,
    kind: ValueKind,
    value_start: usize,
    value_len: usize,
}

impl BlockCursor {
    /// An invalid cursor over `layout` in `data`.
    pub(crate) fn new(data: Mapping, file: Arc<Path>, layout: BlockLayout) -> Self {
        BlockCursor {
            data,
            file,
            layout,
            restart_idx: 0,
            restart_at: 0,
            next_restart: usize::MAX,
            cur: 0,
            next: layout.start,
            valid: false,
            key: Vec::new(),
            seqno: SeqNo::ZERO,
            kind: ValueKind::Value,
            value_start: 0,
            value_len: 0,
        }
    }

    /// Switches to another block of the same file, keeping buffers; the cursor is
    /// invalid afterwards.
    pub(crate) fn reset(&mut self, layout: BlockLayout) {
        self.layout = layout;
        self.valid = false;
        self.key.clear();
        self.next = layout.start;
    }

    /// The mapped file the block lies in.
    pub(crate) fn data(&self) -> &Mapping {
        &self.data
    }

    /// Range of the current value in the mapped file. Requires: valid.
    pub(crate) fn value_range(&self) -> (usize, usize) {
        (self.value_start, self.value_len)
    }

    /// The current entry's position in the file, identifying it; `None` when invalid.
    pub(crate) fn position(&self) -> Option<usize> {
        self.valid.then_some(self.cur)
    }

    /// Decodes the header of the entry at `pos`.
    #[inline]
    fn header(&self, pos: usize) -> Result<Header> {
        entry_header(&self.data, &self.layout, &self.file, pos)
    }

    /// Decodes the entry at `self.next` into the current position; invalid at the end.
    ///
    /// Also checks that restart points fall on entry boundaries in increasing order and
    /// that restart entries share no prefix, so that every way of reaching an entry
    /// (scanning forward, stepping back, seeking) decodes it the same way.
    #[inline]
    fn parse_next(&mut self) -> Result<()> {
        self.valid = false;
        let pos = self.next;
        if pos >= self.layout.restarts {
            return Ok(());
        }
        if pos == self.next_restart {
            self.restart_idx += 1;
            self.restart_at = pos;
            self.next_restart = self.restart_after(self.restart_idx)?;
        }
        let h = self.header(pos)?;
        if h.shared > self.key.len() || (pos == self.restart_at && h.shared != 0) {
            let reason = format!(
                "entry shares {} bytes with a {}-byte key",
                h.shared,
                self.key.len()
            );
            return Err(corruption(&self.file, self.layout.id, pos as u64, reason));
        }
        self.key.truncate(h.shared);
        self.key
            .extend_from_slice(&self.data[h.delta_start..h.delta_start + h.delta_len]);
        self.decode_trailer(pos)?;
        self.cur = pos;
        self.next = h.value_start + h.value_len;
        if self.next_restart < self.next {
            return Err(corruption(
                &self.file,
                self.layout.id,
                pos as u64,
                "restart point inside or before an entry",
            ));
        }
        self.value_start = h.value_start;
        self.value_len = h.value_len;
        self.valid = true;
        Ok(())
    }

    fn decode_trailer(&mut self, pos: usize) -> Result<()> {
        let key = KeyRef::decode(&self.key).ok_or_else(|| {
            corruption(
                &self.file,
                self.layout.id,
                pos as u64,
                "entry key is not an internal key",
            )
        })?;
        (self.seqno, self.kind) = (key.seqno, key.kind);
        Ok(())
    }

    /// The position of restart point `i + 1`, or `usize::MAX` if `i` is the last.
    fn restart_after(&self, i: usize) -> Result<usize> {
        if i + 1 < self.layout.num_restarts {
            self.layout.restart_point(&self.data, i + 1, &self.file)
        } else {
            Ok(usize::MAX)
        }
    }

    fn seek_to_restart(&mut self, i: usize) -> Result<()> {
        self.valid = false;
        self.key.clear();
        self.restart_idx = i;
        self.restart_at = self.layout.restart_point(&self.data, i, &self.file)?;
        self.next = self.restart_at;
        self.next_restart = self.restart_after(i)?;
        Ok(())
    }

    /// Compares the full key stored at restart point `i` with `target`.
    fn restart_key_cmp(&self, i: usize, target: KeyRef<'_>) -> Result<Ordering> {
        super::seek::restart_key_cmp(&self.data, &self.layout, &self.file, i, target)
    }

    /// Moves to the last entry before position `before`; invalid if there is none.
    fn step_back_to(&mut self, before: usize) -> Result<()> {
        while self
            .layout
            .restart_point(&self.data, self.restart_idx, &self.file)?
            >= before
        {
            if self.restart_idx == 0 {
                self.valid = false;
                return Ok(());
            }
            self.restart_idx -= 1;
        }
        self.seek_to_restart(self.restart_idx)?;
        loop {
            self.parse_next()?;
            if !self.valid || self.next >= before {
                break;
            }
        }
        if self.valid && self.next != before {
            self.valid = false;
            return Err(corruption(
                &self.file,
                self.layout.id,
                self.cur as u64,
                "entries do not line up when stepping back",
            ));
        }
        Ok(())
    }

    /// Runs `op`; an error leaves the cursor invalid, as the protocol requires.
    fn guarded(&mut self, op: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let result = op(self);
        if result.is_err() {
            self.valid = false;
        }
        result
    }
}

impl Cursor for BlockCursor {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.guarded(|c| {
            if c.layout.num_restarts == 0 {
                c.valid = false;
                return Ok(());
            }
            // Find the last restart whose key is < target, then scan forward.
            let (mut lo, mut hi) = (0, c.layout.num_restarts - 1);
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if c.restart_key_cmp(mid, target)? == Ordering::Less {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            c.seek_to_restart(lo)?;
            loop {
                c.parse_next()?;
                if !c.valid || c.key().is_some_and(|k| k >= target) {
                    return Ok(());
                }
            }
        })
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|c| {
            if c.layout.num_restarts == 0 {
                c.valid = false;
                return Ok(());
            }
            c.seek_to_restart(0)?;
            c.parse_next()
        })
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.guarded(|c| {
            let Some(last) = c.layout.num_restarts.checked_sub(1) else {
                c.valid = false;
                return Ok(());
            };
            c.seek_to_restart(last)?;
            loop {
                c.parse_next()?;
                if !c.valid || c.next >= c.layout.restarts {
                    return Ok(());
                }
            }
        })
    }

    fn next(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        self.guarded(Self::parse_next)
    }

    fn prev(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        let before = self.cur;
        self.guarded(|c| c.step_back_to(before))
    }

    #[inline]
    fn key(&self) -> Option<KeyRef<'_>> {
        if !self.valid {
            return None;
        }
        let user_key = &self.key[..self.key.len() - TRAILER_LEN];
        Some(KeyRef::new(user_key, self.seqno, self.kind))
    }

    #[inline]
    fn value(&self) -> Option<&[u8]> {
        if !self.valid {
            return None;
        }
        self.data
            .get(self.value_start..self.value_start + self.value_len)
    }
}

#[cfg(test)]
mod tests;
