//! `TableBuilder`: writes a table from entries given in order.
//!
//! The table format (specified in `docs/format/sstable.md`):
//!
//! ```text
//! +--------------+-----+------------------+--------------+-------------+-----------------+------------------+--------+
//! | data block 0 | ... | data block n - 1 | filter block | index block | range-del block | properties block | footer |
//! +--------------+-----+------------------+--------------+-------------+-----------------+------------------+--------+
//!                                          (optional)                   (optional, v3+)
//!  each block = contents | compression u8 | checksum u64 LE                       footer: 72 bytes
//!  compression: 1 = none, 2 = lz4, 3 = zstd (data blocks only; metadata blocks are 1)
//!  compressed contents = raw length varint32 | lz4 block or zstd frame of the raw contents
//!  checksum   = xxh3_64_with_seed(stored contents ++ compression byte, seed = block's offset)
//!
//! data / index block contents:
//! | entry 0 | ... | entry k - 1 | restart offsets u32 LE ... | restart count u32 LE |
//! entry = shared varint32 | unshared varint32 | value len varint32 | key[shared..] | value
//!         keys are encoded internal keys: user key | u64 LE (seqno << 8 | kind)
//! index entry value = data block offset varint64 | size varint64
//!
//! filter block contents:  | 64-byte lines ... | line count u32 | probe count u8 | kind u8 = 1 |
//! range-del contents:    fragment count u32, then per fragment:
//!                         start len varint32 | start | end len varint32 | end |
//!                         stack len varint32 | seqno u64 LE x stack len (descending)
//!                         (no footer handle: it is the gap between index and properties)
//! properties contents:    version u32, 7 x u64 counters and seqnos, 2 x (u32 len, key)
//! footer:  index, filter, properties handles (offset u64, size u64 each) | version u32 |
//!          reserved u32 | checksum u64 (seed = footer offset) | magic 89 'QCSST' CR LF
//! ```
//!
//! Bytes are gathered in a buffer and appended to the file in large pieces; `finish`
//! writes the metadata, syncs and closes the file. After any failed write the builder
//! is poisoned: the file's contents are unknown and it must be deleted.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use quickcache_fs::{FileSystem, WritableFile};
use snafu::ResultExt;

use crate::block::builder::BlockBuilder;
use crate::block::cursor::cmp_encoded_to;
use crate::bloom::BloomBuilder;
use crate::compression::compress;
use crate::error::{
    EntryTooLargeSnafu, FsSnafu, InvalidOptionSnafu, MissingExpirySnafu, OutOfOrderSnafu,
    PoisonedSnafu,
};
use crate::footer::{FORMAT_VERSION, Footer};
use crate::handle::{BlockHandle, append_trailer};
use crate::index::separator;
use crate::range_del::block as range_del_block;
use crate::table::gate::CompressionGate;
use crate::{
    Compression, FragmentedRangeTombstones, InternalKey, KeyRef, Properties, RangeTombstone,
    Result, SeqNo, TRAILER_LEN, ValueKind,
};

/// Bytes gathered before they are appended to the file.
const WRITE_CHUNK: usize = 256 * 1024;

/// How a table is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOptions {
    /// Target size of a data block's contents in bytes (a block is closed once it
    /// reaches this size). Default 4096.
    pub block_size: usize,
    /// Entries between restart points in data blocks. Default 16.
    pub restart_interval: usize,
    /// Bloom filter bits per distinct user key; 0 writes no filter. Default 10.
    pub bloom_bits_per_key: usize,
    /// How data blocks are compressed. A block that would not shrink by an eighth is
    /// stored uncompressed whatever this says. While nearly every recent block failed
    /// to shrink, only one block in sixteen tries (data that does not compress then
    /// costs almost no compression time); one that shrinks makes every block try
    /// again. Default [`Compression::None`].
    pub compression: Compression,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_size: 4096,
            restart_interval: 16,
            bloom_bits_per_key: 10,
            compression: Compression::None,
        }
    }
}

impl TableOptions {
    fn check(&self) -> Result<()> {
        if self.block_size == 0 || self.block_size > 1 << 30 {
            return InvalidOptionSnafu {
                option: "block_size",
                reason: "must be in 1..=1 GiB",
            }
            .fail();
        }
        if self.restart_interval == 0 || self.restart_interval > 1 << 16 {
            return InvalidOptionSnafu {
                option: "restart_interval",
                reason: "must be in 1..=65536",
            }
            .fail();
        }
        if self.bloom_bits_per_key > 64 {
            return InvalidOptionSnafu {
                option: "bloom_bits_per_key",
                reason: "must be at most 64",
            }
            .fail();
        }
        Ok(())
    }
}

