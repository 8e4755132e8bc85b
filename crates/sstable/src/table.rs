//! `Table`: an open, immutable table read through a map of its file.
//!
//! Opening checks the footer, the layout of the blocks, the properties and the index,
//! and keeps the decoded index in memory; the filter and the uncompressed data blocks
//! are read in place from the map. Each data block's checksum is verified before its
//! first use (a state byte per block records it, and how the block is stored); the
//! first lookup or seek in an uncompressed block also builds a summary of where seeks
//! in it can start (see `summary.rs`), if the table's [`SummaryBudget`] has room for
//! it; lookups in blocks without a summary binary-search the block's restart keys.
//! A compressed block is decompressed on use and kept in the budget's [`BlockCache`](crate::BlockCache)
//! (see `cache.rs`). [`Table::verify`] checks the whole file.
//!
//! # SIGBUS
//! The file is mapped (on the real file system). An I/O error on a mapped page, or the
//! file being truncated underneath the map, arrives as SIGBUS and kills the process; it
//! cannot be turned into an error. Only map tables that are complete, synced and never
//! modified again: tables are immutable once published, and the engine's directory
//! lock keeps other quickcache processes out. The `unsafe` map itself lives in
//! `quickcache-fs`; this crate has none.
//!
//! # Sharing
//! `Table` is `Send + Sync` and cheap to clone (the clones share one reader); every
//! method takes `&self`. Block summaries are set once (see `slots.rs`).

pub(crate) mod budget;
pub(crate) mod builder;
pub(crate) mod cache;
pub(crate) mod cursor;
mod gate;
mod get;
pub(crate) mod iter;
pub(crate) mod salvage;
mod slots;
mod summary;
mod verify;

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};

use quickcache_fs::{FileSystem, Mapping};
use snafu::ResultExt;

use self::budget::SummaryBudget;
use self::slots::{CHUNK, Chunk};
use crate::block::BlockLayout;
use crate::bloom::Bloom;
use crate::compression::decompress;
use crate::error::FsSnafu;
use crate::footer::{FOOTER_LEN, Footer, FooterError, RANGE_DEL_VERSION};
use crate::handle::{BLOCK_TRAILER_LEN, BlockHandle, Stored, check_block};
use crate::index::Index;
use crate::origin::{BlockId, checksum_mismatch, corruption, wire_corruption};
use crate::range_del::block as range_del_block;
use crate::window::KeyWindows;
use crate::{Compression, FragmentedRangeTombstones, Properties, Result, SeqNo};

/// A data block's state byte before its checksum is verified; after, the block's
/// compression byte (non-zero).
const UNVERIFIED: u8 = 0;

/// An open table. See the module documentation for the SIGBUS hazard of mapped files.
#[derive(Debug, Clone)]
pub struct Table {
    inner: Arc<Inner>,
    /// Set for a table ingested from outside the engine: every entry reads as if
    /// written with this sequence number (see [`Table::with_global_seqno`]).
    global_seqno: Option<SeqNo>,
}

#[derive(Debug)]
struct Inner {
    map: Mapping,
    file: Arc<Path>,
    index: Index,
    /// `None` without a filter, or when the filter failed its checks (then every
    /// lookup goes to the index: a damaged filter never answers "not found").
    bloom: Option<Bloom>,
    /// The range tombstones of the range-deletion block (empty without one), decoded
    /// at open: every lookup consults them.
    range_dels: FragmentedRangeTombstones,
    footer: Footer,
    properties: Properties,
    /// Windows after the prefix shared by every key of the table (from the smallest
    /// and largest key), for the block summaries.
    windows: KeyWindows,
    /// Per run of `CHUNK` data blocks, allocated on the first lookup or seek in one
    /// of them: per block, its summary once built.
    summaries: Box<[OnceLock<Box<Chunk>>]>,
    /// Per data block, [`UNVERIFIED`] or, once its checksum was verified (scans read
    /// blocks without building their summaries), how it is stored.
    verified: Box<[AtomicU8]>,
    /// Which compression types data blocks may have (by the table's version).
    stored: Stored,
    /// The table's key in the block cache, unique in the process.
    cache_id: u64,
    /// Whether a compressed block was seen (then dropping the table forgets its
    /// blocks in the cache).
    compressed_seen: AtomicBool,
    /// Heap bytes of the chunks and summaries set so far, taken from `budget` and
    /// given back when the table is dropped.
    summary_bytes: AtomicUsize,
    budget: SummaryBudget,
}

