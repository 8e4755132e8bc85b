//! `VersionEdit`: one change to the tree's shape, and how a version is built from one.
//!
//! The manifest is a log of edits; replaying them from an empty version rebuilds the
//! tree. The binary encoding lives in [`codec`] and is specified in
//! `docs/format/manifest.md`.

pub(crate) mod codec;

use std::collections::HashMap;
use std::sync::Arc;

use quickcache_sstable::{InternalKey, KeyspaceId, SeqNo};
use snafu::Snafu;

use crate::{KeyspaceDef, Level, TableHandle, TableId, TableInfo, Version};

/// A change to one keyspace's tree: tables added and removed, plus the bookkeeping
/// numbers that must become durable together with them; or the creation or drop of a
/// keyspace.
///
/// The log number, compaction pointers and tables belong to [`VersionEdit::keyspace`]
/// (the default keyspace unless set); the next file number, last sequence number and
/// last keyspace id are the database's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    /// The keyspace the tree fields below belong to, and which `create` or `drop`
    /// applies to.
    pub keyspace: KeyspaceId,
    /// Creates `keyspace` with this name and these options. Never the default one.
    pub create: Option<KeyspaceDef>,
    /// Drops `keyspace`: its tables are obsolete once the edit is durable, and WAL
    /// entries for it are skipped by recovery. Never the default one.
    pub drop: bool,
    /// The largest keyspace id handed out so far: ids are never reused, so a WAL
    /// entry of a dropped keyspace is never taken for a later one's.
    pub last_keyspace: Option<KeyspaceId>,
    /// WAL segments numbered below this hold nothing of `keyspace` that is not in its
    /// tables.
    pub log_number: Option<u64>,
    /// The next file number to hand out (tables and manifests share the counter).
    pub next_file: Option<u64>,
    /// The largest sequence number any table holds or any WAL record below
    /// `log_number` used.
    pub last_seqno: Option<SeqNo>,
    /// A WAL segment that was durably created (its file and directory entry synced):
    /// every segment from the oldest live one up to the largest number ever recorded
    /// must exist, so a lost one is noticed instead of opening an older state.
    /// Database-wide, like `next_file`; the largest across edits counts.
    pub wal_segment: Option<u64>,
    /// The global sequence number of the newest ingest applied so far (`Db::ingest`
    /// numbers ingests in the order their edits are logged). Database-wide; the
    /// largest across edits counts, and snapshots carry it, so it outlives the
    /// ingested tables: recovery compares an ingest the WAL logged with it to tell an
    /// edit applied (maybe long compacted away) from one the manifest lost.
    pub ingest_seqno: Option<SeqNo>,
    /// New compaction pointers: level and the largest key last compacted out of it.
    pub pointers: Vec<(Level, InternalKey)>,
    /// Tables leaving a level.
    pub removed: Vec<(Level, TableId)>,
    /// Tables joining a level. Removing and adding the same id moves a table.
    pub added: Vec<(Level, TableInfo)>,
}

/// An edit that does not fit the version it is applied to.
#[derive(Debug, Snafu, Clone, PartialEq, Eq)]
#[snafu(display("{reason}"))]
pub struct InvalidEdit {
    /// What does not fit.
    pub reason: String,
}

/// The outcome of applying an edit.
#[derive(Debug)]
pub(crate) struct Applied {
    /// The new version.
    pub(crate) version: Version,
    /// Tables the edit removed and did not add back: obsolete once it is durable.
    pub(crate) dropped: Vec<Arc<TableHandle>>,
}

fn invalid(reason: String) -> InvalidEdit {
    InvalidEdit { reason }
}

impl VersionEdit {
    /// An empty edit.
    pub fn new() -> VersionEdit {
        VersionEdit::default()
    }

    /// Decodes one manifest record's payload (format in `docs/format/manifest.md`).
    ///
    /// # Errors
    /// [`codec::DecodeError`] naming the field, its offset and what is wrong; never
    /// panics.
    pub fn decode(payload: &[u8]) -> Result<VersionEdit, codec::DecodeError> {
        codec::decode(payload)
    }

    /// Appends the edit's encoding to `out`: one manifest record's payload.
    pub fn encode(&self, out: &mut Vec<u8>) {
        codec::encode(self, out);
    }

    /// Builds the version this edit makes of `base`. `open` makes the handle of a
    /// table the edit adds; a table removed and added again keeps its handle.
    pub(crate) fn apply(
        &self,
        base: &Version,
        open: &mut dyn FnMut(&TableInfo) -> Arc<TableHandle>,
    ) -> Result<Applied, InvalidEdit> {
        let mut version = base.clone();
        let mut removed = HashMap::new();
        for &(level, id) in &self.removed {
            let tables = &mut version.levels[level.index()];
            let at = tables.iter().position(|t| t.info().id == id);
            let at = at.ok_or_else(|| invalid(format!("removes {id}, which is not in {level}")))?;
            removed.insert(id, tables.remove(at));
        }
        for (level, info) in &self.added {
            if version.tables().any(|(_, t)| t.info().id == info.id) {
                return Err(invalid(format!("adds {} twice", info.id)));
            }
            let handle = removed.remove(&info.id).unwrap_or_else(|| open(info));
            version.levels[level.index()].push(handle);
        }
        for (level, key) in &self.pointers {
            version.pointers[level.index()] = Some(key.clone());
        }
        sort_and_check(&mut version)?;
        Ok(Applied {
            version,
            dropped: removed.into_values().collect(),
        })
    }
}

/// Restores the level orders and checks that L1 and below do not overlap.
fn sort_and_check(version: &mut Version) -> Result<(), InvalidEdit> {
    version.levels[0].sort_by(|a, b| {
        let key = |t: &TableHandle| (t.info().max_seqno, t.info().id);
        key(b).cmp(&key(a))
    });
    for (n, tables) in version.levels.iter_mut().enumerate().skip(1) {
        tables.sort_by(|a, b| a.info().smallest.cmp(&b.info().smallest));
        for pair in tables.windows(2) {
            let (a, b) = (pair[0].info(), pair[1].info());
            if a.largest_user() >= b.smallest_user() {
                return Err(invalid(format!("{} and {} overlap in L{n}", a.id, b.id)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
