//! `BlockCursor`: the cursor protocol over one block's entries.
//!
//! Valid iff positioned at an entry; `key`/`value` borrow from the cursor and the mapped
//! file. Every entry is bounds-checked as it is decoded: damaged bytes give a
//! corruption error naming the block and offset, never a panic.
//!
//! Stepping back records the entries of the interval it decodes ([`back`]), so a
//! reverse scan decodes each entry about twice instead of half an interval per step.

mod back;
mod damage;

use std::path::Path;
use std::sync::Arc;

use quickcache_fs::Mapping;

use self::back::{BackSteps, Step};
use super::seek::{self, Candidates};
use super::{BlockLayout, Header, entry_header};
pub(crate) use crate::compare::cmp_encoded_to;
use crate::origin::corruption;
use crate::{Cursor, KeyRef, Result, TRAILER_LEN};

/// Bytes reserved up front for the current key (internal key: user key and trailer).
const KEY_CAPACITY: usize = 64;

/// A cursor over one block of a mapped file.
#[derive(Debug)]
pub(crate) struct BlockCursor {
    data: Mapping,
    /// Whether `data` is the mapping the cursor was made with (a table's map), so
    /// that switching to another block of that map clones nothing.
    on_origin: bool,
    origin: Mapping,
    file: Arc<Path>,
    layout: BlockLayout,
    /// Restart region of the current entry, the position of its restart point and of
    /// the next one (`usize::MAX` if none).
    restart_idx: usize,
    restart_at: usize,
    next_restart: usize,
    /// The current entry (meaningful iff `valid`); its `next` is where `parse_next`
    /// decodes, also when invalid.
    at: Step,
    valid: bool,
    key: Vec<u8>,
    /// Entries of the current restart interval recorded by the last step back, and
    /// which of them is the current entry (`None`: the record does not apply).
    back: BackSteps,
    back_at: Option<usize>,
}

impl BlockCursor {
    /// An invalid cursor over `layout` in `data`.
    pub(crate) fn new(data: Mapping, file: Arc<Path>, layout: BlockLayout) -> Self {
        BlockCursor {
            origin: data.clone(),
            on_origin: true,
            data,
            file,
            layout,
            restart_idx: 0,
            restart_at: 0,
            next_restart: usize::MAX,
            at: Step {
                next: layout.start,
                ..Step::NONE
            },
            valid: false,
            // Room for most keys at once: an iterator per short scan makes a cursor
            // per table, and growing an empty key step by step cost reallocations
            // on every seek.
            key: Vec::with_capacity(KEY_CAPACITY),
            back: BackSteps::default(),
            back_at: None,
        }
    }

    /// Switches to another block of the same file, keeping buffers; the cursor is
    /// invalid afterwards.
    pub(crate) fn reset(&mut self, layout: BlockLayout) {
        self.layout = layout;
        self.valid = false;
        self.key.clear();
        self.at.next = layout.start;
        self.back_at = None;
    }

    /// Switches to block `layout` in `bytes`: the mapping the cursor was made with
    /// when borrowed (no clone when the cursor is on it already), or a block's own
    /// bytes (a decompressed block) when owned. Invalid afterwards.
    pub(crate) fn reset_in(&mut self, bytes: std::borrow::Cow<'_, Mapping>, layout: BlockLayout) {
        match bytes {
            std::borrow::Cow::Borrowed(_) if self.on_origin => {}
            std::borrow::Cow::Borrowed(_) => {
                self.data = self.origin.clone();
                self.on_origin = true;
            }
            std::borrow::Cow::Owned(block) => {
                self.data = block;
                self.on_origin = false;
            }
        }
        self.reset(layout);
    }

    /// The mapped file (or decompressed block) the block lies in.
    pub(crate) fn data(&self) -> &Mapping {
        &self.data
    }

    /// Range of the current value in the mapped file. Requires: valid.
    pub(crate) fn value_range(&self) -> (usize, usize) {
        (self.at.value_start, self.at.value_len)
    }

    /// The current entry's position in the file, identifying it; `None` when invalid.
    pub(crate) fn position(&self) -> Option<usize> {
        self.valid.then_some(self.at.pos)
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
    /// (scanning forward, stepping back, seeking) decodes it the same way. The checks
    /// are one branch on the scan's path; their messages are built out of line.
    #[inline]
    fn parse_next(&mut self) -> Result<()> {
        self.valid = false;
        let pos = self.at.next;
        if pos >= self.layout.restarts {
            return Ok(());
        }
        if pos == self.next_restart {
            self.enter_restart(pos)?;
        }
        let h = self.header(pos)?;
        let end = h.end();
        let bad_share = h.shared > self.key.len() || (pos == self.restart_at && h.shared != 0);
        if bad_share || self.next_restart < end {
            return Err(self.misplaced(pos, h.shared));
        }
        self.key.truncate(h.shared);
        self.key
            .extend_from_slice(&self.data[h.delta_start..h.delta_start + h.delta_len]);
        self.decode_trailer(pos)?;
        self.at.pos = pos;
        self.at.next = end;
        self.at.value_start = h.value_start;
        self.at.value_len = h.value_len;
        self.valid = true;
        Ok(())
    }

    /// Steps into the next restart interval, whose restart point is `pos`.
    #[inline(never)]
    fn enter_restart(&mut self, pos: usize) -> Result<()> {
        self.restart_idx += 1;
        self.restart_at = pos;
        self.next_restart = self.restart_after(self.restart_idx)?;
        Ok(())
    }

    /// Reads the current key's trailer into `at` (the key is in `key`).
    #[inline]
    fn decode_trailer(&mut self, pos: usize) -> Result<()> {
        match KeyRef::decode(&self.key) {
            Some(key) => {
                (self.at.seqno, self.at.kind) = (key.seqno, key.kind);
                Ok(())
            }
            None => Err(self.not_internal(pos)),
        }
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
        self.back_at = None;
        self.key.clear();
        self.restart_idx = i;
        self.restart_at = self.layout.restart_point(&self.data, i, &self.file)?;
        self.at.next = self.restart_at;
        self.next_restart = self.restart_after(i)?;
        Ok(())
    }

    /// Moves to the last entry before position `before` (an entry boundary); invalid
    /// if there is none. Once per restart interval: out of line.
    #[inline(never)]
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
        self.record_interval(self.restart_idx, before)?;
        if self.valid && self.at.next != before {
            self.valid = false;
            return Err(corruption(
                &self.file,
                self.layout.id,
                self.at.pos as u64,
                "entries do not line up when stepping back",
            ));
        }
        Ok(())
    }

