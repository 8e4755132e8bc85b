//! Point lookups, and the step they share with cursor seeks: finding, in memory, the one
//! restart interval of a block that a seek must scan, and fetching its cache lines.
//!
//! On a table larger than the CPU cache every block a lookup reads is a cache miss and
//! usually a TLB miss, and decoding a block is a chain of dependent reads. So a lookup
//! makes as few round trips to memory as it can: the filter, the index and the block
//! summaries are in memory; the interval's lines are then requested all at once (they
//! do not depend on each other) before the scan decodes them.

use std::borrow::Cow;
use std::cell::Cell;
use std::ops::Range;

use quickcache_fs::Mapping;

use super::Table;
use super::summary::BlockSummary;
use crate::block::BlockLayout;
use crate::block::seek::{self, Candidates};
use crate::bloom::key_hash;
use crate::{EXPIRY_LEN, Entry, Error, KeyRef, Result, SeqNo, ValueKind, ValueRef};

thread_local! {
    /// Scratch space for the keys `Table::get` decodes, reused across calls.
    static KEY_BUF: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Where a point lookup in one data block starts: the block's bytes, its layout, the
/// entry and what is known of the key before it (see `seek::scan_from`).
type GetStart<'a> = (Cow<'a, Mapping>, BlockLayout, usize, Option<usize>);

/// Where a seek in one data block starts.
#[derive(Debug, Clone)]
pub(crate) struct Start<'a> {
    /// The bytes the block's positions refer to: the table's map, or the block's
    /// decompressed contents.
    pub(crate) bytes: Cow<'a, Mapping>,
    /// The block.
    pub(crate) layout: BlockLayout,
    /// The restart interval to scan: from its restart point, the last whose key is
    /// `< target` (or 0), or from inside it.
    pub(crate) restart: usize,
    /// Where the scan starts, in the file.
    pub(crate) pos: usize,
    /// `None` if `pos` is restart point `restart`; else what is known of the key before
    /// `pos` (see `seek::scan_from`).
    pub(crate) below: Option<usize>,
}

impl Table {
    /// The newest entry of `user_key` with a sequence number `<= snapshot`, tombstones
    /// included; `None` if the table has no such entry.
    ///
    /// The table's range tombstones count as entries: if the newest one covering
    /// `user_key` that `snapshot` sees is newer than the stored entry (or there is no
    /// stored entry), the answer is a tombstone at its sequence number, so that a
    /// reader stops here as it would at a point tombstone.
    pub fn get(&self, user_key: &[u8], snapshot: SeqNo) -> Result<Option<Entry>> {
        // Most tables have no range tombstones: their answer is the stored one as it is.
        if self.inner.range_dels.is_empty() {
            return self.get_point(user_key, snapshot);
        }
        let covered = self.inner.range_dels.max_covering(user_key, snapshot);
        let point = self.get_point(user_key, snapshot)?;
        Ok(match (point, covered) {
            (Some(entry), Some(range)) if entry.seqno > range => Some(entry),
            (_, Some(range)) => Some(Entry {
                seqno: range,
                kind: crate::ValueKind::Tombstone,
                value: ValueRef::empty(),
            }),
            (point, None) => point,
        })
    }

    /// [`Table::get`] among the stored entries only, range tombstones ignored.
    #[inline(always)]
    fn get_point(&self, user_key: &[u8], snapshot: SeqNo) -> Result<Option<Entry>> {
        let inner = &*self.inner;
        // An ingested table's entries all read as written at its global seqno.
        let (snapshot, global) = match self.global_seqno {
            Some(g) if g > snapshot => return Ok(None),
            Some(g) => (SeqNo::MAX, Some(g)),
            None => (snapshot, None),
        };
        if let Some(bloom) = &inner.bloom
            && !bloom.may_contain(&inner.map, key_hash(user_key))
        {
            return Ok(None);
        }
        // A per-thread key buffer: lookups allocate nothing in the steady state.
        let mut key = KEY_BUF.take();
        let result = self.search(user_key, snapshot, &mut key);
        KEY_BUF.set(key);
        match global {
            Some(seqno) => result.map(|e| e.map(|e| Entry { seqno, ..e })),
            None => result,
        }
    }

    /// Plain-table lookup: the newest value of `key`, or `None` if it is absent or its
    /// newest entry is a tombstone. Sequence numbers stay hidden.
    pub fn get_plain(&self, key: &[u8]) -> Result<Option<ValueRef>> {
        Ok(self.get(key, SeqNo::MAX)?.and_then(Entry::into_value))
    }