/// What a finished table holds, returned by [`TableBuilder::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableMeta {
    /// The table's size in bytes (to be checked on open by whoever records it).
    pub file_size: u64,
    /// Counts, key range and sequence-number range of the entries (range tombstones
    /// not included).
    pub properties: Properties,
    /// The range tombstones written to the range-deletion block, fragmented.
    pub range_tombstones: FragmentedRangeTombstones,
}

impl TableMeta {
    /// The smallest internal key the table covers: its smallest entry, or the start
    /// of its first range tombstone (as `(start, SeqNo::MAX)`, before every entry of
    /// that user key) if that is smaller. `None` for an empty table.
    pub fn smallest(&self) -> Option<InternalKey> {
        let point = self.properties.smallest_key.clone();
        let range = (self.range_tombstones.bounds())
            .map(|(start, _)| InternalKey::new(start, SeqNo::MAX, ValueKind::Tombstone));
        [point, range].into_iter().flatten().min()
    }

    /// The largest internal key the table covers: its largest entry, or the end of
    /// its last range tombstone (as `(end, SeqNo::MAX)`: the end is exclusive, and this
    /// sorts before every entry of that user key) if that is larger.
    pub fn largest(&self) -> Option<InternalKey> {
        let point = self.properties.largest_key.clone();
        let range = (self.range_tombstones.bounds())
            .map(|(_, end)| InternalKey::new(end, SeqNo::MAX, ValueKind::Tombstone));
        [point, range].into_iter().flatten().max()
    }

    /// The smallest and largest sequence numbers of entries and range tombstones.
    pub fn seqno_range(&self) -> Option<(SeqNo, SeqNo)> {
        let p = &self.properties;
        let point = (p.entry_count > 0).then_some((p.smallest_seqno, p.largest_seqno));
        let range = self.range_tombstones.seqno_range();
        match (point, range) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (one, other) => one.or(other),
        }
    }
}

/// Writes one table. Entries must be added in strictly increasing internal-key order.
#[derive(Debug)]
pub struct TableBuilder {
    file: Option<Box<dyn WritableFile>>,
    path: PathBuf,
    options: TableOptions,
    data: BlockBuilder,
    index: BlockBuilder,
    bloom: Option<BloomBuilder>,
    /// Bytes not yet appended to the file; `out[0]` lies at file offset `flushed`.
    out: Vec<u8>,
    flushed: u64,
    /// The previous key, encoded (empty before the first entry).
    last_key: Vec<u8>,
    first_key: Vec<u8>,
    /// Scratch for the next block's first key and for handles.
    scratch: Vec<u8>,
    /// The separator of the last finished block.
    separator: Vec<u8>,
    /// A finished data block still waiting for its index entry.
    pending: Option<BlockHandle>,
    /// Range tombstones added so far, fragmented at `finish`.
    range_dels: Vec<RangeTombstone>,
    props: Properties,
    /// Stops compressing blocks while they keep not shrinking.
    gate: CompressionGate,
    /// Calls of `compress`, for the gate's wiring test.
    #[cfg(test)]
    compress_calls: u64,
    poisoned: bool,
}

impl TableBuilder {
    /// Creates (or truncates) the file `path` on the real disk and starts a table in
    /// it: [`TableBuilder::new`] without naming a file system. The table is synced
    /// when [`TableBuilder::finish`] returns (sync the directory yourself if the new
    /// name must survive a power loss: [`crate::fs::RealFs`]'s `sync_dir`).
    ///
    /// # Errors
    /// The file could not be created.
    pub fn create(path: impl AsRef<Path>, options: TableOptions) -> Result<TableBuilder> {
        TableBuilder::new(&crate::fs::RealFs::new(), path.as_ref(), options)
    }

    /// Creates (or truncates) `path` on `fs` and starts a table in it.
    pub fn new(fs: &dyn FileSystem, path: &Path, options: TableOptions) -> Result<TableBuilder> {
        options.check()?;
        let file = fs.create(path).context(FsSnafu)?;
        let bloom =
            (options.bloom_bits_per_key > 0).then(|| BloomBuilder::new(options.bloom_bits_per_key));
        Ok(TableBuilder {
            file: Some(file),
            path: path.to_path_buf(),
            data: BlockBuilder::new(options.restart_interval),
            index: BlockBuilder::new(1),
            bloom,
            out: Vec::with_capacity(WRITE_CHUNK + options.block_size * 2),
            flushed: 0,
            last_key: Vec::new(),
            first_key: Vec::new(),
            scratch: Vec::new(),
            separator: Vec::new(),
            pending: None,
            range_dels: Vec::new(),
            props: Properties {
                format_version: FORMAT_VERSION,
                ..Properties::default()
            },
            gate: CompressionGate::default(),
            #[cfg(test)]
            compress_calls: 0,
            poisoned: false,
            options,
        })
    }