impl Table {
    /// Opens the table file at `path` on the real disk (mapped read-only), with no
    /// limit on its block summaries: [`Table::open`] without naming a file system.
    ///
    /// # Errors
    /// The file cannot be read, or is not an intact table.
    pub fn open_file(path: impl AsRef<Path>) -> Result<Table> {
        Table::open(&crate::fs::RealFs::new(), path.as_ref())
    }

    /// Opens the table at `path` through `fs`'s read-only map, with no limit on its
    /// block summaries (see [`Table::open_with`]).
    pub fn open(fs: &dyn FileSystem, path: &Path) -> Result<Table> {
        Table::open_with(fs, path, SummaryBudget::unlimited())
    }

    /// Opens the table at `path` through `fs`'s read-only map; its block summaries
    /// take their bytes from `budget`, which other tables may share.
    ///
    /// # Examples
    /// ```
    /// use quickcache_fs::SimFs;
    /// use quickcache_sstable::{SummaryBudget, Table, TableBuilder, TableOptions};
    ///
    /// let fs = SimFs::new(1);
    /// let mut builder = TableBuilder::new(&fs, "/a.sst".as_ref(), TableOptions::default())?;
    /// builder.add_plain(b"k", b"v")?;
    /// builder.finish()?;
    /// let budget = SummaryBudget::new(1 << 20);
    /// let a = Table::open_with(&fs, "/a.sst".as_ref(), budget.clone())?;
    /// assert!(a.get_plain(b"k")?.is_some());
    /// assert!(budget.used() > 0 && budget.used() <= budget.limit());
    /// drop(a);
    /// assert_eq!(budget.used(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with(fs: &dyn FileSystem, path: &Path, budget: SummaryBudget) -> Result<Table> {
        let map = fs.map(path).context(FsSnafu)?;
        Table::from_mapping_with(map, path, budget)
    }

    /// Opens a table from bytes already mapped (or held in memory); `path` names it in
    /// errors. No limit on its block summaries.
    pub fn from_mapping(map: Mapping, path: impl Into<PathBuf>) -> Result<Table> {
        Table::from_mapping_with(map, path, SummaryBudget::unlimited())
    }

    /// [`Table::from_mapping`], the block summaries taking their bytes from `budget`.
    pub fn from_mapping_with(
        map: Mapping,
        path: impl Into<PathBuf>,
        budget: SummaryBudget,
    ) -> Result<Table> {
        let file: Arc<Path> = Arc::from(path.into());
        let (footer, footer_at) = read_footer(&map, &file)?;
        let (data_end, range_del) = check_layout(&footer, footer_at, &file)?;
        let properties = read_properties(&map, &file, footer.properties)?;
        if properties.format_version != footer.version {
            let reason = format!(
                "format version {} in the properties, {} in the footer",
                properties.format_version, footer.version
            );
            let at = footer.properties.offset;
            return Err(corruption(&file, BlockId::Properties, at, reason));
        }
        let (range, _) = check_block(
            &map,
            footer.index,
            data_end_limit(&footer),
            &file,
            BlockId::Index,
            Stored::Plain,
        )?;
        let layout = BlockLayout::parse(&map, range.start, range.len(), &file, BlockId::Index)?;
        let index = Index::load(&map, &file, layout, data_end)?;
        if index.len() as u64 != properties.data_block_count {
            let reason = format!(
                "{} data blocks indexed, properties say {}",
                index.len(),
                properties.data_block_count
            );
            return Err(corruption(
                &file,
                BlockId::Index,
                footer.index.offset,
                reason,
            ));
        }
        let bloom = footer.filter.and_then(|h| read_filter(&map, &file, h).ok());
        let range_dels = match range_del {
            Some(handle) => read_range_dels(&map, &file, handle, footer.properties.offset)?,
            None => FragmentedRangeTombstones::default(),
        };
        let summaries = (0..index.len().div_ceil(CHUNK))
            .map(|_| OnceLock::new())
            .collect();
        let verified = (0..index.len())
            .map(|_| AtomicU8::new(UNVERIFIED))
            .collect();
        let stored = match footer.version {
            1 => Stored::Plain,
            _ => Stored::AnyCompression,
        };
        let user = |k: &Option<crate::InternalKey>| {
            k.as_ref()
                .map(|k| k.as_ref().user_key.to_vec())
                .unwrap_or_default()
        };
        let windows = KeyWindows::spanning(
            &user(&properties.smallest_key),
            &user(&properties.largest_key),
        );
        let inner = Inner {
            map,
            file,
            index,
            bloom,
            range_dels,
            footer,
            properties,
            windows,
            summaries,
            verified,
            stored,
            cache_id: cache::new_table_id(),
            compressed_seen: AtomicBool::new(false),
            summary_bytes: AtomicUsize::new(0),
            budget,
        };
        Ok(Table {
            inner: Arc::new(inner),
            global_seqno: None,
        })
    }

    /// This table, every entry of it read as if written with sequence number `seqno`:
    /// how the engine gives an ingested table, written with sequence number 0, its
    /// place in the order of writes without rewriting it (RocksDB's "global sequence
    /// number"). Keys, lookups and cursors all report `seqno`; a lookup at an older
    /// snapshot finds nothing.
    ///
    /// Requires (checked by the engine before ingesting, `quickcache::Db::ingest`):
    /// every entry has sequence number 0, each user key occurs once and there is no
    /// range tombstone, so the table's order is the same under either number.
    ///
    /// # Examples
    /// ```
    /// use quickcache_fs::SimFs;
    /// use quickcache_sstable::{SeqNo, Table, TableBuilder, TableOptions};
    ///
    /// let fs = SimFs::new(1);
    /// let mut builder = TableBuilder::new(&fs, "/a.sst".as_ref(), TableOptions::default())?;
    /// builder.add_plain(b"k", b"v")?;
    /// builder.finish()?;
    /// let seq = |n| SeqNo::new(n).unwrap();
    /// let table = Table::open(&fs, "/a.sst".as_ref())?.with_global_seqno(seq(7));
    /// assert_eq!(table.get(b"k", seq(7))?.unwrap().seqno, seq(7));
    /// assert_eq!(table.get(b"k", seq(6))?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_global_seqno(self, seqno: SeqNo) -> Table {
        Table {
            global_seqno: Some(seqno),
            ..self
        }
    }

    /// The sequence number every entry reads with, if one was set by
    /// [`Table::with_global_seqno`].
    pub fn global_seqno(&self) -> Option<SeqNo> {
        self.global_seqno
    }

    /// The table's file, as given when opening.
    pub fn path(&self) -> &Path {
        &self.inner.file
    }

    /// The table's size in bytes.
    pub fn file_size(&self) -> u64 {
        self.inner.map.len() as u64
    }

    /// Counts, key range and sequence-number range, as written by the builder.
    pub fn properties(&self) -> &Properties {
        &self.inner.properties
    }

    /// Heap bytes this reader holds: the decoded index and the summaries of the data
    /// blocks read by lookups and seeks so far (in chunks of 64 blocks), as far as its
    /// [`SummaryBudget`] admitted them. The filter and
    /// the uncompressed data blocks are read in place from the mapping, so they are page
    /// cache the kernel may drop, not heap, and are not counted; decompressed blocks
    /// are counted by the [`BlockCache`](crate::BlockCache) that all tables of a budget share.
    pub fn memory_usage(&self) -> usize {
        let inner = &*self.inner;
        size_of::<Inner>()
            + inner.index.heap_bytes()
            + inner.windows.heap_bytes()
            + inner.summaries.len() * size_of::<OnceLock<Box<Chunk>>>()
            + inner.verified.len() * size_of::<AtomicU8>()
            + inner.summary_bytes.load(AtomicOrdering::Relaxed)
    }

    /// The table's range tombstones, fragmented (empty if it has none). [`Table::get`]
    /// already applies them; cursors do not (they show the stored entries), so a
    /// reader that merges tables applies them itself.
    pub fn range_tombstones(&self) -> &FragmentedRangeTombstones {
        &self.inner.range_dels
    }

    /// Whether the table has a usable bloom filter (false if it was written without
    /// one or the filter block is damaged; lookups are then slower but still right).
    pub fn has_filter(&self) -> bool {
        self.inner.bloom.is_some()
    }

    /// A cursor over every entry (the shared [`crate::Cursor`] protocol), initially
    /// invalid.
    pub fn cursor(&self) -> crate::TableCursor {
        crate::TableCursor::new(self.clone())
    }

    /// Every entry in internal-key order, as a double-ended std iterator.
    pub fn iter(&self) -> crate::Iter {
        crate::Iter::new(self)
    }

    /// The plain key → value view: for each user key its newest entry unless that is a
    /// tombstone, sequence numbers hidden; double-ended.
    pub fn iter_plain(&self) -> crate::PlainIter {
        crate::PlainIter::new(self)
    }

    /// How each data block is stored, in order, each block's checksum checked (a
    /// diagnostic: it reads every block's trailer).
    ///
    /// # Examples
    /// ```
    /// use quickcache_fs::SimFs;
    /// use quickcache_sstable::{Compression, Table, TableBuilder, TableOptions};
    ///
    /// let fs = SimFs::new(1);
    /// let path = std::path::Path::new("/t.sst");
    /// let options = TableOptions { compression: Compression::Zstd, ..TableOptions::default() };
    /// let mut builder = TableBuilder::new(&fs, path, options)?;
    /// builder.add_plain(b"json", br#"{"a":1,"a":1,"a":1,"a":1,"a":1,"a":1,"a":1,"a":1}"#)?;
    /// builder.add_plain(b"noise", b"\x8f\x02")?;
    /// builder.finish()?;
    /// let table = Table::open(&fs, path)?;
    /// assert_eq!(table.data_block_compression()?, [Compression::Zstd]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn data_block_compression(&self) -> Result<Vec<Compression>> {
        let inner = &*self.inner;
        let limit = data_end_limit(&inner.footer);
        (0..inner.index.len())
            .map(|i| {
                let handle = inner.index.handle(i);
                let id = BlockId::Data(i);
                check_block(&inner.map, handle, limit, &inner.file, id, inner.stored)
                    .map(|(_, kind)| kind)
            })
            .collect()
    }

    /// Number of data blocks.
    pub(crate) fn block_count(&self) -> usize {
        self.inner.index.len()
    }

    pub(crate) fn map(&self) -> &Mapping {
        &self.inner.map
    }

    pub(crate) fn file(&self) -> &Arc<Path> {
        &self.inner.file
    }

    pub(crate) fn index(&self) -> &Index {
        &self.inner.index
    }

    /// The bytes and layout of data block `i`, its checksum verified unless that was
    /// done before: the map itself for a block stored uncompressed (zero-copy), its
    /// decompressed contents otherwise, from the cache or decompressed now and cached.
    /// Requires: `i < block_count()`.
    pub(super) fn block(&self, i: usize) -> Result<(Cow<'_, Mapping>, BlockLayout)> {
        self.block_filling(i, true)
    }

    /// [`Table::block`]; a block decompressed now is cached only if `fill_cache`
    /// (scans, compactions' above all, read each block once: they would only push
    /// out the blocks that lookups reuse).
    pub(super) fn block_filling(
        &self,
        i: usize,
        fill_cache: bool,
    ) -> Result<(Cow<'_, Mapping>, BlockLayout)> {
        let inner = &*self.inner;
        let (range, kind) = self.verified(i)?;
        if kind == Compression::None {
            let id = BlockId::Data(i);
            let layout = BlockLayout::parse(&inner.map, range.start, range.len(), &inner.file, id)?;
            return Ok((Cow::Borrowed(&inner.map), layout));
        }
        let raw = self.decompressed(i, kind, range, fill_cache)?;
        let id = BlockId::Decompressed {
            block: i,
            at: inner.index.handle(i).offset,
        };
        let layout = BlockLayout::parse(&raw, 0, raw.len(), &inner.file, id)?;
        Ok((Cow::Owned(raw), layout))
    }

    /// The range of data block `i`'s stored contents in the map and how they are
    /// stored, its checksum verified unless that was done before.
    /// Requires: `i < block_count()`.
    pub(super) fn verified(&self, i: usize) -> Result<(Range<usize>, Compression)> {
        let inner = &*self.inner;
        let handle = inner.index.handle(i);
        // Relaxed: the state publishes no data, the mapped bytes never change.
        let state = inner.verified[i].load(AtomicOrdering::Relaxed);
        if let Some(kind) = Compression::from_byte(state) {
            // `check_block` returned this very range before.
            let start = handle.offset as usize;
            return Ok((start..start + handle.size as usize, kind));
        }
        let limit = data_end_limit(&inner.footer);
        let id = BlockId::Data(i);
        let (range, kind) = check_block(&inner.map, handle, limit, &inner.file, id, inner.stored)?;
        if kind != Compression::None {
            inner.compressed_seen.store(true, AtomicOrdering::Relaxed);
        }
        inner.verified[i].store(kind as u8, AtomicOrdering::Relaxed);
        Ok((range, kind))
    }

    /// The decompressed contents of data block `i`, stored compressed: from the cache,
    /// or decompressed and cached. Requires: `i < block_count()`, the block is stored
    /// compressed (else an error).
    pub(super) fn cached_block(&self, i: usize) -> Result<Mapping> {
        let (range, kind) = self.verified(i)?;
        self.decompressed(i, kind, range, true)
    }

    /// The decompressed contents of data block `i`, stored as `kind` at `range` of the
    /// map (checksum verified): from the cache, or decompressed and cached.
    fn decompressed(
        &self,
        i: usize,
        kind: Compression,
        range: Range<usize>,
        fill_cache: bool,
    ) -> Result<Mapping> {
        let inner = &*self.inner;
        let cache = inner.budget.block_cache();
        let key = (inner.cache_id, i);
        if let Some(raw) = cache.get(key) {
            return Ok(raw);
        }
        let raw = decompress_block(&inner.map, &inner.file, i, kind, range)?;
        Ok(match fill_cache {
            true => cache.insert(key, raw),
            false => raw,
        })
    }

    /// The footer, for `verify`.
    pub(crate) fn footer(&self) -> &Footer {
        &self.inner.footer
    }

    /// Which compression types the data blocks may have, for `verify`.
    pub(crate) fn stored(&self) -> Stored {
        self.inner.stored
    }
}

