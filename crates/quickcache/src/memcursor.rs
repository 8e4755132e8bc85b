//! `MemCursor`: an owning cursor over a memtable, so that iterators can outlive the
//! borrow a [`quickcache_memtable::MemtableCursor`] needs.
//!
//! It reads the skiplist in chunks: a borrowed cursor is made, positioned, and the
//! next (or previous) few entries ([`FIRST_CHUNK`] after a seek, doubling on every
//! refill up to [`MAX_CHUNK`]) are copied into one reusable buffer. Moving
//! inside a chunk is an index step; leaving it re-seeks from the chunk's edge key.
//! Entries are never removed from a memtable, so the edge key is always found again.

use quickcache_memtable::MemtableCursor;
use quickcache_sstable::{Cursor, KeyRef, Result, SeqNo, ValueKind};

use crate::state::MemSource;

/// Entries copied by the first fill after a seek: a short range read (a seek and a
/// few steps) should not pay for copying a long run it never looks at.
const FIRST_CHUNK: usize = 8;
/// The most entries copied per refill; each refill while walking doubles the chunk up
/// to this, so a long scan re-seeks the skiplist rarely.
const MAX_CHUNK: usize = 128;

#[derive(Debug, Clone, Copy)]
struct Slot {
    key_start: usize,
    key_len: usize,
    seqno: SeqNo,
    kind: ValueKind,
    value_len: usize,
}

/// A [`Cursor`] that owns its memtable handle.
#[derive(Debug)]
pub(crate) struct MemCursor {
    source: MemSource,
    buf: Vec<u8>,
    /// Ascending internal-key order.
    slots: Vec<Slot>,
    pos: Option<usize>,
    edge: Vec<u8>,
    /// Entries the next fill copies.
    chunk: usize,
}

impl MemCursor {
    pub(crate) fn new(source: MemSource) -> MemCursor {
        MemCursor {
            source,
            buf: Vec::new(),
            slots: Vec::new(),
            pos: None,
            edge: Vec::new(),
            chunk: FIRST_CHUNK,
        }
    }

    fn slot_key(&self, slot: &Slot) -> KeyRef<'_> {
        let user = self
            .buf
            .get(slot.key_start..slot.key_start + slot.key_len)
            .unwrap_or_default();
        KeyRef::new(user, slot.seqno, slot.kind)
    }

    fn slot_value(&self, slot: &Slot) -> &[u8] {
        let start = slot.key_start + slot.key_len;
        self.buf
            .get(start..start + slot.value_len)
            .unwrap_or_default()
    }

    /// Copies up to `chunk` entries from `cursor`'s position on, moving forward (or
    /// backward), into the buffer in ascending order.
    fn fill(
        buf: &mut Vec<u8>,
        slots: &mut Vec<Slot>,
        cursor: &mut MemtableCursor<'_>,
        forward: bool,
        chunk: usize,
    ) -> Result<()> {
        buf.clear();
        slots.clear();
        slots.reserve(chunk);
        while slots.len() < chunk {
            let (Some(key), Some(value)) = (cursor.key(), cursor.value()) else {
                break;
            };
            let key_start = buf.len();
            if key_start == 0 {
                // Room for a chunk of entries the size of the first: growing the
                // buffer entry by entry reallocates and copies it several times.
                buf.reserve(chunk * (key.user_key.len() + value.len()));
            }
            buf.extend_from_slice(key.user_key);
            buf.extend_from_slice(value);
            slots.push(Slot {
                key_start,
                key_len: key.user_key.len(),
                seqno: key.seqno,
                kind: key.kind,
                value_len: value.len(),
            });
            if forward {
                cursor.next()?;
            } else {
                cursor.prev()?;
            }
        }
        if !forward {
            slots.reverse();
        }
        Ok(())
    }

    fn refill(
        &mut self,
        forward: bool,
        position: impl FnOnce(&mut MemtableCursor<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut cursor = self.source.cursor();
        position(&mut cursor)?;
        Self::fill(
            &mut self.buf,
            &mut self.slots,
            &mut cursor,
            forward,
            self.chunk,
        )?;
        self.pos = match (self.slots.is_empty(), forward) {
            (true, _) => None,
            (false, true) => Some(0),
            (false, false) => Some(self.slots.len() - 1),
        };
        Ok(())
    }

    /// Remembers the key of slot `at` (as an owned encoding) before the buffer is
    /// reused; returns its seqno and kind.
    fn save_edge(&mut self, at: usize) -> Option<(SeqNo, ValueKind)> {
        let slot = *self.slots.get(at)?;
        self.edge.clear();
        let user = self
            .buf
            .get(slot.key_start..slot.key_start + slot.key_len)
            .unwrap_or_default();
        self.edge.extend_from_slice(user);
        Some((slot.seqno, slot.kind))
    }

    /// Steps past the buffer's last slot (`forward`) or before its first: refills from
    /// the memtable just beyond the entry in slot `pos`, with a larger chunk each time,
    /// or becomes invalid if there is nothing there.
    fn refill_beyond(&mut self, pos: usize, forward: bool) -> Result<()> {
        let Some((seqno, kind)) = self.save_edge(pos) else {
            self.pos = None;
            return Ok(());
        };
        let edge = std::mem::take(&mut self.edge);
        self.chunk = (self.chunk * 2).min(MAX_CHUNK);
        let result = self.refill(forward, |c| {
            c.seek(KeyRef::new(&edge, seqno, kind))?;
            if forward { c.next() } else { c.prev() }
        });
        self.edge = edge;
        result
    }
}

impl Cursor for MemCursor {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.chunk = FIRST_CHUNK;
        self.refill(true, |c| c.seek(target))
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.chunk = FIRST_CHUNK;
        self.refill(true, |c| c.seek_to_first())
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.chunk = FIRST_CHUNK;
        self.refill(false, |c| c.seek_to_last())
    }

    fn next(&mut self) -> Result<()> {
        let Some(pos) = self.pos else { return Ok(()) };
        if pos + 1 < self.slots.len() {
            self.pos = Some(pos + 1);
            return Ok(());
        }
        self.refill_beyond(pos, true)
    }

    fn prev(&mut self) -> Result<()> {
        let Some(pos) = self.pos else { return Ok(()) };
        if pos > 0 {
            self.pos = Some(pos - 1);
            return Ok(());
        }
        self.refill_beyond(pos, false)
    }

    fn key(&self) -> Option<KeyRef<'_>> {
        let slot = self.slots.get(self.pos?)?;
        Some(self.slot_key(slot))
    }

    fn value(&self) -> Option<&[u8]> {
        let slot = self.slots.get(self.pos?)?;
        Some(self.slot_value(slot))
    }
}
