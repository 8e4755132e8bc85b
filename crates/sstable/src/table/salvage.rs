//! `salvage`: reads every intact data block of a damaged table, skipping only the
//! blocks that fail their checks, for a repair to write the entries into a new table.
//!
//! Two ways to find the blocks:
//! - **By the index**, when the footer, index and properties blocks are intact (the
//!   table opens): each data block is checked on its own; a damaged one is skipped.
//! - **By scanning**, when they are not: data blocks tile the file from offset 0
//!   (`docs/format/sstable.md`), and a block ends where a compression byte and a
//!   checksum, seeded with the block's offset, match the bytes from its start. The
//!   scan finds each block's end in turn, up to where an intact footer says the data
//!   ends (or the end of the file). Where no block ends or a block does not read
//!   (damage), and an intact footer bounds the data, the scan looks for the next
//!   block start after the damage (see [`RESYNC_MIN`]) and goes on from there. Without
//!   a footer it stops at the first such place, and the rest is reported as skipped:
//!   there the damage cannot be told from the filter, index or properties block
//!   after the data, and an index block whose keys happen to continue the data's
//!   would be read as entries.

use std::cmp::Ordering;
use std::path::Path;
use std::sync::Arc;

use quickcache_fs::{FileSystem, Mapping};
use snafu::ResultExt;

use crate::block::BlockLayout;
use crate::block::cursor::BlockCursor;
use crate::error::FsSnafu;
use crate::handle::{BlockHandle, Stored, check_block};
use crate::origin::BlockId;
use crate::table::decompress_block;
use crate::{
    Compression, Cursor, InternalKey, KeyRef, RangeTombstone, Result, Table, compare_encoded,
};

/// The bytes of a block trailer: compression byte and checksum.
const TRAILER: u64 = 9;

/// After damage, the scan tries every offset up to four times the largest block read
/// so far past it (this many bytes before any block read) as the next block's
/// start, and looks for that block's end up to as far again. The cost is the square
/// of it in checksummed bytes (about 0.25 s per damaged block at 16 KiB, default
/// 4 KiB blocks); a block larger than that after damage is not found, and the rest
/// of the data is skipped.
const RESYNC_MIN: u64 = 16 << 10;

/// A part of a table that [`salvage`] could not read, and the keys around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRange {
    /// File offset where the unreadable part starts.
    pub offset: u64,
    /// Its length in bytes (trailer included).
    pub len: u64,
    /// Why it was skipped.
    pub reason: String,
    /// The last key salvaged before it (`None`: it starts the table's keys).
    pub after: Option<InternalKey>,
    /// The first key salvaged after it (`None`: it ends the table's keys).
    pub before: Option<InternalKey>,
}

/// What [`salvage`] read and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Salvage {
    /// Data blocks read whole.
    pub blocks: usize,
    /// Entries handed to the sink.
    pub entries: u64,
    /// Unreadable parts, in file order.
    pub skipped: Vec<SkippedRange>,
    /// Whether the blocks were found through the index (the table's metadata was
    /// intact) rather than by scanning.
    pub indexed: bool,
    /// The table's range tombstones (empty if it has none), or `None` if its
    /// range-deletion block, or the footer that locates it, could not be read: then
    /// keys the table's range deletes hid may read again from older tables.
    pub range_tombstones: Option<Vec<RangeTombstone>>,
}