    /// Decodes restart interval `r` from its restart point up to the entry ending at or
    /// past `before`, recording each entry for later steps back, and stays on that
    /// last entry.
    fn record_interval(&mut self, r: usize, before: usize) -> Result<()> {
        self.seek_to_restart(r)?;
        self.back.clear();
        loop {
            self.parse_next()?;
            if !self.valid {
                return Ok(());
            }
            self.back.push(self.at, &self.key);
            self.back_at = Some(self.back.len() - 1);
            if self.at.next >= before {
                return Ok(());
            }
        }
    }

    /// Moves to recorded entry `k` of the current interval, if there is one.
    #[inline]
    fn restore(&mut self, k: usize) -> bool {
        let Some((step, key)) = self.back.get(k) else {
            return false;
        };
        self.key.clear();
        self.key.extend_from_slice(key);
        self.at = step;
        self.back_at = Some(k);
        self.valid = true;
        true
    }

    /// Positions at the first entry `>= target` at or after restart point `r`, the
    /// last restart point whose key is `< target` (or 0); invalid if there is none in
    /// the block. Scans as `Table::get` does, building only the keys it must. With
    /// `inside = Some((pos, m))` the scan starts instead at entry `pos` of interval `r`,
    /// the key before it being below the target at byte `m` (see `seek::scan_from`),
    /// and the entry sought known to lie in the interval or at the next restart point.
    pub(crate) fn seek_from_restart(
        &mut self,
        r: usize,
        inside: Option<(usize, usize)>,
        target: KeyRef<'_>,
    ) -> Result<()> {
        self.guarded(|c| {
            c.seek_to_restart(r)?;
            let (pos, below) = inside.map_or((c.restart_at, None), |(p, m)| (p, Some(m)));
            let found =
                seek::scan_from(&c.data, &c.layout, &c.file, pos, below, target, &mut c.key)?;
            let Some(f) = found else {
                c.at.next = c.layout.restarts;
                return Ok(());
            };
            // The scan stops at the next restart entry at the latest (its key is not
            // below the target); the checks `parse_next` makes, for that entry.
            if f.pos == c.next_restart {
                c.restart_idx += 1;
                c.restart_at = f.pos;
                c.next_restart = c.restart_after(c.restart_idx)?;
            }
            let end = f.value_start + f.value_len;
            if c.next_restart < end || (f.pos == c.restart_at && f.shared != 0) {
                let reason = "restart point inside an entry, or a restart entry sharing a prefix";
                return Err(corruption(&c.file, c.layout.id, f.pos as u64, reason));
            }
            c.decode_trailer(f.pos)?;
            (c.at.pos, c.at.next) = (f.pos, end);
            (c.at.value_start, c.at.value_len) = (f.value_start, f.value_len);
            c.valid = true;
            Ok(())
        })
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
        let Some(hi) = self.layout.num_restarts.checked_sub(1) else {
            self.valid = false;
            return Ok(());
        };
        let all = Candidates { lo: 0, hi };
        let r = seek::last_restart_below(&self.data, &self.layout, &self.file, target, all);
        match r {
            Ok(r) => self.seek_from_restart(r, None, target),
            Err(e) => {
                self.valid = false;
                Err(e)
            }
        }
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
            // Recorded, so that a reverse scan's following steps back are cheap.
            c.record_interval(last, c.layout.restarts)
        })
    }

    fn next(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        // Within a recorded interval, the record has the next entry already decoded.
        if let Some(k) = self.back_at
            && self.restore(k + 1)
        {
            return Ok(());
        }
        self.back_at = None;
        // `parse_next` leaves the cursor invalid unless it decodes an entry: no guard.
        self.parse_next()
    }

    #[inline]
    fn prev(&mut self) -> Result<()> {
        if !self.valid {
            return Ok(());
        }
        if let Some(k) = self.back_at
            && let Some(k) = k.checked_sub(1)
            && self.restore(k)
        {
            return Ok(());
        }
        let before = self.at.pos;
        self.guarded(|c| c.step_back_to(before))
    }

    #[inline]
    fn valid(&self) -> bool {
        self.valid
    }

    #[inline]
    fn key(&self) -> Option<KeyRef<'_>> {
        if !self.valid {
            return None;
        }
        let user_key = &self.key[..self.key.len() - TRAILER_LEN];
        Some(KeyRef::new(user_key, self.at.seqno, self.at.kind))
    }

    #[inline]
    fn value(&self) -> Option<&[u8]> {
        if !self.valid {
            return None;
        }
        self.data
            .get(self.at.value_start..self.at.value_start + self.at.value_len)
    }
}

#[cfg(test)]
mod tests;