    /// Adds an entry. `key` must sort strictly after the previous key
    /// ([`crate::Error::OutOfOrder`] otherwise, and the builder stays usable).
    pub fn add(&mut self, key: KeyRef<'_>, value: &[u8]) -> Result<()> {
        self.check_entry(key, value)?;
        if let Some(handle) = self.pending.take() {
            self.add_index_entry(handle, Some(key));
        }
        let new_user_key = self.props.entry_count == 0 || self.last_user_key() != key.user_key;
        if new_user_key && let Some(bloom) = &mut self.bloom {
            bloom.add_key(key.user_key);
        }
        self.last_key.clear();
        key.encode_into(&mut self.last_key);
        if self.props.entry_count == 0 {
            self.first_key.clone_from(&self.last_key);
        }
        self.data.add(&self.last_key, value);
        self.count(key, value);
        if self.data.estimated_size() >= self.options.block_size {
            self.finish_data_block()?;
        }
        Ok(())
    }

    /// Adds a plain key → value entry for tables that do not use sequence numbers: it
    /// is stored with sequence number 0 as a value. Keys must strictly increase.
    pub fn add_plain(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.add(KeyRef::new(key, SeqNo::ZERO, ValueKind::Value), value)
    }

    /// Adds a range tombstone `[start, end) @ seqno` to the table's range-deletion
    /// block; any order, overlaps allowed (they are fragmented when the table is
    /// finished). An empty range (`start >= end`) is ignored.
    pub fn add_range_tombstone(&mut self, tombstone: RangeTombstone) -> Result<()> {
        if self.poisoned {
            return PoisonedSnafu { file: &self.path }.fail();
        }
        for key in [&tombstone.start, &tombstone.end] {
            if key.len() > u32::MAX as usize {
                return EntryTooLargeSnafu {
                    what: "range tombstone key",
                    len: key.len(),
                }
                .fail();
            }
        }
        self.range_dels.push(tombstone);
        Ok(())
    }

    /// Number of entries added so far.
    pub fn entry_count(&self) -> u64 {
        self.props.entry_count
    }

    /// The size the file has reached so far, data still buffered included; the
    /// metadata `finish` writes comes on top.
    pub fn estimated_file_size(&self) -> u64 {
        self.flushed + (self.out.len() + self.data.estimated_size()) as u64
    }

    fn check_entry(&self, key: KeyRef<'_>, value: &[u8]) -> Result<()> {
        if self.poisoned {
            return PoisonedSnafu { file: &self.path }.fail();
        }
        if key.encoded_len() > u32::MAX as usize {
            return EntryTooLargeSnafu {
                what: "key",
                len: key.user_key.len(),
            }
            .fail();
        }
        if value.len() > u32::MAX as usize {
            return EntryTooLargeSnafu {
                what: "value",
                len: value.len(),
            }
            .fail();
        }
        if key.kind == ValueKind::ExpiringValue && value.len() < crate::EXPIRY_LEN {
            return MissingExpirySnafu { len: value.len() }.fail();
        }
        if self.props.entry_count > 0 && cmp_encoded_to(&self.last_key, key) != Some(Ordering::Less)
        {
            let previous = KeyRef::decode(&self.last_key).map(|k| k.to_owned());
            let previous = previous.unwrap_or_else(|| key.to_owned());
            return OutOfOrderSnafu {
                previous,
                key: key.to_owned(),
            }
            .fail();
        }
        Ok(())
    }

    fn last_user_key(&self) -> &[u8] {
        &self.last_key[..self.last_key.len().saturating_sub(TRAILER_LEN)]
    }

    fn count(&mut self, key: KeyRef<'_>, value: &[u8]) {
        let p = &mut self.props;
        if p.entry_count == 0 {
            (p.smallest_seqno, p.largest_seqno) = (key.seqno, key.seqno);
        }
        p.entry_count += 1;
        p.tombstone_count += u64::from(key.kind == ValueKind::Tombstone);
        p.raw_key_bytes += key.user_key.len() as u64;
        p.raw_value_bytes += value.len() as u64;
        p.smallest_seqno = p.smallest_seqno.min(key.seqno);
        p.largest_seqno = p.largest_seqno.max(key.seqno);
    }

    /// Adds the index entry of the block at `handle`, whose last key is `last_key`;
    /// `next` is the first key of the following block, if any.
    fn add_index_entry(&mut self, handle: BlockHandle, next: Option<KeyRef<'_>>) {
        match next {
            Some(next) => {
                self.scratch.clear();
                next.encode_into(&mut self.scratch);
                separator(&self.last_key, &self.scratch, &mut self.separator);
            }
            None => self.separator.clone_from(&self.last_key),
        }
        self.scratch.clear();
        handle.encode_varints(&mut self.scratch);
        self.index.add(&self.separator, &self.scratch);
    }

