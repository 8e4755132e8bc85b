//! Opening a tree: creating a new one, or rebuilding the version from the manifest
//! that `CURRENT` names, checking every table, then continuing the manifest or
//! starting a fresh one, and (unless the caller defers it) removing files no version
//! references.

use std::path::Path;
use std::sync::Arc;

use quickcache_fs::DynFs;
use quickcache_sstable::{KeyspaceId, SummaryBudget};
use snafu::ResultExt;

use crate::catalogue::Catalogue;
use crate::current::{CURRENT, read_current, set_current};
use crate::error::{FsSnafu, ManifestCorruptSnafu, MissingTableSnafu, TableSizeMismatchSnafu};
use crate::manifest::{self, ManifestWriter};
use crate::version_set::{LogState, exhausted, file_number_after, merge_state, snapshot_edits};
use crate::{
    CompactionOptions, DroppedTail, Result, TableHandle, TableId, TableInfo, Version, VersionEdit,
    VersionSet, parse_manifest_name,
};

impl VersionSet {
    /// Opens the tree in `dir`, creating an empty one if `dir` holds no `CURRENT`.
    pub fn open_or_create(fs: DynFs, dir: &Path, options: CompactionOptions) -> Result<VersionSet> {
        if has_current(&fs, dir)? {
            Self::open(fs, dir, options)
        } else {
            Self::create(fs, dir, options)
        }
    }

    /// [`VersionSet::open_or_create`], opening with
    /// [`VersionSet::open_deferring_cleanup`]: the caller removes unreferenced files.
    pub fn open_or_create_deferring_cleanup(
        fs: DynFs,
        dir: &Path,
        options: CompactionOptions,
    ) -> Result<VersionSet> {
        if has_current(&fs, dir)? {
            Self::open_deferring_cleanup(fs, dir, options)
        } else {
            Self::create(fs, dir, options)
        }
    }

    /// Creates an empty tree in `dir` (made if missing): manifest 1, then `CURRENT`.
    pub fn create(fs: DynFs, dir: &Path, options: CompactionOptions) -> Result<VersionSet> {
        fs.create_dir_all(dir).context(FsSnafu { path: dir })?;
        let version = Version::new();
        let state = LogState::default();
        let snapshot = snapshot_edits(&version, &state, 2);
        let writer = ManifestWriter::create(fs.as_ref(), dir, 1, &snapshot)?;
        set_current(fs.as_ref(), dir, 1)?;
        let budget = options.reader_budget();
        Ok(Self::assemble(
            fs, dir, options, version, writer, state, 2, budget,
        ))
    }

    /// Opens the tree in `dir`: [`VersionSet::open_deferring_cleanup`], then
    /// [`VersionSet::remove_unreferenced`] to remove the tables and manifests a crash
    /// left behind.
    ///
    /// A damaged `CURRENT` or manifest, a missing table or one of the wrong size is an
    /// error naming the file.
    pub fn open(fs: DynFs, dir: &Path, options: CompactionOptions) -> Result<VersionSet> {
        let set = Self::open_deferring_cleanup(fs, dir, options)?;
        set.remove_unreferenced()?;
        Ok(set)
    }

