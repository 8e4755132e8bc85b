//! The summary slots of a table's data blocks: allocated in chunks of [`CHUNK`]
//! blocks on the first lookup or seek in one of them, each chunk and each summary's
//! own heap bytes admitted under the table's [`super::SummaryBudget`] and given back
//! when the table is dropped.
//!
//! Slots are set once (`OnceLock`): two threads may both build a block's summary the
//! first time, which is harmless since the bytes never change; one summary is kept and
//! the other's reservation given back. A lookup borrows its summary from the table, so
//! summaries are never evicted (see `budget.rs`).

use std::borrow::Cow;
use std::sync::OnceLock;
use std::sync::atomic::Ordering as AtomicOrdering;

use super::summary::BlockSummary;
use super::{Inner, Table};
use quickcache_fs::Mapping;

use crate::Result;
use crate::block::BlockLayout;
use crate::origin::BlockId;

/// Data blocks per chunk of summary slots.
pub(super) const CHUNK: usize = 64;

/// The summary slots of `CHUNK` consecutive data blocks. A slot holds a summary
/// inline (~170 bytes), so slots for every block would cost ~4% of the table bytes
/// from the open on; chunks keep reader memory growing with the blocks read, while
/// the array of chunks stays small enough (1/64 of a slot per block) to sit in the CPU
/// cache: no cache miss more per lookup. A chunk's bytes are taken from the budget when
/// it is allocated, like the summaries' own heap bytes.
pub(super) type Chunk = [OnceLock<BlockSummary>; CHUNK];

impl Table {
    /// The bytes and layout of data block `i` (see [`Table::block`]), its checksum
    /// verified on first use, for reading it from an end (a scan). That needs no
    /// summary, so a table's first scan (a compaction's, say) does not pay for
    /// summaries it would not use. Requires: `i < block_count()`.
    pub(crate) fn block_layout(&self, i: usize) -> Result<(Cow<'_, Mapping>, BlockLayout)> {
        let chunk = self.inner.summaries[i / CHUNK].get();
        match chunk.and_then(|c| c[i % CHUNK].get()) {
            Some(summary) if !summary.is_compressed() => Ok((
                Cow::Borrowed(&self.inner.map),
                summary.layout(BlockId::Data(i)),
            )),
            _ => self.block_filling(i, false),
        }
    }

    /// The summary of data block `i`, built when the block is first used, right after
    /// its checksum is verified; `None` if the budget has no room for it (nor for its
    /// chunk). The summary of a block stored compressed holds positions in its
    /// decompressed bytes ([`BlockSummary::is_compressed`]).
    /// Requires: `i < block_count()`.
    pub(crate) fn summary(&self, i: usize) -> Result<Option<&BlockSummary>> {
        let Some(chunk) = self.chunk(i)? else {
            return Ok(None);
        };
        let cell = &chunk[i % CHUNK];
        if let Some(summary) = cell.get() {
            return Ok(Some(summary));
        }
        let inner = &*self.inner;
        if inner.budget.is_full() {
            return Ok(None);
        }
        let (bytes, layout) = self.block(i)?;
        let summary = BlockSummary::build(&bytes, &layout, &inner.file, &inner.windows)?;
        let summary = match bytes {
            Cow::Borrowed(_) => summary,
            Cow::Owned(_) => summary.of_compressed_block(),
        };
        let bytes = summary.heap_bytes();
        if !self.reserve(bytes) {
            return Ok(None);
        }
        // Another thread may have won the race: its summary is the same.
        if cell.set(summary).is_err() {
            self.give_back(bytes);
        }
        Ok(cell.get())
    }

    /// The chunk of summary slots of data block `i`, allocated if the budget has
    /// room.
    fn chunk(&self, i: usize) -> Result<Option<&Chunk>> {
        let cell = &self.inner.summaries[i / CHUNK];
        if let Some(chunk) = cell.get() {
            return Ok(Some(chunk));
        }
        if self.inner.budget.is_full() || !self.reserve(size_of::<Chunk>()) {
            return Ok(None);
        }
        if cell
            .set(Box::new(std::array::from_fn(|_| OnceLock::new())))
            .is_err()
        {
            self.give_back(size_of::<Chunk>());
        }
        Ok(cell.get().map(|chunk| &**chunk))
    }

    /// Takes `bytes` from the budget for this table's summaries, if it has them.
    fn reserve(&self, bytes: usize) -> bool {
        let inner = &*self.inner;
        let taken = inner.budget.try_reserve(bytes as u64);
        if taken {
            inner
                .summary_bytes
                .fetch_add(bytes, AtomicOrdering::Relaxed);
        }
        taken
    }

    /// Gives back `bytes` that [`Table::reserve`] took and nothing uses.
    fn give_back(&self, bytes: usize) {
        let inner = &*self.inner;
        inner
            .summary_bytes
            .fetch_sub(bytes, AtomicOrdering::Relaxed);
        inner.budget.release(bytes as u64);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.budget
            .release(self.summary_bytes.load(AtomicOrdering::Relaxed) as u64);
        if self.compressed_seen.load(AtomicOrdering::Relaxed) {
            self.budget
                .block_cache()
                .forget_table(self.cache_id, self.index.len());
        }
    }
}

impl Table {
    /// The bytes the positions of data block `i`'s summary refer to: the map, or the
    /// block's decompressed contents (from the cache, or decompressed and cached).
    #[inline]
    pub(crate) fn summary_bytes(
        &self,
        i: usize,
        summary: &BlockSummary,
    ) -> Result<Cow<'_, Mapping>> {
        if !summary.is_compressed() {
            return Ok(Cow::Borrowed(&self.inner.map));
        }
        Ok(Cow::Owned(self.cached_block(i)?))
    }

    /// How errors name data block `i`, given its summary: by the file offset of its
    /// stored contents too when positions are in its decompressed bytes.
    #[inline]
    pub(crate) fn summary_id(&self, i: usize, summary: &BlockSummary) -> BlockId {
        match summary.is_compressed() {
            false => BlockId::Data(i),
            true => BlockId::Decompressed {
                block: i,
                at: self.inner.index.handle(i).offset,
            },
        }
    }
}