    fn finish_data_block(&mut self) -> Result<()> {
        let start = self.out.len();
        let raw = self.data.finish();
        let try_it = self.options.compression != Compression::None && self.gate.should_try();
        let compressed = try_it && compress(self.options.compression, raw, &mut self.out);
        if try_it {
            self.gate.record(compressed);
            #[cfg(test)]
            {
                self.compress_calls += 1;
            }
        }
        let kind = match compressed {
            true => self.options.compression,
            false => {
                self.out.extend_from_slice(raw);
                Compression::None
            }
        };
        self.data.reset();
        self.pending = Some(seal(&mut self.out, start, self.flushed, kind));
        self.props.data_block_count += 1;
        if self.out.len() >= WRITE_CHUNK {
            self.write_out()?;
        }
        Ok(())
    }

    /// Data blocks finished and compression attempts made so far.
    #[cfg(test)]
    pub(crate) fn blocks_and_tries(&self) -> (u64, u64) {
        (self.props.data_block_count, self.compress_calls)
    }

    /// Appends the buffered bytes to the file; a failure poisons the builder.
    fn write_out(&mut self) -> Result<()> {
        let Some(file) = self.file.as_mut().filter(|_| !self.poisoned) else {
            return PoisonedSnafu { file: &self.path }.fail();
        };
        if let Err(e) = file.append(&self.out) {
            self.poisoned = true;
            return Err(e).context(FsSnafu);
        }
        self.flushed += self.out.len() as u64;
        self.out.clear();
        Ok(())
    }

    /// Writes the last data block, the filter, index and properties blocks and the
    /// footer, then syncs and closes the file. The caller still has to sync the
    /// directory before the table's name is durable.
    pub fn finish(self) -> Result<TableMeta> {
        self.finish_with(true)
    }

    /// [`TableBuilder::finish`] without the sync: for scratch tables that a crash may
    /// lose (a bulk load's sorted runs), where the sync would only cost time.
    pub fn finish_unsynced(self) -> Result<TableMeta> {
        self.finish_with(false)
    }

    fn finish_with(mut self, sync: bool) -> Result<TableMeta> {
        if self.poisoned {
            return PoisonedSnafu { file: &self.path }.fail();
        }
        if !self.data.is_empty() {
            self.finish_data_block()?;
        }
        if let Some(handle) = self.pending.take() {
            self.add_index_entry(handle, None);
        }
        let filter = self.bloom.as_ref().map(|bloom| {
            let start = self.out.len();
            bloom.finish(&mut self.out);
            seal(&mut self.out, start, self.flushed, Compression::None)
        });
        let start = self.out.len();
        self.out.extend_from_slice(self.index.finish());
        let index = seal(&mut self.out, start, self.flushed, Compression::None);
        let range_tombstones = FragmentedRangeTombstones::new(std::mem::take(&mut self.range_dels));
        if !range_tombstones.is_empty() {
            // Located by the gap it leaves between index and properties: no handle.
            let start = self.out.len();
            range_del_block::encode(&range_tombstones, &mut self.out);
            seal(&mut self.out, start, self.flushed, Compression::None);
        }
        self.props.smallest_key = KeyRef::decode(&self.first_key).map(|k| k.to_owned());
        self.props.largest_key = KeyRef::decode(&self.last_key).map(|k| k.to_owned());
        let start = self.out.len();
        self.props.encode(&mut self.out);
        let properties = seal(&mut self.out, start, self.flushed, Compression::None);
        let footer_offset = self.flushed + self.out.len() as u64;
        Footer {
            version: FORMAT_VERSION,
            index,
            filter,
            properties,
        }
        .encode(footer_offset, &mut self.out);
        self.write_out()?;
        self.sync_and_close(sync)?;
        Ok(TableMeta {
            file_size: self.flushed,
            properties: self.props,
            range_tombstones,
        })
    }

    fn sync_and_close(&mut self, sync: bool) -> Result<()> {
        let Some(mut file) = self.file.take() else {
            return PoisonedSnafu { file: &self.path }.fail();
        };
        if sync {
            file.sync_all().context(FsSnafu)?;
        }
        file.close().context(FsSnafu)
    }
}

/// Appends the trailer of the block whose contents, stored as `kind` says, start at
/// `out[start..]` and returns its handle; `out[0]` lies at file offset `flushed`.
fn seal(out: &mut Vec<u8>, start: usize, flushed: u64, kind: Compression) -> BlockHandle {
    let offset = flushed + start as u64;
    let size = (out.len() - start) as u64;
    append_trailer(out, start, offset, kind);
    BlockHandle { offset, size }
}