    /// Opens the tree in `dir` but removes nothing: replays the manifest `CURRENT`
    /// names and checks that every table it lists exists with its recorded size.
    ///
    /// Damage at the manifest's end with no intact record after it is dropped as a
    /// torn append, and [`VersionSet::dropped_tail`] says so. A synced edit that rotted
    /// looks the same, and the files it made obsolete (WAL segments, compaction
    /// inputs) may be gone: a caller that can tell (the database checks its WAL
    /// against [`VersionSet::log_number`]) should do so before it calls
    /// [`VersionSet::remove_unreferenced`], which would delete the old manifest and
    /// the tables the lost edit added.
    ///
    /// A manifest that ends cleanly (no dropped tail) and holds less than half of
    /// `max_manifest_size` is synced (unless `previous_run_synced`) and appended to;
    /// otherwise a fresh manifest holding a snapshot replaces it in `CURRENT` (the old
    /// file stays until the cleanup). Reusing saves the new file's sync, the `CURRENT`
    /// switch and their directory syncs: most of an open's time.
    pub fn open_deferring_cleanup(
        fs: DynFs,
        dir: &Path,
        options: CompactionOptions,
    ) -> Result<VersionSet> {
        let old = read_current(fs.as_ref(), dir)?;
        let budget = options.reader_budget();
        let (version, state, recorded, read) = replay(&fs, dir, old, &budget)?;
        check_tables(&fs, &version, read.dropped.as_ref())?;
        for tree in state.catalogue.keyspaces.values() {
            check_tables(&fs, &tree.version, read.dropped.as_ref())?;
        }
        let path = dir.join(crate::manifest_name(old));
        let other_ids = state.catalogue.table_ids().into_keys().map(|id| id.0);
        let max_id = version
            .tables()
            .map(|(_, t)| t.info().id.0)
            .chain(other_ids)
            .max();
        let mut next_file = recorded
            .max(after(max_id.unwrap_or(0), "table id", &path)?)
            .max(after(old, "manifest number", &path)?);
        // Continued only when clean, small, and of this build's format: an older one is
        // replaced by a fresh manifest (snapshot) in the current format before anything
        // in the new formats is written (`docs/format/manifest.md`, "Versions").
        let reuse = read.dropped.is_none()
            && read.current_format
            && read.len < options.max_manifest_size / 2;
        let writer = if reuse {
            ManifestWriter::reopen(fs.as_ref(), dir, old, read.len, options.previous_run_synced)?
        } else {
            let number = next_file;
            next_file = file_number_after(number).ok_or_else(|| exhausted(dir, number))?;
            let snapshot = snapshot_edits(&version, &state, next_file);
            let writer = ManifestWriter::create(fs.as_ref(), dir, number, &snapshot)?;
            set_current(fs.as_ref(), dir, number)?;
            writer
        };
        let mut set = Self::assemble(fs, dir, options, version, writer, state, next_file, budget);
        set.dropped_tail = read.dropped;
        Ok(set)
    }

    /// Reads the tree in `dir` without changing anything: the manifest `CURRENT`
    /// names, replayed into the version it describes. Tables are not opened or
    /// checked. For verification and inspection tools, which must not write.
    pub fn inspect(fs: DynFs, dir: &Path) -> Result<TreeInspection> {
        let manifest_number = read_current(fs.as_ref(), dir)?;
        // Tables are not opened here: the budget is never drawn on.
        let budget = SummaryBudget::unlimited();
        let (version, state, _, _) = replay(&fs, dir, manifest_number, &budget)?;
        let keyspaces = state.catalogue.keyspaces.iter();
        let keyspaces: Vec<_> = keyspaces.map(|(&id, tree)| (id, tree.clone())).collect();
        let others = keyspaces.iter().map(|(_, tree)| tree.log_number);
        let min_log_number = others.fold(state.log_number, u64::min);
        Ok(TreeInspection {
            manifest_number,
            version,
            log_number: state.log_number,
            last_seqno: state.last_seqno,
            keyspaces,
            min_log_number,
            wal_segment: state.wal_segment,
        })
    }

    /// Removes the tables no version lists and every manifest but the current one:
    /// what an interrupted flush or compaction, or a crash during a manifest switch,
    /// leaves behind. Run only while no flush or compaction is writing tables:
    /// [`VersionSet::open`] does it before any can start; after
    /// [`VersionSet::open_deferring_cleanup`], call it before the first flush.
    ///
    /// When the manifest's tail was dropped ([`VersionSet::dropped_tail`]), unlisted
    /// ingested tables are moved into `lost/` instead (named `lost/<name>` in the
    /// result): the dropped bytes may have been a synced ingest edit that rotted, and
    /// an ingested table's data is in no WAL, so its file is the only copy left.
    pub fn remove_unreferenced(&self) -> Result<Vec<String>> {
        let names = self
            .fs
            .list(&self.dir)
            .context(FsSnafu { path: &self.dir })?;
        let version = self.current();
        let mut live: std::collections::HashSet<TableId> =
            version.tables().map(|(_, t)| t.info().id).collect();
        // The other keyspaces' tables; a dropped keyspace's are gone from the
        // catalogue, so a crash in the middle of a drop leaves them to this cleanup.
        live.extend(self.catalogue_table_ids());
        let manifest = self.manifest_number();
        let garbage = |name: &str| match (TableId::from_file_name(name), parse_manifest_name(name))
        {
            (Some(id), _) => !live.contains(&id),
            (_, Some(n)) => n != manifest,
            _ => name == format!("{CURRENT}.tmp"),
        };
        let keep = self.dropped_tail.is_some();
        let mut removed = Vec::new();
        for name in names.into_iter().filter(|n| garbage(n)) {
            let path = self.dir.join(&name);
            if keep && TableId::from_file_name(&name).is_some() && self.only_copy(&path) {
                removed.push(self.set_aside(&name)?);
                continue;
            }
            self.fs.remove(&path).context(FsSnafu { path })?;
            removed.push(name);
        }
        Ok(removed)
    }

