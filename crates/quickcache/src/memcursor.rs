//! `MemCursor`: a memtable cursor for iterators, fast in both directions.
//!
//! Moving forward it is a [`SharedCursor`] standing on a skiplist node: a seek is
//! one search and each step follows one link, with nothing copied. A seek followed by
//! a few steps (the common short range read) so touches only the nodes it returns.
//!
//! Nodes link forward only, so a step back is a new search. Moving backward it
//! therefore reads the skiplist in chunks: one search positions the shared cursor, and
//! the previous few entries ([`FIRST_CHUNK`] after a seek, doubling on every refill up
//! to [`MAX_CHUNK`]) are copied into one reusable buffer, where a step back is an index
//! step. Leaving the chunk searches again from its edge key; entries are never removed
//! from a memtable, so the edge key is always found again.

use quickcache_memtable::SharedCursor;
use quickcache_sstable::{Cursor, KeyRef, Result, SeqNo, ValueKind};

/// Entries copied by the first backward fill after a seek: a short range read should
/// not pay for copying a long run it never looks at.
const FIRST_CHUNK: usize = 8;
/// The most entries copied per backward refill; each refill while walking doubles the
/// chunk up to this, so a long reverse scan searches the skiplist rarely.
const MAX_CHUNK: usize = 128;

#[derive(Debug, Clone, Copy)]
struct Slot {
    key_start: usize,
    key_len: usize,
    seqno: SeqNo,
    kind: ValueKind,
    value_len: usize,
}

/// A [`Cursor`] over a memtable it holds a share of.
#[derive(Debug)]
pub(crate) struct MemCursor {
    /// The position while moving forward; scratch space while moving backward.
    shared: SharedCursor,
    /// Whether the current entry is `shared`'s (forward) or slot `pos` (backward).
    forward: bool,
    buf: Vec<u8>,
    /// Ascending internal-key order.
    slots: Vec<Slot>,
    pos: Option<usize>,
    edge: Vec<u8>,
    /// Entries the next backward fill copies.
    chunk: usize,
}

impl MemCursor {
    pub(crate) fn new(shared: SharedCursor) -> MemCursor {
        MemCursor {
            shared,
            forward: true,
            buf: Vec::new(),
            slots: Vec::new(),
            pos: None,
            edge: Vec::new(),
            chunk: FIRST_CHUNK,
        }
    }

    // A slot always lies inside the buffer it was filled into (`fill_back` pushes
    // both together and clears both together); debug builds assert it, where an
    // empty key or value would otherwise be made up.

    fn slot_key(&self, slot: &Slot) -> KeyRef<'_> {
        let user = self.buf.get(slot.key_start..slot.key_start + slot.key_len);
        debug_assert!(user.is_some(), "slot key outside the chunk buffer");
        KeyRef::new(user.unwrap_or_default(), slot.seqno, slot.kind)
    }

    fn slot_value(&self, slot: &Slot) -> &[u8] {
        let start = slot.key_start + slot.key_len;
        let value = self.buf.get(start..start + slot.value_len);
        debug_assert!(value.is_some(), "slot value outside the chunk buffer");
        value.unwrap_or_default()
    }

    /// Positions the shared cursor with `position`, then copies up to `chunk` entries
    /// from there backward into the buffer, in ascending order, and stands on the
    /// last of them.
    fn fill_back(&mut self, position: impl FnOnce(&mut SharedCursor) -> Result<()>) -> Result<()> {
        self.forward = false;
        position(&mut self.shared)?;
        let (buf, slots, cursor) = (&mut self.buf, &mut self.slots, &mut self.shared);
        buf.clear();
        slots.clear();
        slots.reserve(self.chunk);
        while slots.len() < self.chunk {
            let (Some(key), Some(value)) = (cursor.key(), cursor.value()) else {
                break;
            };
            let key_start = buf.len();
            if key_start == 0 {
                // Room for a chunk of entries the size of the first: growing the
                // buffer entry by entry reallocates and copies it several times.
                buf.reserve(self.chunk * (key.user_key.len() + value.len()));
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
            cursor.prev()?;
        }
        slots.reverse();
        self.pos = self.slots.len().checked_sub(1);
        Ok(())
    }

    /// Copies `slot`'s user key to `edge`, before the buffer is reused.
    fn save_edge(&mut self, slot: &Slot) {
        self.edge.clear();
        let user = self.buf.get(slot.key_start..slot.key_start + slot.key_len);
        debug_assert!(user.is_some(), "slot key outside the chunk buffer");
        self.edge.extend_from_slice(user.unwrap_or_default());
    }

    /// Steps before the buffer's first slot: refills from the memtable just before
    /// that entry, with a larger chunk each time, or becomes invalid if there is
    /// nothing there.
    fn refill_before_first(&mut self) -> Result<()> {
        let Some(slot) = self.slots.first().copied() else {
            self.pos = None;
            return Ok(());
        };
        self.save_edge(&slot);
        let edge = std::mem::take(&mut self.edge);
        self.chunk = (self.chunk * 2).min(MAX_CHUNK);
        let result = self.fill_back(|c| {
            c.seek(KeyRef::new(&edge, slot.seqno, slot.kind))?;
            c.prev()
        });
        self.edge = edge;
        result
    }

    /// Turns from backward to forward at slot `pos`: the shared cursor finds that
    /// entry again and steps past it.
    fn forward_after(&mut self, pos: usize) -> Result<()> {
        let Some(slot) = self.slots.get(pos).copied() else {
            return Ok(());
        };
        self.save_edge(&slot);
        self.forward = true;
        self.shared
            .seek(KeyRef::new(&self.edge, slot.seqno, slot.kind))?;
        self.shared.next()
    }
}

