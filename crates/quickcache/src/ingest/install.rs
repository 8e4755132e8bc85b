//! The step that makes ingested tables part of the tree: with writers held off, check
//! that no memtable holds keys in their ranges, take a sequence number above every
//! write, choose each table's level and record them all in one manifest edit; then
//! log the ingest in the WAL (`ingest/record.rs`), so that a rotted edit can be redone.

use std::cell::Cell;
use std::path::Path;

use quickcache_compaction::{
    Busy, Level, OutputReservation, TableId, TableInfo, VersionEdit, ingest_level,
};
use quickcache_sstable::{Cursor, KeyRef, KeyspaceId, SeqNo};
use quickcache_wal::Durability;

use super::prepare::{Checked, edge_key};
use super::record::{IngestRecord, LoggedTable, tail_checksum};
use crate::error::{Error, Result};
use crate::inner::{Inner, lock};
use crate::state::SuperVersion;

/// The tree an ingest goes into: the default keyspace's or another's.
pub(crate) struct Target<'a> {
    pub(crate) keyspace: KeyspaceId,
    pub(crate) mem: &'a crate::state::Memtables,
    /// The keyspace's state, unless it is the default one.
    pub(crate) ks: Option<&'a crate::keyspace::engine::KsState>,
}

/// What an install attempt found.
pub(crate) enum Installed {
    /// The tables are in the tree, at these levels, numbered this.
    Done(Vec<Level>, SeqNo),
    /// A memtable holds keys in an ingested range: flush, then try again.
    MemtableOverlaps,
}

impl Inner {
    /// One install attempt of `files`, copied in as `ids`; sets `edit_written`
    /// before the manifest edit is written.
    pub(crate) fn try_install(
        &self,
        target: &Target<'_>,
        files: &[Checked],
        ids: &[TableId],
        edit_written: &Cell<bool>,
    ) -> Result<Installed> {
        let _one = lock(&self.writes.freeze_lock);
        // Held exclusively, no writer is between its WAL append and its memtable
        // insert: the memtables hold every write numbered so far, and none numbered
        // from here on lands in this tree before the tables are in.
        let _writers = target
            .mem
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.check_writable()?;
        if let Some(ks) = target.ks {
            ks.check_live()?;
        }
        let memtables = target.mem.current();
        if memtables_overlap(&memtables, files)? {
            return Ok(Installed::MemtableOverlaps);
        }
        // The ingest is durable once its manifest edit is, so every write before it
        // must be first (all are in the WAL: the gate is held): otherwise a power loss
        // could keep the ingest and lose a write readers saw before it
        // (`docs/durability.md`, "Prefix").
        self.wal()?
            .sync()
            .map_err(|source| self.fail(self.wal_error("syncing before an ingest", source)))?;
        // Numbered at the transactions' ordering point (`Inner::number`): a
        // transaction open now may have read keys the ingest replaces, so none of
        // them validates any more.
        let mut history = self.writes.history.lock();
        let reservation = (self.writes.visibility.reserve(1))
            .map_err(|e| Self::batch_error("numbering an ingest", e))?;
        let seqno = reservation.first();
        history.forget_through(seqno.get());
        drop(history);
        let result = self.log_ingest(target.keyspace, files, ids, seqno, edit_written);
        // Published either way: an abandoned number would stall visibility. On
        // failure nothing carries it.
        reservation.publish();
        result.map(|levels| Installed::Done(levels, seqno))
    }