/// Hands every entry of every intact data block of the table at `path` to `sink`, in
/// key order, and reports the blocks it skipped. Never panics on damaged bytes.
///
/// # Errors
/// The file cannot be read, or `sink` failed.
///
/// # Examples
/// ```
/// use quickcache_fs::SimFs;
/// use quickcache_sstable::{TableBuilder, TableOptions, salvage};
///
/// let fs = SimFs::new(1);
/// let mut builder = TableBuilder::new(&fs, "/a.sst".as_ref(), TableOptions::default())?;
/// builder.add_plain(b"k", b"v")?;
/// builder.finish()?;
/// let mut keys = Vec::new();
/// let report = salvage(&fs, "/a.sst".as_ref(), &mut |k, _| {
///     keys.push(k.user_key.to_vec());
///     Ok(())
/// })?;
/// assert_eq!((keys, report.skipped.len()), (vec![b"k".to_vec()], 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn salvage(
    fs: &dyn FileSystem,
    path: &Path,
    sink: &mut dyn FnMut(KeyRef<'_>, &[u8]) -> Result<()>,
) -> Result<Salvage> {
    let bytes = fs.read_file(path).context(FsSnafu)?;
    let map = Mapping::from_vec(bytes);
    let mut run = Run {
        file: Arc::from(path),
        report: Salvage::default(),
        last: None,
        entries: Vec::new(),
        largest_block: 0,
    };
    match Table::from_mapping(map.clone(), path) {
        Ok(table) => {
            run.by_index(&table, sink)?;
            run.report.range_tombstones = Some(table.range_tombstones().tombstones().collect());
        }
        Err(_) => {
            run.by_scan(&map, sink)?;
            run.report.range_tombstones = range_tombstones(&map, path);
        }
    }
    Ok(run.report)
}

/// The range tombstones of a table whose open failed, read on their own: the footer
/// and the block layout must check, and the range-deletion block its checksum.
fn range_tombstones(map: &Mapping, path: &Path) -> Option<Vec<RangeTombstone>> {
    let (footer, at) = super::read_footer(map, path).ok()?;
    let (_, handle) = super::check_layout(&footer, at, path).ok()?;
    let Some(handle) = handle else {
        return Some(Vec::new());
    };
    let limit = footer.properties.offset;
    let fragments = super::read_range_dels(map, path, handle, limit).ok()?;
    Some(fragments.tombstones().collect())
}

/// The state of one salvage.
struct Run {
    file: Arc<Path>,
    report: Salvage,
    /// The last key handed to the sink, encoded.
    last: Option<Vec<u8>>,
    /// Scratch: one block's entries, handed on only if the whole block reads.
    entries: Vec<(Vec<u8>, Vec<u8>)>,
    /// The largest block the scan has read whole (trailer included): sizes the
    /// search for the next block after damage.
    largest_block: u64,
}

