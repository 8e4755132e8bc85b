//! Repair's WAL: the readable records of every segment become L0 tables; damaged
//! records are skipped and reported; the segments then move into `lost/`.

use std::collections::BTreeMap;
use std::path::Path;

use quickcache_compaction::{KeyspaceDef, Level, TableId};
use quickcache_memtable::{BatchFormat, Memtable, WriteBatch};
use quickcache_sstable::{Cursor, KeyspaceId, SeqNo, TableBuilder};
use quickcache_wal::frame::{
    Frame, check_segment_header, decode_frame, next_intact_frame, sync_marks_in, zero_tail_start,
};
use quickcache_wal::{SEGMENT_HEADER_LEN, SegmentId};

use super::{LostRange, Repair, table_info};
use crate::KeyspaceOptions;
use crate::error::{Error, Result};
use crate::open::WAL_DIR;

impl Repair<'_> {
    /// Reads every WAL segment into memtables per keyspace, written out as L0 tables
    /// whenever one fills and at the end. Returns the number after the last segment,
    /// where the repaired database's log starts.
    pub(super) fn wal(&mut self) -> Result<u64> {
        let wal_dir = self.dir.join(WAL_DIR);
        // No WAL directory: no segment to read. Any other failure to list it must
        // fail the repair, not pass for an empty log.
        let segments = match quickcache_wal::list_segments(self.fs, &wal_dir) {
            Ok(segments) => segments,
            Err(quickcache_wal::Error::Directory { source, .. }) if source.is_not_found() => {
                Vec::new()
            }
            Err(source) => {
                return Err(crate::Error::Wal {
                    operation: "listing the segments to repair",
                    path: wal_dir,
                    source: Box::new(source),
                });
            }
        };
        let mut mems = BTreeMap::new();
        for &segment in &segments {
            let path = segment.path_in(&wal_dir);
            self.report.wal_segments += 1;
            match self.fs.read_file(&path) {
                Ok(bytes) => self.segment(segment, &path, &bytes, &mut mems)?,
                Err(e) => self.lost_wal(&path, 0, 0, format!("unreadable: {e}")),
            }
            let why = "a WAL segment whose readable records are in tables now";
            self.unused.push((path, why.to_owned()));
        }
        for (keyspace, mem) in std::mem::take(&mut mems) {
            self.write_memtable(keyspace, &mem)?;
        }
        self.missing_segments(&wal_dir, &segments);
        let after = segments.last().map_or(1, |s| s.0.saturating_add(1));
        Ok(after.max(self.salvage.wal_segment.saturating_add(1)))
    }

    /// Reports the segments that should be there and are not: from the oldest any
    /// live keyspace needs (older ones are deleted once in tables; with a damaged
    /// manifest, the oldest found) up to the newest the manifest records as created,
    /// or the newest found.
    fn missing_segments(&mut self, wal_dir: &Path, found: &[SegmentId]) {
        let live = |id: &KeyspaceId| id.is_default() || self.keyspaces.contains_key(id);
        let logs = self.salvage.log_numbers.iter().filter(|(id, _)| live(id));
        let oldest = logs.map(|(_, &n)| n).min().unwrap_or(0).max(1);
        // Log numbers from a partial manifest may be stale: only gaps count then.
        let oldest = match found.first() {
            Some(first) if !self.salvage.complete => first.0,
            _ => oldest,
        };
        let newest = found
            .last()
            .map_or(0, |s| s.0)
            .max(self.salvage.wal_segment);
        for n in oldest..=newest {
            if found.binary_search(&SegmentId(n)).is_err() {
                let reason = "a WAL segment that should exist is missing".to_owned();
                self.lost_wal(&SegmentId(n).path_in(wal_dir), 0, 0, reason);
            }
        }
    }

    fn lost_wal(&mut self, path: &Path, offset: u64, len: u64, reason: String) {
        self.report.lost.push(LostRange {
            file: path.to_path_buf(),
            offset,
            len,
            reason,
            keys: None,
        });
    }

    /// Applies the intact records of one segment, skipping damage to the next intact
    /// frame. Zeros at the end are unused preallocated space, not damage.
    fn segment(
        &mut self,
        segment: SegmentId,
        path: &Path,
        bytes: &[u8],
        mems: &mut BTreeMap<KeyspaceId, Memtable>,
    ) -> Result<()> {
        let format = match check_segment_header(bytes, segment) {
            Ok(Ok(format)) => format,
            Ok(Err(kind)) => {
                self.lost_wal(path, 0, SEGMENT_HEADER_LEN as u64, kind.to_string());
                quickcache_wal::FORMAT_VERSION
            }
            Err(e) => {
                self.lost_wal(path, 0, SEGMENT_HEADER_LEN as u64, e.to_string());
                quickcache_wal::FORMAT_VERSION
            }
        };
        // Records end at the first frame offset from which every byte is zero
        // (`docs/format/wal.md`); a record may itself end in zeros.
        let zeros = zero_tail_start(bytes);
        let end = bytes.len();
        let data = bytes;
        let marks = sync_marks_in(format);
        let mut at = SEGMENT_HEADER_LEN;
        loop {
            if at >= zeros {
                return Ok(());
            }
            match decode_frame(data, segment, at, marks) {
                Ok(Frame::Record { payload, next }) => {
                    self.record(segment, path, at, payload, format, mems)?;
                    at = next;
                }
                Ok(Frame::SyncMark { next, .. }) => at = next,
                Ok(Frame::End) => return Ok(()),
                Err(kind) => {
                    let next = next_intact_frame(data, segment, at + 1, marks);
                    let len = next.unwrap_or(end).saturating_sub(at) as u64;
                    self.lost_wal(path, at as u64, len, kind.to_string());
                    match next {
                        Some(next) => at = next,
                        None => return Ok(()),
                    }
                }
            }
        }
    }

    fn record(
        &mut self,
        segment: SegmentId,
        path: &Path,
        at: usize,
        payload: &[u8],
        format: u32,
        mems: &mut BTreeMap<KeyspaceId, Memtable>,
    ) -> Result<()> {
        let layout = BatchFormat::of_wal_version(format).unwrap_or(BatchFormat::CURRENT);
        let len = quickcache_wal::frame::frame_len(payload.len()) as u64;
        if crate::ingest::record::is_ingest_record(format, payload) {
            self.ingest_record(path, at, len, payload);
            return Ok(());
        }
        let batch = match WriteBatch::decode_format(payload, layout) {
            Ok(batch) => batch,
            Err(e) => {
                let reason = format!("record is not a write batch: {e}");
                self.lost_wal(path, at as u64, len, reason);
                return Ok(());
            }
        };
        self.report.wal_records += 1;
        self.last_seqno = self
            .last_seqno
            .max(batch.last_seqno().unwrap_or(SeqNo::ZERO));
        let mut ids: Vec<KeyspaceId> = batch.iter().map(|e| e.keyspace).collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            if !self.takes(id, segment)? {
                continue;
            }
            let size = self.options.memtable_size;
            let mem = mems
                .entry(id)
                .or_insert_with(|| Memtable::with_capacity(size));
            if let Err(e) = mem.apply_keyspace(&batch, id) {
                let reason = format!("record does not apply: {e}");
                self.lost_wal(path, at as u64, len, reason);
                continue;
            }
            if mem.approximate_memory() >= size {
                let full = std::mem::replace(mem, Memtable::with_capacity(size));
                self.write_memtable(id, &full)?;
            }
        }
        Ok(())
    }

    /// Notes the tables an ingest record names: their keyspace and global sequence
    /// number, which a table whose manifest edit was lost has no other record of.
    fn ingest_record(&mut self, path: &Path, at: usize, len: u64, payload: &[u8]) {
        match crate::ingest::record::IngestRecord::decode(payload) {
            Ok(record) => {
                self.report.wal_records += 1;
                self.last_seqno = self.last_seqno.max(record.seqno);
                for table in &record.tables {
                    (self.logged_ingests).insert(table.id, (record.keyspace, record.seqno));
                }
            }
            Err(e) => self.lost_wal(path, at as u64, len, e.to_string()),
        }
    }

    /// Whether entries of keyspace `id` in `segment` are replayed: not for a dropped
    /// keyspace, nor below the keyspace's log number (those are in its tables). An id
    /// no manifest record names becomes a keyspace `recovered-<id>`.
    fn takes(&mut self, id: KeyspaceId, segment: SegmentId) -> Result<bool> {
        if self.salvage.dropped.contains(&id) {
            return Ok(false);
        }
        if !id.is_default() && !self.keyspaces.contains_key(&id) {
            let options = KeyspaceOptions::from(self.options).stored()?;
            let def = KeyspaceDef {
                name: format!("recovered-{}", id.0),
                options,
            };
            self.keyspaces.insert(id, def);
        }
        let log_number = self.salvage.log_numbers.get(&id).copied().unwrap_or(0);
        Ok(segment.0 >= log_number)
    }

    /// Writes a memtable's entries as a new L0 table of `keyspace`.
    pub(super) fn write_memtable(&mut self, keyspace: KeyspaceId, mem: &Memtable) -> Result<()> {
        if mem.is_empty() {
            return Ok(());
        }
        let id = self.new_file_number()?;
        let path = TableId(id).path(self.dir);
        let table_error = |source| Error::Table {
            operation: "writing the WAL's records into a table",
            path: path.clone(),
            source: Box::new(source),
        };
        let mut builder = TableBuilder::new(self.fs, &path, self.table_options(Level::L0))
            .map_err(table_error)?;
        let mut cursor = mem.cursor();
        cursor.seek_to_first().map_err(table_error)?;
        while let (Some(key), Some(value)) = (cursor.key(), cursor.value()) {
            builder.add(key, value).map_err(table_error)?;
            cursor.next().map_err(table_error)?;
        }
        // The range deletes too: without them the keys they deleted would read again.
        for tombstone in mem.range_tombstones().tombstones() {
            builder
                .add_range_tombstone(tombstone)
                .map_err(table_error)?;
        }
        let meta = builder.finish().map_err(table_error)?;
        let info = table_info(
            id,
            meta.file_size,
            &meta.properties,
            &meta.range_tombstones,
            None,
        );
        if let Some(info) = info {
            self.keep(keyspace, Level::L0, info);
        }
        self.report.tables_written += 1;
        Ok(())
    }
}