    /// The index and block search of `get`, past the filter; `key` is scratch space.
    fn search(&self, user_key: &[u8], snapshot: SeqNo, key: &mut Vec<u8>) -> Result<Option<Entry>> {
        let inner = &*self.inner;
        let target = KeyRef::lookup(user_key, snapshot);
        for i in inner.index.find(target)..inner.index.len() {
            let Some((bytes, layout, pos, below)) = self.get_start(i, target)? else {
                continue;
            };
            let found = seek::scan_from(&bytes, &layout, &inner.file, pos, below, target, key)?;
            let Some(found) = found else {
                // Target lies after this block's last key: the answer can only start the next.
                continue;
            };
            // The first entry >= target: ours iff it has the same user key.
            let Some(k) = KeyRef::decode(key).filter(|k| k.user_key == user_key) else {
                return Ok(None);
            };
            if k.kind == ValueKind::ExpiringValue && found.value_len < EXPIRY_LEN {
                return Err(short_expiring(&inner.file, found.value_start));
            }
            return Ok(Some(Entry {
                seqno: k.seqno,
                kind: k.kind,
                value: ValueRef::new(bytes.into_owned(), found.value_start, found.value_len),
            }));
        }
        Ok(None)
    }

    /// Where the lookup of `target` in data block `i` starts: the block, the entry and
    /// what is known of the key before it (see `seek::scan_from`), with the cache lines
    /// up to the next point of the block's summary requested; `None` if the block has
    /// no entries. Requires: `i < block_count()`.
    #[inline]
    fn get_start(&self, i: usize, target: KeyRef<'_>) -> Result<Option<GetStart<'_>>> {
        let inner = &*self.inner;
        let Some(summary) = self.summary(i)? else {
            return Ok(self
                .unsummarized_start(i, target)?
                .map(|s| (s.bytes, s.layout, s.pos, s.below)));
        };
        let bytes = self.summary_bytes(i, summary)?;
        let Some(s) = summary.get_start(&inner.windows, target) else {
            return Ok(self
                .summarized_start(i, summary, bytes, target)?
                .map(|s| (s.bytes, s.layout, s.pos, s.below)));
        };
        let layout = summary.layout(self.summary_id(i, summary));
        let pos = layout.start + s.from;
        // The scan may read one entry past the point's range: the next point's entry.
        touch_lines(
            &bytes,
            pos..(layout.start + s.to + LINE).min(layout.restarts),
        );
        Ok(Some((bytes, layout, pos, s.below)))
    }

    /// Where a seek for `target` in data block `i` starts, with the cache lines of that
    /// restart interval (and of the entry after it) requested; `None` if the block has
    /// no entries. Requires: `i < block_count()`.
    #[inline]
    pub(crate) fn seek_start(&self, i: usize, target: KeyRef<'_>) -> Result<Option<Start<'_>>> {
        match self.summary(i)? {
            Some(summary) => {
                let bytes = self.summary_bytes(i, summary)?;
                self.summarized_start(i, summary, bytes, target)
            }
            None => self.unsummarized_start(i, target),
        }
    }

    /// [`Table::seek_start`] with the summary of block `i` and the bytes its
    /// positions refer to.
    #[inline]
    fn summarized_start<'a>(
        &'a self,
        i: usize,
        summary: &BlockSummary,
        bytes: Cow<'a, Mapping>,
        target: KeyRef<'_>,
    ) -> Result<Option<Start<'a>>> {
        let inner = &*self.inner;
        let layout = summary.layout(self.summary_id(i, summary));
        if let Some((restart, s)) = summary.cursor_start(&inner.windows, target) {
            let pos = layout.start + s.from;
            touch_lines(
                &bytes,
                pos..(layout.start + s.to + LINE).min(layout.restarts),
            );
            let below = s.below;
            return Ok(Some(Start {
                bytes,
                layout,
                restart,
                pos,
                below,
            }));
        }
        let Some(c) = summary.candidates(&inner.windows, target) else {
            return Ok(None);
        };
        let restart = match c {
            Candidates { lo, hi } if lo == hi => lo,
            // Restart keys with the target's window: only their bytes can tell.
            c => seek::last_restart_below(&bytes, &layout, &inner.file, target, c)?,
        };
        let (from, to) = summary.interval(restart);
        let pos = layout.start + from;
        // The scan may read one entry past the interval: the next restart entry.
        let end = (layout.start + to + LINE).min(layout.restarts);
        touch_lines(&bytes, pos..end);
        Ok(Some(Start {
            bytes,
            layout,
            restart,
            pos,
            below: None,
        }))
    }