    /// Chooses the levels and records the tables, numbered `seqno`, in one edit.
    fn log_ingest(
        &self,
        keyspace: KeyspaceId,
        files: &[Checked],
        ids: &[TableId],
        seqno: SeqNo,
        edit_written: &Cell<bool>,
    ) -> Result<Vec<Level>> {
        let version = self.set.current_of(keyspace).ok_or(Error::NoSuchKeyspace {
            keyspace: keyspace.0,
        })?;
        let choose = |busy: &Busy| {
            (files.iter())
                .map(|f| {
                    let level = ingest_level(&version, &f.smallest, &f.largest, busy);
                    (level, f.smallest.clone(), f.largest.clone())
                })
                .collect::<Vec<_>>()
        };
        // Kept until the edit is in: no compaction starts writing into these ranges.
        let reservation = match lock(&self.background.compactor).as_ref() {
            Some(pool) => pool.reserve_outputs(choose),
            None => OutputReservation::none(choose(&Busy::default())),
        };
        let levels: Vec<Level> = reservation.ranges().iter().map(|r| r.0).collect();
        let record = self.ingest_record(keyspace, files, ids, seqno)?;
        let mut edit = VersionEdit {
            keyspace,
            last_seqno: Some(seqno),
            ingest_seqno: Some(seqno),
            ..VersionEdit::new()
        };
        for ((file, id), level) in files.iter().zip(ids).zip(&levels) {
            edit.added.push((*level, table_info(file, *id, seqno)));
        }
        self.options.sync_points.hit("ingest:before-edit");
        edit_written.set(true);
        self.set.log_and_apply(edit).map_err(|source| Error::Tree {
            operation: "recording ingested tables",
            path: self.dir.clone(),
            source: Box::new(source),
        })?;
        drop(reservation);
        // After the edit, not before: a record in the WAL then always means the edit
        // was durable, so recovery never meets one whose files a failed ingest took
        // back. Still under the writers' gate: no write of this keyspace numbered
        // after the ingest is logged before the record, so replay redoes the ingest
        // at its place among them. Until the record is synced the ingest is not
        // acknowledged, and a crash before leaves the edit as the only record.
        self.options.sync_points.hit("ingest:before-wal-record");
        (self.wal()?)
            .append(&record.encode(), Durability::Synced)
            .map_err(|source| self.fail(self.wal_error("logging an ingest", source)))?;
        Ok(levels)
    }

    /// The WAL record naming the copies `ids` of `files`, read back from the disk.
    fn ingest_record(
        &self,
        keyspace: KeyspaceId,
        files: &[Checked],
        ids: &[TableId],
        seqno: SeqNo,
    ) -> Result<IngestRecord> {
        let fs = self.options.fs.as_ref();
        let mut tables = Vec::with_capacity(ids.len());
        for (file, id) in files.iter().zip(ids) {
            let path = id.path(self.set.dir());
            let tail = tail_checksum(fs, &path, file.size).map_err(|source| Error::Fs {
                operation: "reading the tail of an ingested table",
                path,
                source,
            })?;
            tables.push(LoggedTable {
                id: *id,
                size: file.size,
                tail,
            });
        }
        Ok(IngestRecord {
            seqno,
            keyspace,
            tables,
        })
    }
}

/// What the manifest records of an ingested table, numbered `seqno`.
pub(crate) fn table_info(file: &Checked, id: TableId, seqno: SeqNo) -> TableInfo {
    TableInfo {
        id,
        size: file.size,
        smallest: edge_key(&file.smallest, seqno, file.first_kind),
        largest: edge_key(&file.largest, seqno, file.last_kind),
        min_seqno: seqno,
        max_seqno: seqno,
        entries: file.entries,
        tombstones: file.tombstones,
        global_seqno: Some(seqno),
    }
}

/// Whether any memtable (active or frozen) holds a key in one of the files' ranges.
fn memtables_overlap(memtables: &SuperVersion, files: &[Checked]) -> Result<bool> {
    let cursor_error = |source| Error::Table {
        operation: "searching the memtable",
        path: Path::new("memtable").to_path_buf(),
        source: Box::new(source),
    };
    for file in files {
        let from = KeyRef::lookup(&file.smallest, SeqNo::MAX);
        // A range tombstone over the file's keys counts too: it is older than the
        // ingest, and left in a memtable it would hide the ingested keys from `get`,
        // which trusts a memtable's tombstone over every table below it.
        let mut tombstones = vec![memtables.active.range_tombstones()];
        tombstones.extend(memtables.frozen.iter().map(|f| f.mem.range_tombstones()));
        let overlapping = |f: &quickcache_sstable::Fragment| {
            f.start.as_slice() <= file.largest.as_slice()
                && f.end.as_slice() > file.smallest.as_slice()
        };
        if tombstones
            .iter()
            .any(|t| t.fragments().iter().any(overlapping))
        {
            return Ok(true);
        }
        let mut cursors = vec![memtables.active.cursor()];
        cursors.extend(memtables.frozen.iter().map(|f| f.mem.cursor()));
        for mut cursor in cursors {
            cursor.seek(from).map_err(cursor_error)?;
            if cursor
                .key()
                .is_some_and(|k| k.user_key <= file.largest.as_slice())
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
