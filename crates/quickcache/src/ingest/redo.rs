//! Recovery of an ingest the WAL logged: skipped if the manifest holds its edit,
//! redone from its tables if the edit was lost, corruption if they cannot be found.
//!
//! How recovery tells the two apart: ingests are numbered and their edits logged in
//! one order (one at a time, under the freeze lock), and every ingest edit records
//! its global sequence number `G` as the newest ingest applied (manifest tag 13),
//! which manifest snapshots carry over. So an ingest record with `G` at or below the
//! recovered manifest's value was applied (its tables may have been compacted away
//! and deleted since); one above it is an edit the manifest lost. The record is
//! appended only after its edit was durable, so the second case is damage: a synced
//! last edit that rotted and was dropped as a torn tail. The open that dropped it set
//! the unlisted ingested tables aside in `lost/` (`VersionSet::remove_unreferenced`)
//! before replay; the redo copies each back under a fresh table number (the lost copy
//! stays until the edit is durable, so a crash in between redoes it again), checks it
//! is the logged file (size, tail checksum) and intact, and logs the edit again, at
//! the level the ingest would choose now.

use std::path::{Path, PathBuf};

use quickcache_compaction::{Busy, TableId, VersionEdit, VersionSet, ingest_level};
use quickcache_fs::FileSystem;
use quickcache_sstable::SeqNo;

use super::install::table_info;
use super::prepare::{self, Checked, Trust};
use super::record::{IngestRecord, LoggedTable, tail_checksum};
use crate::error::{Error, Result};
use crate::repair::LOST_DIR;

/// Where an ingest record is, for errors.
pub(crate) struct At<'a> {
    /// The database directory.
    pub(crate) dir: &'a Path,
    /// The WAL record.
    pub(crate) record: &'a quickcache_wal::Record,
}

impl At<'_> {
    fn segment_path(&self) -> PathBuf {
        (self.record.position.segment).path_in(&self.dir.join(crate::WAL_DIR))
    }

    fn lost(&self, seqno: SeqNo, table: PathBuf, reason: String) -> Error {
        Error::LostIngest {
            path: self.segment_path(),
            offset: self.record.position.offset,
            seqno: seqno.get(),
            reason: format!("its table {}: {reason}", table.display()),
        }
    }

    /// The record decoded; a record that does not decode is corruption.
    pub(crate) fn decode(&self) -> Result<IngestRecord> {
        IngestRecord::decode(&self.record.payload).map_err(|e| Error::BadIngestRecord {
            path: self.segment_path(),
            offset: self.record.position.offset,
            reason: e.to_string(),
        })
    }
}

/// What an ingest record comes to in recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The manifest holds its edit (or its keyspace is gone): nothing to do.
    Applied,
    /// The edit was lost and has been logged again.
    Redone,
}

/// Replays the ingest record at `at` into `set` (see the module documentation);
/// returns what it did and the ingest's sequence number.
pub(crate) fn replay(
    fs: &dyn FileSystem,
    set: &VersionSet,
    at: &At<'_>,
) -> Result<(Outcome, SeqNo)> {
    let record = at.decode()?;
    let seqno = record.seqno;
    if seqno <= set.ingest_seqno() {
        return Ok((Outcome::Applied, seqno));
    }
    if record.keyspace > set.last_keyspace() {
        return Err(Error::UnknownKeyspace {
            path: at.segment_path(),
            offset: at.record.position.offset,
            keyspace: record.keyspace.0,
            last: set.last_keyspace().0,
        });
    }
    // Dropped since: its tables went with it.
    let Some(version) = set.current_of(record.keyspace) else {
        return Ok((Outcome::Applied, seqno));
    };
    let mut restored = Vec::with_capacity(record.tables.len());
    let mut sources = Vec::with_capacity(record.tables.len());
    for logged in &record.tables {
        let (checked, id, found) = restore(fs, set, at, seqno, logged)?;
        restored.push((checked, id));
        sources.push(found);
    }
    let dir = set.dir();
    fs.sync_dir(dir).map_err(crate::open::fs_error(
        "syncing restored ingested tables",
        dir,
    ))?;
    let mut edit = VersionEdit {
        keyspace: record.keyspace,
        last_seqno: Some(seqno),
        ingest_seqno: Some(seqno),
        ..VersionEdit::new()
    };
    for (checked, id) in &restored {
        let level = ingest_level(
            &version,
            &checked.smallest,
            &checked.largest,
            &Busy::default(),
        );
        edit.added.push((level, table_info(checked, *id, seqno)));
    }
    set.log_and_apply(edit).map_err(crate::open::tree_error(
        "redoing an ingest the manifest lost",
        dir,
    ))?;
    // Durable now: the set-aside copies have served.
    for found in &sources {
        let _ = fs.remove(found);
    }
    Ok((Outcome::Redone, seqno))
}

