//! `TableCursor`: the cursor protocol over a whole table, block after block.
//!
//! Valid iff positioned at an entry. It owns a clone of its [`Table`], so it can be
//! boxed and kept (`'static`); keys borrow from the cursor, values from the map.

use std::path::Path;
use std::sync::Arc;

use crate::block::BlockLayout;
use crate::block::cursor::BlockCursor;
use crate::origin::BlockId;
use crate::{Cursor, KeyRef, Result, SeqNo, Table, ValueRef};

/// A cursor over all entries of a table, in internal-key order.
#[derive(Debug)]
pub struct TableCursor {
    table: Table,
    /// The data block the block cursor is on (meaningful iff valid).
    block: usize,
    cursor: BlockCursor,
    /// The table's global sequence number, which every key reports instead of its own.
    global_seqno: Option<SeqNo>,
}

/// The layout of no block at all: a block cursor over it is always invalid.
const NO_BLOCK: BlockLayout = BlockLayout {
    id: BlockId::File,
    start: 0,
    restarts: 0,
    num_restarts: 0,
};

impl TableCursor {
    pub(crate) fn new(table: Table) -> Self {
        let file: Arc<Path> = Arc::clone(table.file());
        let cursor = BlockCursor::new(table.map().clone(), file, NO_BLOCK);
        TableCursor {
            global_seqno: table.global_seqno(),
            table,
            block: 0,
            cursor,
        }
    }

    /// The current value as a zero-copy slice of the mapped file; `Some` iff valid.
    pub fn value_ref(&self) -> Option<ValueRef> {
        self.cursor.position()?;
        let (start, len) = self.cursor.value_range();
        Some(ValueRef::new(self.cursor.data().clone(), start, len))
    }

    /// The table this cursor reads.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Identifies the current entry (its data block and its position in the block's
    /// bytes), ordered like the entries; `None` when invalid.
    pub(crate) fn position(&self) -> Option<(usize, usize)> {
        Some((self.block, self.cursor.position()?))
    }

    fn load(&mut self, i: usize) -> Result<()> {
        let (bytes, layout) = self.table.block_layout(i)?;
        self.cursor.reset_in(bytes, layout);
        self.block = i;
        Ok(())
    }

    fn invalidate(&mut self) {
        self.cursor.reset(NO_BLOCK);
    }

    /// Runs `op`; an error leaves the cursor invalid, as the protocol requires.
    fn guarded(&mut self, op: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        let result = op(self);
        if result.is_err() {
            self.invalidate();
        }
        result
    }

    /// Positions at the first entry of block `i` or a later one; invalid if none.
    fn forward_from(&mut self, mut i: usize) -> Result<()> {
        while i < self.table.block_count() {
            self.load(i)?;
            self.cursor.seek_to_first()?;
            if self.cursor.valid() {
                return Ok(());
            }
            i += 1;
        }
        self.invalidate();
        Ok(())
    }

    /// Positions at the last entry of block `i` or an earlier one; invalid if none.
    fn backward_from(&mut self, i: Option<usize>) -> Result<()> {
        let mut next = i;
        while let Some(i) = next {
            self.load(i)?;
            self.cursor.seek_to_last()?;
            if self.cursor.valid() {
                return Ok(());
            }
            next = i.checked_sub(1);
        }
        self.invalidate();
        Ok(())
    }
}

impl TableCursor {
    /// Seeks by the keys as stored in the file.
    fn seek_stored(&mut self, target: KeyRef<'_>) -> Result<()> {
        self.guarded(|c| {
            let i = c.table.index().find(target);
            if i >= c.table.block_count() {
                c.invalidate();
                return Ok(());
            }
            // The same start as `Table::get`: the restart interval, or the entry inside
            // it, chosen in memory, its lines requested at once.
            if let Some(start) = c.table.seek_start(i, target)? {
                // Stepping past the interval reads the next restart point: fetch it too.
                let next_restart = start.layout.restarts + 4 * (start.restart + 1);
                super::get::touch_lines(&start.bytes, next_restart..next_restart + 1);
                c.cursor.reset_in(start.bytes, start.layout);
                c.block = i;
                let inside = start.below.map(|m| (start.pos, m));
                c.cursor.seek_from_restart(start.restart, inside, target)?;
                if c.cursor.valid() {
                    return Ok(());
                }
            }
            // Target lies after block i's last key: the next entry starts block i + 1.
            c.forward_from(i + 1)
        })
    }
}

impl TableCursor {
    /// Moves to the first entry after the current block, past its last entry.
    #[inline(never)]
    fn next_block(&mut self) -> Result<()> {
        self.guarded(|c| c.forward_from(c.block + 1))
    }

    /// Moves to the last entry before the current block, past its first entry.
    #[inline(never)]
    fn prev_block(&mut self) -> Result<()> {
        self.guarded(|c| c.backward_from(c.block.checked_sub(1)))
    }
}

impl Cursor for TableCursor {
    fn seek(&mut self, target: KeyRef<'_>) -> Result<()> {
        let Some(global) = self.global_seqno else {
            return self.seek_stored(target);
        };
        // Each user key occurs once (`Table::with_global_seqno`): land on the target's
        // user key, and step over it if under the global seqno it sorts before target.
        self.seek_stored(KeyRef::lookup(target.user_key, SeqNo::MAX))?;
        let before = self.key().is_some_and(|k| {
            debug_assert_eq!(k.seqno, global);
            k.user_key == target.user_key && k < target
        });
        if before {
            self.next()?;
        }
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|c| c.forward_from(0))
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.guarded(|c| c.backward_from(c.table.block_count().checked_sub(1)))
    }

    #[inline]
    fn next(&mut self) -> Result<()> {
        if !self.cursor.valid() {
            return Ok(());
        }
        // The step inside a block is inlined into the caller's loop; moving to the
        // next block (once per block) is not.
        match self.cursor.next() {
            Ok(()) if self.cursor.valid() => Ok(()),
            Ok(()) => self.next_block(),
            Err(e) => {
                self.invalidate();
                Err(e)
            }
        }
    }

    #[inline]
    fn prev(&mut self) -> Result<()> {
        if !self.cursor.valid() {
            return Ok(());
        }
        // As `next`: the step inside a block inline, the move to a block out of line.
        match self.cursor.prev() {
            Ok(()) if self.cursor.valid() => Ok(()),
            Ok(()) => self.prev_block(),
            Err(e) => {
                self.invalidate();
                Err(e)
            }
        }
    }

    #[inline]
    fn valid(&self) -> bool {
        self.cursor.valid()
    }

    #[inline]
    fn key(&self) -> Option<KeyRef<'_>> {
        let key = self.cursor.key()?;
        Some(match self.global_seqno {
            Some(seqno) => KeyRef { seqno, ..key },
            None => key,
        })
    }

    #[inline]
    fn value(&self) -> Option<&[u8]> {
        self.cursor.value()
    }
}