impl Cursor for MemCursor {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.forward = true;
        self.shared.seek(target)
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.forward = true;
        self.shared.seek_to_first()
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.chunk = FIRST_CHUNK;
        self.fill_back(|c| c.seek_to_last())
    }

    /// One search, as [`SharedCursor::seek_for_prev`], then a backward chunk.
    fn seek_for_prev(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.chunk = FIRST_CHUNK;
        self.fill_back(|c| c.seek_for_prev(target))
    }

    fn next(&mut self) -> Result<()> {
        if self.forward {
            return self.shared.next();
        }
        let Some(pos) = self.pos else { return Ok(()) };
        if pos + 1 < self.slots.len() {
            self.pos = Some(pos + 1);
            return Ok(());
        }
        self.forward_after(pos)
    }

    fn prev(&mut self) -> Result<()> {
        if self.forward {
            if !self.shared.valid() {
                return Ok(());
            }
            self.chunk = FIRST_CHUNK;
            return self.fill_back(|c| c.prev());
        }
        let Some(pos) = self.pos else { return Ok(()) };
        if pos > 0 {
            self.pos = Some(pos - 1);
            return Ok(());
        }
        self.refill_before_first()
    }

    fn key(&self) -> Option<KeyRef<'_>> {
        if self.forward {
            return self.shared.key();
        }
        let slot = self.slots.get(self.pos?)?;
        Some(self.slot_key(slot))
    }

    fn value(&self) -> Option<&[u8]> {
        if self.forward {
            return self.shared.value();
        }
        let slot = self.slots.get(self.pos?)?;
        Some(self.slot_value(slot))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use quickcache_memtable::Memtable;
    use quickcache_sstable::conformance::{Model, check_cursor};
    use quickcache_sstable::{InternalKey, SeqNo, ValueKind};

    use super::*;

    /// Many versions of many keys: long enough that backward walks cross several
    /// chunks of every size, and that turning around happens inside and at the edge
    /// of chunks.
    #[test]
    fn conforms_across_chunk_edges_in_both_directions() {
        let memtable = Memtable::new();
        let mut model = Model::new();
        for i in 0..700u32 {
            let key = format!("k{:03}", i * 37 % 211).into_bytes();
            let seqno = SeqNo::new(u64::from(i) + 1).unwrap_or(SeqNo::MAX);
            let value = i.to_le_bytes().to_vec();
            if i % 7 == 0 {
                memtable.delete(&key, seqno);
                model.insert(
                    InternalKey::new(key, seqno, ValueKind::Tombstone),
                    Vec::new(),
                );
            } else {
                memtable.put(&key, seqno, &value);
                model.insert(InternalKey::new(key, seqno, ValueKind::Value), value);
            }
        }
        check_cursor(
            &mut MemCursor::new(Arc::new(memtable).shared_cursor()),
            &model,
        );
    }

    #[test]
    fn conforms_on_an_empty_memtable() {
        let shared = Arc::new(Memtable::new()).shared_cursor();
        check_cursor(&mut MemCursor::new(shared), &Model::new());
    }
}