/// Finds the logged table in `lost/`, copies it in under a fresh number and checks it.
fn restore(
    fs: &dyn FileSystem,
    set: &VersionSet,
    at: &At<'_>,
    seqno: SeqNo,
    logged: &LoggedTable,
) -> Result<(Checked, TableId, PathBuf)> {
    let name = logged.id.file_name();
    let found = find(fs, set.dir(), &name, logged)
        .map_err(|reason| at.lost(seqno, set.dir().join(&name), reason))?;
    let id = set.new_table_id().map_err(crate::open::tree_error(
        "numbering a redone table",
        set.dir(),
    ))?;
    let path = id.path(set.dir());
    prepare::copy(fs, &found, &path)?;
    let checked = prepare::check_all(fs, std::slice::from_ref(&path), Trust::None);
    match checked.map(|mut c| c.pop()) {
        Ok(Some(checked)) => Ok((checked, id, found)),
        Ok(None) => Err(at.lost(seqno, found, "no table was checked".to_owned())),
        Err(e) => {
            let _ = fs.remove(&path);
            Err(at.lost(seqno, found, format!("it does not check: {e}")))
        }
    }
}

/// The copy of table `name` in `lost/` (as `set_aside` names it: `name`, or `name.N`
/// when taken) with the logged size and tail checksum; `Err` says what was found.
fn find(
    fs: &dyn FileSystem,
    dir: &Path,
    name: &str,
    logged: &LoggedTable,
) -> std::result::Result<PathBuf, String> {
    let lost = dir.join(LOST_DIR);
    let mut seen = Vec::new();
    for n in 0..u32::MAX {
        let path = match n {
            0 => lost.join(name),
            n => lost.join(format!("{name}.{n}")),
        };
        match fs.size(&path) {
            Ok(size) if size == logged.size => match tail_checksum(fs, &path, size) {
                Ok(tail) if tail == logged.tail => return Ok(path),
                Ok(tail) => seen.push(format!("{} has tail checksum {tail:#018x}", path.display())),
                Err(e) => seen.push(format!("{}: {e}", path.display())),
            },
            Ok(size) => seen.push(format!("{} is {size} bytes", path.display())),
            Err(e) if e.is_not_found() => break,
            Err(e) => seen.push(format!("{}: {e}", path.display())),
        }
    }
    let want = format!(
        "{} bytes with tail checksum {:#018x}",
        logged.size, logged.tail
    );
    Err(match seen.is_empty() {
        true => format!("no copy of it (of {want}) is in {}", lost.display()),
        false => format!(
            "no copy in {} is {want}: {}",
            lost.display(),
            seen.join("; ")
        ),
    })
}

/// Whether the manifest lacks the ingest the record at `at` logs (read-only opens,
/// which cannot redo it, refuse such a database instead of reading it without).
pub(crate) fn check_applied(set: &VersionSet, at: &At<'_>) -> Result<SeqNo> {
    let record = at.decode()?;
    let alive = set.current_of(record.keyspace).is_some();
    if record.seqno <= set.ingest_seqno() || !alive {
        return Ok(record.seqno);
    }
    let table = (record.tables.first()).map_or_else(PathBuf::new, |t| t.id.path(set.dir()));
    Err(at.lost(
        record.seqno,
        table,
        "the manifest does not hold it, and a read-only open cannot redo it: open the database read-write".to_owned(),
    ))
}
