//! `Table::verify`: reads the whole table and checks everything a reader relies on.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::block::BlockLayout;
use crate::block::cursor::{BlockCursor, cmp_encoded_to};
use crate::bloom::key_hash;
use crate::handle::check_block;
use crate::origin::{BlockId, corruption};
use crate::table::{decompress_block, read_filter};
use crate::{Compression, Cursor, KeyRef, Properties, Result, Table, ValueKind};

/// Running totals of a scan, compared with the stored properties at the end.
struct Scan {
    computed: Properties,
    /// The previous key, encoded; empty before the first.
    prev: Vec<u8>,
}

impl Table {
    /// Checks the whole file: every block's checksum, every entry's encoding, key order
    /// within and across blocks, the index separators, the filter (it must contain
    /// every key) and the properties (they must match the data).
    pub fn verify(&self) -> Result<()> {
        let bloom = match self.footer().filter {
            Some(h) => Some(read_filter(self.map(), self.file(), h)?),
            None => None,
        };
        let mut scan = Scan {
            computed: Properties {
                format_version: self.footer().version,
                ..Properties::default()
            },
            prev: Vec::new(),
        };
        for i in 0..self.block_count() {
            let mut cursor = self.verified_block(i)?;
            cursor.seek_to_first()?;
            if !cursor.valid() {
                return Err(self.corrupt(BlockId::Data(i), i, "empty data block"));
            }
            let first = cursor
                .key()
                .map(|k| cmp_encoded_to(self.index().key(i.saturating_sub(1)), k));
            if i > 0 && first != Some(Some(Ordering::Less)) {
                return Err(self.corrupt(
                    BlockId::Index,
                    i - 1,
                    "separator not below the next block's first key",
                ));
            }
            while let Some(key) = cursor.key() {
                if bloom
                    .as_ref()
                    .is_some_and(|b| !b.may_contain(self.map(), key_hash(key.user_key)))
                {
                    return Err(self.corrupt(
                        BlockId::Filter,
                        i,
                        format!("filter misses key {key:?}"),
                    ));
                }
                scan.entry(key, cursor.value().map_or(0, <[u8]>::len))
                    .map_err(|reason| self.corrupt(BlockId::Data(i), i, reason))?;
                cursor.next()?;
            }
            let last = KeyRef::decode(&scan.prev);
            if last.is_none_or(|k| cmp_encoded_to(self.index().key(i), k) == Some(Ordering::Less)) {
                return Err(self.corrupt(
                    BlockId::Index,
                    i,
                    "separator below the block's last key",
                ));
            }
        }
        scan.computed.data_block_count = self.block_count() as u64;
        scan.computed.largest_key = KeyRef::decode(&scan.prev).map(|k| k.to_owned());
        if scan.computed != *self.properties() {
            let reason = format!(
                "stored {:?}, data says {:?}",
                self.properties(),
                scan.computed
            );
            return Err(corruption(
                self.file(),
                BlockId::Properties,
                self.footer().properties.offset,
                reason,
            ));
        }
        Ok(())
    }

    /// A cursor over data block `i` after checking its checksum afresh (and
    /// decompressing it afresh, not from the cache, if it is stored compressed).
    fn verified_block(&self, i: usize) -> Result<BlockCursor> {
        let handle = self.index().handle(i);
        let limit = self.footer().properties.end().unwrap_or(0);
        let id = BlockId::Data(i);
        let (range, kind) = check_block(self.map(), handle, limit, self.file(), id, self.stored())?;
        let (bytes, range, id) = match kind {
            Compression::None => (self.map().clone(), range, id),
            kind => {
                let raw = decompress_block(self.map(), self.file(), i, kind, range)?;
                let len = raw.len();
                let id = BlockId::Decompressed {
                    block: i,
                    at: handle.offset,
                };
                (raw, 0..len, id)
            }
        };
        let layout = BlockLayout::parse(&bytes, range.start, range.len(), self.file(), id)?;
        Ok(BlockCursor::new(bytes, Arc::clone(self.file()), layout))
    }

    fn corrupt(&self, id: BlockId, block: usize, reason: impl std::fmt::Display) -> crate::Error {
        let offset = match id {
            BlockId::Filter => self.footer().filter.map_or(0, |h| h.offset),
            _ => self.index().handle(block).offset,
        };
        corruption(self.file(), id, offset, reason)
    }
}

impl Scan {
    /// Counts one entry, checking it sorts after the previous one.
    fn entry(&mut self, key: KeyRef<'_>, value_len: usize) -> Result<(), String> {
        let p = &mut self.computed;
        if p.entry_count == 0 {
            p.smallest_key = Some(key.to_owned());
            (p.smallest_seqno, p.largest_seqno) = (key.seqno, key.seqno);
        } else if cmp_encoded_to(&self.prev, key) != Some(Ordering::Less) {
            return Err(format!("key {key:?} out of order"));
        }
        if key.kind == ValueKind::ExpiringValue && value_len < crate::EXPIRY_LEN {
            return Err(format!("expiring value of {key:?} shorter than its expiry"));
        }
        p.entry_count += 1;
        p.tombstone_count += u64::from(key.kind == ValueKind::Tombstone);
        p.raw_key_bytes += key.user_key.len() as u64;
        p.raw_value_bytes += value_len as u64;
        p.smallest_seqno = p.smallest_seqno.min(key.seqno);
        p.largest_seqno = p.largest_seqno.max(key.seqno);
        self.prev.clear();
        key.encode_into(&mut self.prev);
        Ok(())
    }
}
