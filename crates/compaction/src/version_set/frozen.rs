//! `FrozenTree`: the whole tree as of one installed edit, held still for a copy (a
//! checkpoint): the edits that rebuild it in a fresh manifest, and the versions that
//! keep its tables on disk until the copy is done.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use quickcache_fs::FileSystem;

use super::{VersionSet, guard, snapshot_edits};
use crate::manifest::ManifestWriter;
use crate::{Result, TableInfo, Version, VersionEdit};

/// Every keyspace's tree as of one moment, for writing a copy of the database.
///
/// While it lives, none of its tables is deleted: it holds their versions, and a
/// table file goes only when the last version listing it is dropped
/// (`docs/crash-safety.md` rule 4).
#[derive(Debug)]
pub struct FrozenTree {
    /// The edits of a fresh manifest: every keyspace with its tables, log numbers,
    /// last sequence number and next file number.
    edits: Vec<VersionEdit>,
    /// The number the copy's manifest takes (never handed out to another file).
    manifest_number: u64,
    /// The smallest log number of every keyspace.
    min_log_number: u64,
    /// Keeps the tables alive.
    versions: Vec<Arc<Version>>,
}

impl FrozenTree {
    /// Every table of every keyspace.
    pub fn tables(&self) -> impl Iterator<Item = &TableInfo> {
        self.edits
            .iter()
            .flat_map(|e| e.added.iter().map(|(_, t)| t))
    }

    /// The oldest WAL segment any keyspace needs: a copy must hold every segment from
    /// this one on to replay what the tables do not hold.
    pub fn min_log_number(&self) -> u64 {
        self.min_log_number
    }

    /// Records `segment` as the newest WAL segment the copy holds (0: none), in place
    /// of the live database's: the copy's open requires every segment up to the one
    /// its manifest records (`docs/format/manifest.md`, tag 11), and a copy may end
    /// below it (the live writer's segment was empty, or every write is in tables).
    pub fn set_wal_segment(&mut self, segment: u64) {
        for edit in &mut self.edits {
            edit.wal_segment = None;
        }
        if let Some(last) = self.edits.last_mut() {
            last.wal_segment = (segment > 0).then_some(segment);
        }
    }

    /// How many versions (one per keyspace) the copy keeps alive.
    pub fn keyspaces(&self) -> usize {
        self.versions.len()
    }

    /// Writes the manifest of this tree into `dir`, synced, its name made durable
    /// (`docs/crash-safety.md` rule 1), then points `CURRENT` at it (rule 3). Call it
    /// last, once the tables and WAL segments it needs are durable in `dir`: a
    /// directory without `CURRENT` is not taken for a database.
    pub fn write_manifest(&self, fs: &dyn FileSystem, dir: &Path) -> Result<()> {
        let writer = ManifestWriter::create(fs, dir, self.manifest_number, &self.edits)?;
        drop(writer);
        crate::current::set_current(fs, dir, self.manifest_number)
    }
}

impl VersionSet {
    /// The tree as of the last installed edit, held still (see [`FrozenTree`]).
    /// Taken under the manifest lock, so the versions and log numbers of every
    /// keyspace are those of one and the same edit.
    ///
    /// Fails only if no file number is left for the copy's manifest
    /// ([`crate::Error::FileNumbersExhausted`]).
    pub fn freeze(&self) -> Result<FrozenTree> {
        let manifest = guard(&self.manifest);
        let state = &manifest.1;
        let version = self.current();
        let manifest_number = self.new_file_number()?;
        let next_file = self.next_file.load(Ordering::SeqCst);
        let edits = snapshot_edits(&version, state, next_file);
        let others = state.catalogue.keyspaces.values();
        let min_log_number = others
            .clone()
            .map(|k| k.log_number)
            .fold(state.log_number, u64::min);
        let mut versions = vec![version];
        versions.extend(others.map(|k| Arc::clone(&k.version)));
        Ok(FrozenTree {
            edits,
            manifest_number,
            min_log_number,
            versions,
        })
    }
}