/// Decompresses data block `i` of `map`, stored as `kind` at `range`; errors name the
/// file and the offset of the block's stored contents.
pub(crate) fn decompress_block(
    map: &Mapping,
    file: &Path,
    i: usize,
    kind: Compression,
    range: Range<usize>,
) -> Result<Mapping> {
    let start = range.start as u64;
    let stored = map.get(range).unwrap_or_default();
    match decompress(kind, stored) {
        Ok(raw) => Ok(Mapping::from_vec(raw)),
        Err(e) => Err(wire_corruption(file, BlockId::Data(i), start, e)),
    }
}

/// Where the data and metadata blocks must end: at the footer.
fn data_end_limit(footer: &Footer) -> u64 {
    footer.properties.end().unwrap_or(0)
}

/// The footer and its offset.
fn read_footer(map: &[u8], file: &Path) -> Result<(Footer, u64)> {
    let at = map.len().checked_sub(FOOTER_LEN).ok_or_else(|| {
        corruption(
            file,
            BlockId::File,
            0,
            format!("{} bytes are too short for a table footer", map.len()),
        )
    })?;
    let footer = Footer::decode(&map[at..], at as u64).map_err(|e| match e {
        FooterError::Wire(w) => wire_corruption(file, BlockId::Footer, at as u64, w),
        FooterError::Checksum { expected, actual } => {
            checksum_mismatch(file, BlockId::Footer, at as u64, expected, actual)
        }
    })?;
    Ok((footer, at as u64))
}