impl Run {
    fn by_index(
        &mut self,
        table: &Table,
        sink: &mut dyn FnMut(KeyRef<'_>, &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.report.indexed = true;
        let limit = table.footer().properties.end().unwrap_or(0);
        for i in 0..table.block_count() {
            let handle = table.index().handle(i);
            let read = check_block(
                table.map(),
                handle,
                limit,
                &self.file,
                BlockId::Data(i),
                table.stored(),
            )
            .and_then(|(range, kind)| self.read_block(table.map(), i, handle, range, kind));
            self.finish_block(handle, read, sink)?;
        }
        Ok(())
    }

    fn by_scan(
        &mut self,
        map: &Mapping,
        sink: &mut dyn FnMut(KeyRef<'_>, &[u8]) -> Result<()>,
    ) -> Result<()> {
        // An intact footer still says where the data blocks end.
        let footer = super::read_footer(map, &self.file).ok();
        let data_end = footer.and_then(|(f, at)| {
            super::check_layout(&f, at, &self.file)
                .ok()
                .map(|(end, _)| end)
        });
        let limit = data_end.unwrap_or(map.len() as u64);
        let mut at = 0;
        let mut i = 0;
        while at < limit {
            let found = self.next_block_end(map, at, limit);
            let read = found.map(|(handle, range, kind)| {
                (handle, self.read_block(map, i, handle, range, kind))
            });
            match read {
                Some((handle, Ok(()))) => {
                    self.largest_block = self.largest_block.max(handle.size + TRAILER);
                    self.finish_block(handle, Ok(()), sink)?;
                    at = handle.end().unwrap_or(limit);
                    i += 1;
                }
                // Damage, or without a footer also where the data ends and the
                // metadata starts (which never reads as data): with a footer's data
                // end the scan looks for the next block (`resync`), otherwise the
                // rest of the blocks are skipped.
                damaged => {
                    let reason = match damaged {
                        Some((_, Err(e))) => e.to_string(),
                        _ => "no block ends after here (damage, or the table's metadata)".into(),
                    };
                    let Some(next) = data_end.and_then(|_| self.resync(map, at, limit, i)) else {
                        self.skip(at, limit - at, reason);
                        return Ok(());
                    };
                    self.skip(at, next.offset - at, reason);
                    self.largest_block = self.largest_block.max(next.size + TRAILER);
                    self.finish_block(next, Ok(()), sink)?;
                    at = next.end().unwrap_or(limit);
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// The first block after damage at `at` that reads whole and continues the keys
    /// handed on (its entries left in `self.entries`), starting within the resync
    /// window (see [`RESYNC_MIN`]); `None` if there is none.
    fn resync(&mut self, map: &Mapping, at: u64, limit: u64, i: usize) -> Option<BlockHandle> {
        let window = match self.largest_block {
            0 => RESYNC_MIN,
            largest => largest.saturating_mul(4),
        };
        let last_start = at.saturating_add(window).min(limit);
        for start in at + 1..last_start {
            let end = start.saturating_add(window).min(limit);
            let Some((handle, range, kind)) = self.next_block_end(map, start, end) else {
                continue;
            };
            if self.read_block(map, i, handle, range, kind).is_ok() {
                return Some(handle);
            }
        }
        None
    }

    /// The first block starting at `at`: the shortest contents followed by a valid
    /// compression byte and a checksum that matches. One pass: the running checksum
    /// of the contents is extended to each candidate end, never recomputed.
    fn next_block_end(
        &self,
        map: &Mapping,
        at: u64,
        limit: u64,
    ) -> Option<(BlockHandle, std::ops::Range<usize>, Compression)> {
        let bytes: &[u8] = map;
        let start = usize::try_from(at).ok()?;
        let limit = usize::try_from(limit).ok()?.min(bytes.len());
        let mut sum = crate::checksum::running(at);
        let mut fed = start;
        for end in start..limit.saturating_sub(TRAILER as usize - 1) {
            let byte = bytes[end];
            if Compression::from_byte(byte).is_none() {
                continue;
            }
            sum.update(&bytes[fed..end]);
            fed = end;
            let mut candidate = sum.clone();
            candidate.update(&[byte]);
            let stored = bytes.get(end + 1..end + 9).and_then(|b| b.try_into().ok());
            if stored.map(u64::from_le_bytes) != Some(candidate.digest()) {
                continue;
            }
            let handle = BlockHandle {
                offset: at,
                size: (end - start) as u64,
            };
            let id = BlockId::Data(0);
            let stored = Stored::AnyCompression;
            if let Ok((range, kind)) =
                check_block(map, handle, limit as u64, &self.file, id, stored)
            {
                return Some((handle, range, kind));
            }
        }
        None
    }

    /// Reads block `i` (its stored contents at `range`) into `self.entries`, checking
    /// that its keys increase and continue those handed on before.
    fn read_block(
        &mut self,
        map: &Mapping,
        i: usize,
        handle: BlockHandle,
        range: std::ops::Range<usize>,
        kind: Compression,
    ) -> Result<()> {
        self.entries.clear();
        let (bytes, range, id) = match kind {
            Compression::None => (map.clone(), range, BlockId::Data(i)),
            kind => {
                let raw = decompress_block(map, &self.file, i, kind, range)?;
                let len = raw.len();
                (
                    raw,
                    0..len,
                    BlockId::Decompressed {
                        block: i,
                        at: handle.offset,
                    },
                )
            }
        };
        let layout = BlockLayout::parse(&bytes, range.start, range.len(), &self.file, id)?;
        let mut cursor = BlockCursor::new(bytes, Arc::clone(&self.file), layout);
        cursor.seek_to_first()?;
        let mut prev = self.last.clone();
        while let (Some(key), Some(value)) = (cursor.key(), cursor.value()) {
            let mut encoded = Vec::new();
            key.encode_into(&mut encoded);
            if prev
                .as_ref()
                .is_some_and(|p| compare_encoded(p, &encoded) != Ordering::Less)
            {
                let reason = format!("key {key:?} does not sort after the keys before it");
                return Err(crate::origin::corruption(
                    &self.file,
                    id,
                    handle.offset,
                    reason,
                ));
            }
            prev = Some(encoded.clone());
            self.entries.push((encoded, value.to_vec()));
            cursor.next()?;
        }
        if self.entries.is_empty() {
            let reason = "holds no entry";
            return Err(crate::origin::corruption(
                &self.file,
                id,
                handle.offset,
                reason,
            ));
        }
        Ok(())
    }

    /// Hands a block's entries on if it read whole, or reports it skipped.
    fn finish_block(
        &mut self,
        handle: BlockHandle,
        read: Result<()>,
        sink: &mut dyn FnMut(KeyRef<'_>, &[u8]) -> Result<()>,
    ) -> Result<()> {
        if let Err(e) = read {
            self.skip(handle.offset, handle.size + TRAILER, e.to_string());
            return Ok(());
        }
        for (key, value) in std::mem::take(&mut self.entries) {
            let Some(k) = KeyRef::decode(&key) else {
                continue;
            };
            let open = self.report.skipped.iter_mut().rev();
            for s in open.take_while(|s| s.before.is_none()) {
                s.before = Some(k.to_owned());
            }
            sink(k, &value)?;
            self.report.entries += 1;
            self.last = Some(key);
        }
        self.report.blocks += 1;
        Ok(())
    }

    fn skip(&mut self, offset: u64, len: u64, reason: String) {
        let after = self
            .last
            .as_deref()
            .and_then(KeyRef::decode)
            .map(|k| k.to_owned());
        self.report.skipped.push(SkippedRange {
            offset,
            len,
            reason,
            after,
            before: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use quickcache_fs::{FileSystem, SimFs};

    use super::{Salvage, salvage};
    use crate::{Compression, TableBuilder, TableOptions};

    const PATH: &str = "/t.sst";

    fn key(i: usize) -> Vec<u8> {
        format!("key{i:04}").into_bytes()
    }

    /// 300 entries in 256-byte blocks; returns the file's bytes.
    fn table(fs: &SimFs, compression: Compression) -> Vec<u8> {
        let options = TableOptions {
            block_size: 256,
            compression,
            ..TableOptions::default()
        };
        let mut b = TableBuilder::new(fs, Path::new(PATH), options).unwrap();
        for i in 0..300 {
            b.add_plain(&key(i), &key(i).repeat(3)).unwrap();
        }
        b.finish().unwrap();
        fs.read_file(Path::new(PATH)).unwrap()
    }

    fn rewrite(fs: &SimFs, bytes: &[u8]) {
        let mut f = fs.create(Path::new(PATH)).unwrap();
        f.append(bytes).unwrap();
        f.close().unwrap();
    }

    fn run(fs: &SimFs) -> (Vec<Vec<u8>>, Salvage) {
        let mut keys = Vec::new();
        let report = salvage(fs, Path::new(PATH), &mut |k, v| {
            assert_eq!(v, k.user_key.repeat(3).as_slice());
            keys.push(k.user_key.to_vec());
            Ok(())
        })
        .unwrap();
        (keys, report)
    }

    #[test]
    fn a_damaged_block_is_skipped_by_the_index_and_bounded_by_its_neighbours() {
        for compression in [Compression::None, Compression::Lz4] {
            let fs = SimFs::new(1);
            let mut bytes = table(&fs, compression);
            let at = bytes.len() / 4;
            bytes[at] ^= 1;
            rewrite(&fs, &bytes);
            let (keys, report) = run(&fs);
            assert!(report.indexed);
            assert_eq!(report.skipped.len(), 1, "{report:?}");
            let s = &report.skipped[0];
            let after = s.after.as_ref().unwrap().as_ref().user_key.to_vec();
            let before = s.before.as_ref().unwrap().as_ref().user_key.to_vec();
            let lost: Vec<_> = (0..300).map(key).filter(|k| !keys.contains(k)).collect();
            assert!(!lost.is_empty() && lost.len() < 40, "{lost:?}");
            assert!(lost.iter().all(|k| *k > after && *k < before), "{report:?}");
        }
    }

    #[test]
    fn without_a_footer_the_blocks_are_found_by_scanning() {
        let fs = SimFs::new(2);
        let mut bytes = table(&fs, Compression::None);
        let len = bytes.len();
        bytes[len - 72..].fill(0);
        rewrite(&fs, &bytes);
        let (keys, report) = run(&fs);
        assert!(!report.indexed);
        assert_eq!(keys, (0..300).map(key).collect::<Vec<_>>());
        // The metadata after the data reads as no block: reported, after the last key.
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(
            report.skipped[0].after.as_ref().unwrap().as_ref().user_key,
            key(299)
        );
    }

    /// The index damaged (so the table does not open) and a data block damaged: the
    /// scan finds the block after the damage through the intact footer's data end,
    /// and only the damaged block's keys are lost.
    #[test]
    fn a_scan_goes_on_after_a_damaged_block() {
        for compression in [Compression::None, Compression::Lz4] {
            let fs = SimFs::new(5);
            let mut bytes = table(&fs, compression);
            let (footer, at) = crate::table::read_footer(&bytes, Path::new(PATH)).unwrap();
            let (data_end, _) = crate::table::check_layout(&footer, at, Path::new(PATH)).unwrap();
            // One flip in a data block near the middle, one in the index block.
            bytes[data_end as usize / 2] ^= 0x40;
            bytes[footer.index.offset as usize + 3] ^= 0x40;
            rewrite(&fs, &bytes);
            let (keys, report) = run(&fs);
            assert!(!report.indexed, "{report:?}");
            let lost: Vec<_> = (0..300).map(key).filter(|k| !keys.contains(k)).collect();
            assert!(
                !lost.is_empty() && lost.len() < 40,
                "lost {} keys: {report:?}",
                lost.len()
            );
            assert!(
                keys.contains(&key(299)),
                "the blocks after the damage were skipped"
            );
            assert!(keys.windows(2).all(|w| w[0] < w[1]));
            let skipped = &report.skipped[0];
            let after = skipped.after.as_ref().unwrap().as_ref().user_key.to_vec();
            let before = skipped.before.as_ref().unwrap().as_ref().user_key.to_vec();
            assert!(lost.iter().all(|k| *k > after && *k < before), "{report:?}");
        }
    }

    #[test]
    fn a_truncated_table_gives_the_blocks_before_the_cut() {
        let fs = SimFs::new(3);
        let bytes = table(&fs, Compression::None);
        rewrite(&fs, &bytes[..bytes.len() / 2]);
        let (keys, report) = run(&fs);
        assert!(keys.len() > 100 && keys.len() < 300, "{}", keys.len());
        assert_eq!(keys, (0..keys.len()).map(key).collect::<Vec<_>>());
        assert_eq!(report.entries, keys.len() as u64);
    }

    quickcheck::quickcheck! {
        /// Any flips and any cut: no panic, and what comes out is strictly increasing
        /// entries of the original table.
        fn damage_never_panics_nor_invents_entries(flips: Vec<(u16, u8)>, cut: u16) -> bool {
            let fs = SimFs::new(4);
            let mut bytes = table(&fs, Compression::Lz4);
            for (at, bit) in flips {
                let i = usize::from(at) % bytes.len();
                bytes[i] ^= 1 << (bit % 8);
            }
            let keep = bytes.len() - usize::from(cut) % bytes.len();
            rewrite(&fs, &bytes[..keep]);
            let mut keys: Vec<Vec<u8>> = Vec::new();
            let mut valid = true;
            let result = salvage(&fs, Path::new(PATH), &mut |k, v| {
                let known = (0..300).map(key).any(|o| o == k.user_key);
                valid &= known && v == k.user_key.repeat(3).as_slice();
                valid &= keys.last().is_none_or(|p| p.as_slice() < k.user_key);
                keys.push(k.user_key.to_vec());
                Ok(())
            });
            result.is_ok() && valid
        }
    }
}