    /// Whether the table at `path` may hold the only copy of its data: a whole table
    /// whose entries carry no sequence numbers, as an ingested one (its data was
    /// never in the WAL). A flush's or compaction's output is rebuilt from the WAL or
    /// its inputs, and one a crash left unfinished does not open.
    fn only_copy(&self, path: &Path) -> bool {
        quickcache_sstable::Table::open(self.fs.as_ref(), path).is_ok_and(|t| {
            let p = t.properties();
            p.entry_count > 0 && p.largest_seqno == quickcache_sstable::SeqNo::ZERO
        })
    }

    /// Moves table file `name` into `lost/` (durably: both directories synced) and
    /// returns its new name; a name taken there gets a numbered suffix.
    fn set_aside(&self, name: &str) -> Result<String> {
        let lost = self.dir.join(LOST_DIR);
        self.fs
            .create_dir_all(&lost)
            .context(FsSnafu { path: &lost })?;
        let mut target = format!("{LOST_DIR}/{name}");
        let mut n = 0;
        while self
            .fs
            .exists(&self.dir.join(&target))
            .context(FsSnafu { path: &lost })?
        {
            n += 1;
            target = format!("{LOST_DIR}/{name}.{n}");
        }
        let from = self.dir.join(name);
        self.fs
            .rename(&from, &self.dir.join(&target))
            .context(FsSnafu { path: &from })?;
        for dir in [&lost, &self.dir] {
            self.fs.sync_dir(dir).context(FsSnafu { path: dir })?;
        }
        Ok(target)
    }
}

/// Where recovery sets aside tables it cannot place (the folder repair uses too).
const LOST_DIR: &str = "lost";

/// What [`VersionSet::inspect`] read from a tree directory.
#[derive(Debug)]
pub struct TreeInspection {
    /// The manifest `CURRENT` names.
    pub manifest_number: u64,
    /// The version its edits build (the default keyspace's).
    pub version: Version,
    /// The default keyspace's log number.
    pub log_number: u64,
    /// The largest sequence number recorded.
    pub last_seqno: quickcache_sstable::SeqNo,
    /// The other live keyspaces, by id, each with its tables and log number.
    pub keyspaces: Vec<(KeyspaceId, crate::KeyspaceTree)>,
    /// The smallest log number of every keyspace: WAL segments at or above it are live.
    pub min_log_number: u64,
    /// The newest WAL segment recorded as durably created (0 if none).
    pub wal_segment: u64,
}

/// What replaying a manifest gives: the version, the log state, the next file number
/// and how the file ended.
pub(crate) type Replayed = (Version, LogState, u64, manifest::ReadBack);

/// Replays manifest `number`; the handles it makes share `budget`.
pub(crate) fn replay(
    fs: &DynFs,
    dir: &Path,
    number: u64,
    budget: &SummaryBudget,
) -> Result<Replayed> {
    let mut read = manifest::read(fs.as_ref(), dir, number)?;
    let edits = std::mem::take(&mut read.edits);
    let mut version = Version::new();
    let mut state = LogState::default();
    let mut next_file = 0;
    let mut open = |info: &TableInfo| {
        let fs = Arc::clone(fs);
        Arc::new(TableHandle::with_budget(
            fs,
            dir,
            info.clone(),
            budget.clone(),
        ))
    };
    for (i, (offset, edit)) in edits.iter().enumerate() {
        let corrupt = |reason: String| {
            let path = dir.join(crate::manifest_name(number));
            ManifestCorruptSnafu {
                path,
                offset: *offset,
                reason,
            }
            .build()
        };
        if let Some(n) = last_file_number(edit) {
            return Err(corrupt(format!(
                "edit {i} uses file number {n}, the last one"
            )));
        }
        if edit.keyspace.is_default() && edit.create.is_none() && !edit.drop {
            let applied = edit
                .apply(&version, &mut open)
                .map_err(|e| corrupt(format!("edit {i} does not fit: {e}")))?;
            version = applied.version;
        } else {
            let applied = (state.catalogue)
                .apply(edit, &mut open)
                .map_err(|e| corrupt(format!("edit {i} does not fit: {e}")))?;
            state.catalogue = applied.catalogue;
        }
        merge_state(&mut state, edit);
        next_file = next_file.max(edit.next_file.unwrap_or(0));
    }
    check_one_owner(&version, &state.catalogue).map_err(|reason| {
        let path = dir.join(crate::manifest_name(number));
        ManifestCorruptSnafu {
            path,
            offset: 0u64,
            reason,
        }
        .build()
    })?;
    Ok((version, state, next_file, read))
}