/// Checks that data, filter, index, range-deletion and properties blocks follow each
/// other and end at the footer; returns where the data blocks end and the handle of
/// the range-deletion block, if there is one.
///
/// The footer has no handle for the range-deletion block: from version 3 it is the
/// gap between the end of the index block and the properties block (none if they
/// touch), which keeps the footer's layout unchanged.
fn check_layout(
    footer: &Footer,
    footer_at: u64,
    file: &Path,
) -> Result<(u64, Option<BlockHandle>)> {
    let mut blocks = vec![footer.index];
    if let Some(filter) = footer.filter {
        blocks.insert(0, filter);
    }
    let bad = |reason: &str| corruption(file, BlockId::Footer, footer.index.offset, reason);
    let index_end = footer
        .index
        .end()
        .ok_or_else(|| bad("index handle overflows"))?;
    let range_del = match footer.properties.offset.checked_sub(index_end) {
        Some(0) => None,
        Some(gap) if footer.version >= RANGE_DEL_VERSION && gap > BLOCK_TRAILER_LEN as u64 => {
            Some(BlockHandle {
                offset: index_end,
                size: gap - BLOCK_TRAILER_LEN as u64,
            })
        }
        _ => return Err(bad("metadata block handles are not adjacent")),
    };
    let adjacent = blocks.windows(2).all(|w| w[0].end() == Some(w[1].offset));
    if !adjacent || footer.properties.end() != Some(footer_at) {
        return Err(bad("metadata block handles are not adjacent"));
    }
    Ok((blocks[0].offset, range_del))
}

