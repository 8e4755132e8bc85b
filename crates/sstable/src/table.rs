//! `Table`: an open, immutable table read through a map of its file.
//!
//! Opening checks the footer, the layout of the blocks, the properties and the index,
//! and keeps the decoded index in memory; the filter and data blocks are read in place
//! from the map. Each data block's checksum is verified before its first use (a
//! verified bit per block remembers it); [`Table::verify`] checks the whole file.
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
//! method takes `&self`. The verified bits are atomics: two threads may both verify a
//! block the first time, which is harmless since the bytes never change.

pub(crate) mod builder;
pub(crate) mod cursor;
pub(crate) mod iter;
mod verify;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use quickcache_fs::{FileSystem, Mapping};
use snafu::ResultExt;

use crate::block::{BlockLayout, seek};
use crate::bloom::{Bloom, key_hash};
use crate::error::FsSnafu;
use crate::footer::{FOOTER_LEN, Footer, FooterError};
use crate::handle::{BLOCK_TRAILER_LEN, BlockHandle, check_block};
use crate::index::Index;
use crate::origin::{BlockId, checksum_mismatch, corruption, wire_corruption};
use crate::{Entry, KeyRef, Properties, Result, SeqNo, ValueRef};

thread_local! {
    /// Scratch space for the keys `Table::get` decodes, reused across calls.
    static KEY_BUF: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// An open table. See the module documentation for the SIGBUS hazard of mapped files.
#[derive(Debug, Clone)]
pub struct Table {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    map: Mapping,
    file: Arc<Path>,
    index: Index,
    /// `None` without a filter, or when the filter failed its checks (then every
    /// lookup goes to the index: a damaged filter never answers "not found").
    bloom: Option<Bloom>,
    footer: Footer,
    properties: Properties,
    /// One bit per data block: checksum already verified.
    verified: Box<[AtomicU64]>,
}

impl Table {
    /// Opens the table at `path` through `fs`'s read-only map.
    pub fn open(fs: &dyn FileSystem, path: &Path) -> Result<Table> {
        let map = fs.map(path).context(FsSnafu)?;
        Table::from_mapping(map, path)
    }

    /// Opens a table from bytes already mapped (or held in memory); `path` names it in
    /// errors.
    pub fn from_mapping(map: Mapping, path: impl Into<PathBuf>) -> Result<Table> {
        let file: Arc<Path> = Arc::from(path.into());
        let (footer, footer_at) = read_footer(&map, &file)?;
        let data_end = check_layout(&footer, footer_at, &file)?;
        let properties = read_properties(&map, &file, footer.properties)?;
        let range = check_block(
            &map,
            footer.index,
            data_end_limit(&footer),
            &file,
            BlockId::Index,
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
        let verified = (0..index.len().div_ceil(64))
            .map(|_| AtomicU64::new(0))
            .collect();
        let inner = Inner {
            map,
            file,
            index,
            bloom,
            footer,
            properties,
            verified,
        };
        Ok(Table {
            inner: Arc::new(inner),
        })
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

    /// Heap bytes this reader holds: the decoded index and the verified-block bits.
    /// The filter and the data blocks are read in place from the mapping, so they
    /// are page cache the kernel may drop, not heap, and are not counted.
    pub fn memory_usage(&self) -> usize {
        size_of::<Inner>()
            + self.inner.index.heap_bytes()
            + self.inner.verified.len() * size_of::<AtomicU64>()
    }

    /// Whether the table has a usable bloom filter (false if it was written without
    /// one or the filter block is damaged; lookups are then slower but still right).
    pub fn has_filter(&self) -> bool {
        self.inner.bloom.is_some()
    }

    /// The newest entry of `user_key` with a sequence number `<= snapshot`, tombstones
    /// included; `None` if the table has no such entry.
    pub fn get(&self, user_key: &[u8], snapshot: SeqNo) -> Result<Option<Entry>> {
        let inner = &*self.inner;
        if let Some(bloom) = &inner.bloom
            && !bloom.may_contain(&inner.map, key_hash(user_key))
        {
            return Ok(None);
        }
        // A per-thread key buffer: lookups allocate nothing in the steady state.
        let mut key = KEY_BUF.take();
        let result = self.search(user_key, snapshot, &mut key);
        KEY_BUF.set(key);
        result
    }

    /// The index and block search of `get`, past the filter; `key` is scratch space.
    fn search(&self, user_key: &[u8], snapshot: SeqNo, key: &mut Vec<u8>) -> Result<Option<Entry>> {
        let inner = &*self.inner;
        let target = KeyRef::lookup(user_key, snapshot);
        let data: &[u8] = &inner.map;
        for i in inner.index.find(target)..inner.index.len() {
            touch_block(data, inner.index.handle(i));
            let layout = self.block_layout(i)?;
            let Some(found) = seek::seek(data, &layout, &inner.file, target, key)? else {
                // Target lies after this block's last key: the answer can only start the next.
                continue;
            };
            // The first entry >= target: ours iff it has the same user key.
            return Ok(KeyRef::decode(key)
                .filter(|k| k.user_key == user_key)
                .map(|k| Entry {
                    seqno: k.seqno,
                    kind: k.kind,
                    value: ValueRef::new(inner.map.clone(), found.value_start, found.value_len),
                }));
        }
        Ok(None)
    }

    /// Plain-table lookup: the newest value of `key`, or `None` if it is absent or its
    /// newest entry is a tombstone. Sequence numbers stay hidden.
    pub fn get_plain(&self, key: &[u8]) -> Result<Option<ValueRef>> {
        Ok(self.get(key, SeqNo::MAX)?.and_then(Entry::into_value))
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

    /// The layout of data block `i`, its checksum verified on first use.
    /// Requires: `i < block_count()`.
    pub(crate) fn block_layout(&self, i: usize) -> Result<BlockLayout> {
        let inner = &*self.inner;
        let handle = inner.index.handle(i);
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        let verified = inner.verified[word].load(AtomicOrdering::Relaxed) & bit != 0;
        // The index checked every handle to lie inside the data region at open.
        let (start, len) = (handle.offset as usize, handle.size as usize);
        if !verified {
            check_block(
                &inner.map,
                handle,
                data_end_limit(&inner.footer),
                &inner.file,
                BlockId::Data(i),
            )?;
            inner.verified[word].fetch_or(bit, AtomicOrdering::Relaxed);
        }
        BlockLayout::parse(&inner.map, start, len, &inner.file, BlockId::Data(i))
    }

    /// Pulls every cache line of data block `i` into the cache in parallel (see
    /// [`touch_block`]). Requires: `i < block_count()`.
    pub(crate) fn touch_block(&self, i: usize) {
        let inner = &*self.inner;
        touch_block(&inner.map, inner.index.handle(i));
    }

    /// The footer, for `verify`.
    pub(crate) fn footer(&self) -> &Footer {
        &self.inner.footer
    }
}

/// Reads one byte of every cache line of the block at `handle`. The reads do not depend
/// on each other, so the CPU fetches all lines at once; decoding the block afterwards
/// (restart array at its end, restart keys, the scanned entries: a chain of dependent
/// reads) then hits the cache instead of waiting for memory at every step.
#[inline]
fn touch_block(data: &[u8], handle: BlockHandle) {
    let start = usize::try_from(handle.offset).unwrap_or(usize::MAX);
    let len = usize::try_from(handle.size)
        .unwrap_or(0)
        .saturating_add(BLOCK_TRAILER_LEN);
    let lines = data
        .get(start..start.saturating_add(len))
        .unwrap_or_default();
    let sum = lines.iter().step_by(64).fold(0u8, |acc, &b| acc ^ b);
    std::hint::black_box(sum);
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

/// Checks that data, filter, index and properties blocks follow each other and end at
/// the footer; returns where the data blocks end.
fn check_layout(footer: &Footer, footer_at: u64, file: &Path) -> Result<u64> {
    let mut blocks = vec![footer.index, footer.properties];
    if let Some(filter) = footer.filter {
        blocks.insert(0, filter);
    }
    let adjacent = blocks.windows(2).all(|w| w[0].end() == Some(w[1].offset));
    if !adjacent || footer.properties.end() != Some(footer_at) {
        return Err(corruption(
            file,
            BlockId::Footer,
            footer.index.offset,
            "metadata block handles are not adjacent",
        ));
    }
    Ok(blocks[0].offset)
}

fn read_properties(map: &Mapping, file: &Path, handle: BlockHandle) -> Result<Properties> {
    let limit = map.len().saturating_sub(FOOTER_LEN) as u64;
    let range = check_block(map, handle, limit, file, BlockId::Properties)?;
    Properties::decode(&map[range.clone()])
        .map_err(|e| wire_corruption(file, BlockId::Properties, range.start as u64, e))
}

/// The filter at `handle`, if it passes its checksum and parses.
pub(crate) fn read_filter(map: &Mapping, file: &Path, handle: BlockHandle) -> Result<Bloom> {
    let limit = map.len().saturating_sub(FOOTER_LEN) as u64;
    let range = check_block(map, handle, limit, file, BlockId::Filter)?;
    let start = range.start as u64;
    Bloom::parse(map, range).map_err(|e| wire_corruption(file, BlockId::Filter, start, e))
}