/// Refuses a table listed by two keyspaces: dropping one would delete the other's.
fn check_one_owner(default: &Version, catalogue: &Catalogue) -> Result<(), String> {
    let mut owners = std::collections::HashMap::new();
    let default_ids = default
        .tables()
        .map(|(_, t)| (t.info().id, KeyspaceId::DEFAULT));
    let other_ids = catalogue.keyspaces.iter().flat_map(|(&ks, tree)| {
        let ids: Vec<_> = tree
            .version
            .tables()
            .map(|(_, t)| (t.info().id, ks))
            .collect();
        ids
    });
    for (id, ks) in default_ids.chain(other_ids) {
        if let Some(first) = owners.insert(id, ks) {
            return Err(format!("table {id} is listed by {first} and by {ks}"));
        }
    }
    Ok(())
}

/// `u64::MAX` if `edit` records it as a table id or next file number: no number
/// would be left after it, so no intact manifest holds it.
fn last_file_number(edit: &VersionEdit) -> Option<u64> {
    let ids = edit.added.iter().map(|(_, t)| t.id.0);
    ids.chain(edit.next_file).find(|&n| n == u64::MAX)
}

/// The file number after `n` (`what`, read from manifest `path`), or corruption if
/// there is none a manifest could record ([`file_number_after`]): no build hands out
/// a number that leaves none.
fn after(n: u64, what: &str, path: &Path) -> Result<u64> {
    file_number_after(n).ok_or_else(|| {
        ManifestCorruptSnafu {
            path,
            offset: 0u64,
            reason: format!("{what} {n} leaves no file number after it"),
        }
        .build()
    })
}

fn has_current(fs: &DynFs, dir: &Path) -> Result<bool> {
    let current = dir.join(CURRENT);
    fs.exists(&current).context(FsSnafu { path: &current })
}

/// Checks that every table exists with the size the manifest recorded
/// (`docs/crash-safety.md` rule 9). A missing table names the manifest tail the open
/// `dropped`, if any: that tail likely was the edit that removed the table.
fn check_tables(fs: &DynFs, version: &Version, dropped: Option<&DroppedTail>) -> Result<()> {
    for (_, table) in version.tables() {
        let (id, path) = (table.info().id, table.path());
        let actual = match fs.size(path) {
            Ok(size) => size,
            Err(e) if e.is_not_found() => {
                let dropped_tail = dropped.cloned();
                return MissingTableSnafu {
                    id,
                    path,
                    dropped_tail,
                }
                .fail();
            }
            Err(e) => return Err(e).context(FsSnafu { path }),
        };
        let expected = table.info().size;
        if actual != expected {
            return TableSizeMismatchSnafu {
                id,
                path,
                expected,
                actual,
            }
            .fail();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_after_the_last_is_corruption_naming_the_manifest() {
        let path = Path::new("/db/MANIFEST-000007");
        assert_eq!(after(6, "table id", path).ok(), Some(7));
        let err = after(u64::MAX, "table id", path).unwrap_err();
        assert!(after(u64::MAX - 1, "table id", path).is_err());
        assert_eq!(
            after(u64::MAX - 2, "table id", path).ok(),
            Some(u64::MAX - 1)
        );
        assert!(
            matches!(&err, crate::Error::ManifestCorrupt { path: p, .. } if p == path),
            "{err}"
        );
        assert!(err.is_corruption());
    }
}