/// The range tombstones of the range-deletion block at `handle`, which must end
/// before `limit`.
fn read_range_dels(
    map: &Mapping,
    file: &Path,
    handle: BlockHandle,
    limit: u64,
) -> Result<FragmentedRangeTombstones> {
    let (range, _) = check_block(map, handle, limit, file, BlockId::RangeDel, Stored::Plain)?;
    range_del_block::decode(&map[range.clone()])
        .map_err(|e| wire_corruption(file, BlockId::RangeDel, range.start as u64, e))
}

fn read_properties(map: &Mapping, file: &Path, handle: BlockHandle) -> Result<Properties> {
    let limit = map.len().saturating_sub(FOOTER_LEN) as u64;
    let (range, _) = check_block(map, handle, limit, file, BlockId::Properties, Stored::Plain)?;
    Properties::decode(&map[range.clone()])
        .map_err(|e| wire_corruption(file, BlockId::Properties, range.start as u64, e))
}

/// The filter at `handle`, if it passes its checksum and parses.
pub(crate) fn read_filter(map: &Mapping, file: &Path, handle: BlockHandle) -> Result<Bloom> {
    let limit = map.len().saturating_sub(FOOTER_LEN) as u64;
    let (range, _) = check_block(map, handle, limit, file, BlockId::Filter, Stored::Plain)?;
    let start = range.start as u64;
    Bloom::parse(map, range).map_err(|e| wire_corruption(file, BlockId::Filter, start, e))
}