    /// [`Table::seek_start`] in a block without a summary (the budget left it none,
    /// or it is stored compressed): a binary search of all its restart keys, read from
    /// the block.
    fn unsummarized_start(&self, i: usize, target: KeyRef<'_>) -> Result<Option<Start<'_>>> {
        let inner = &*self.inner;
        let (bytes, layout) = self.block(i)?;
        let Some(last) = layout.num_restarts.checked_sub(1) else {
            return Ok(None);
        };
        let all = Candidates { lo: 0, hi: last };
        let restart = seek::last_restart_below(&bytes, &layout, &inner.file, target, all)?;
        let pos = layout.restart_point(&bytes, restart, &inner.file)?;
        let to = match restart < last {
            true => layout.restart_point(&bytes, restart + 1, &inner.file)?,
            false => layout.restarts,
        };
        touch_lines(&bytes, pos..(to + LINE).min(layout.restarts));
        Ok(Some(Start {
            bytes,
            layout,
            restart,
            pos,
            below: None,
        }))
    }
}

/// The error for an expiring entry whose value cannot hold its expiry, at `position`
/// (in the file, or in the decompressed block for a compressed one).
#[cold]
fn short_expiring(file: &std::path::Path, position: usize) -> Error {
    Error::Corruption {
        file: file.to_path_buf(),
        offset: position as u64,
        reason: "data block: an expiring value shorter than its 8-byte expiry".to_owned(),
    }
}

/// Bytes of a cache line.
const LINE: usize = 64;

/// Reads one byte of every cache line of `data[range]`. The reads do not depend on each
/// other, so the CPU fetches all the lines at once; the scan that follows (a chain of
/// dependent reads: each entry's lengths locate the next) then hits the cache instead of
/// waiting for memory at every entry.
#[inline]
pub(crate) fn touch_lines(data: &[u8], range: Range<usize>) {
    let lines = data.get(range).unwrap_or_default();
    let (mut sum, mut at) = (0u8, 0);
    while let Some(&b) = lines.get(at) {
        sum ^= b;
        at += LINE;
    }
    std::hint::black_box(sum);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use quickcache_fs::{FileSystem, SimFs};
    use quickcheck::quickcheck;

    use crate::{Table, TableBuilder, TableOptions};

    /// Gets of every key, and of keys just around each, against a map: keys of many
    /// lengths sharing long prefixes, so that lookups start inside restart intervals
    /// after keys that differ from the target late, early, or only in length.
    fn gets_agree(suffixes: Vec<Vec<u8>>, restart: u8) -> bool {
        let model: BTreeMap<Vec<u8>, Vec<u8>> = suffixes
            .into_iter()
            .map(|s| ([&b"tbl/"[..], &s].concat(), s))
            .collect();
        let fs = SimFs::new(1);
        fs.create_dir_all(Path::new("/t")).unwrap();
        let path = Path::new("/t/t.sst");
        let options = TableOptions {
            block_size: 256,
            restart_interval: usize::from(restart % 20) + 1,
            ..TableOptions::default()
        };
        let mut b = TableBuilder::new(&fs, path, options).unwrap();
        for (k, v) in &model {
            b.add_plain(k, v).unwrap();
        }
        b.finish().unwrap();
        let table = Table::open(&fs, path).unwrap();
        model.keys().all(|k| {
            let mut probes = vec![
                k.clone(),
                [k.as_slice(), &[0]].concat(),
                k[..k.len() - 1].to_vec(),
            ];
            if let Some(last) = k.last() {
                probes.push([&k[..k.len() - 1], &[last + 1]].concat());
            }
            probes.iter().all(|p| {
                let got = table.get_plain(p).unwrap();
                got.as_deref() == model.get(p).map(Vec::as_slice)
            })
        })
    }

    quickcheck! {
        fn gets_agree_with_a_map(suffixes: Vec<Vec<u8>>, restart: u8) -> bool {
            // Few distinct bytes, so that keys share long prefixes.
            let squash = |s: Vec<u8>| s.into_iter().map(|b| b % 3).take(14).collect();
            gets_agree(suffixes.into_iter().map(squash).collect(), restart)
        }
    }

    #[test]
    fn gets_agree_on_numbered_keys() {
        let keys: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| (i * 7).to_string().into_bytes())
            .collect();
        for restart in [0, 3, 15] {
            assert!(gets_agree(keys.clone(), restart));
        }
    }
}
