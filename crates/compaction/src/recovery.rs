//! Opening a tree: creating a new one, or rebuilding the version from the manifest
//! that `CURRENT` names, checking every table, then starting a fresh manifest and
//! removing files no version references.

use std::path::Path;
use std::sync::Arc;

use quickcache_fs::DynFs;
use snafu::ResultExt;

use crate::current::{CURRENT, read_current, set_current};
use crate::error::{FsSnafu, ManifestCorruptSnafu, MissingTableSnafu, TableSizeMismatchSnafu};
use crate::manifest::{self, ManifestWriter};
use crate::version_set::{LogState, merge_state, snapshot_edit};
use crate::{
    CompactionOptions, Result, TableHandle, TableId, TableInfo, Version, VersionSet,
    parse_manifest_name,
};

impl VersionSet {
    /// Opens the tree in `dir`, creating an empty one if `dir` holds no `CURRENT`.
    pub fn open_or_create(fs: DynFs, dir: &Path, options: CompactionOptions) -> Result<VersionSet> {
        let current = dir.join(CURRENT);
        if fs.exists(&current).context(FsSnafu { path: &current })? {
            Self::open(fs, dir, options)
        } else {
            Self::create(fs, dir, options)
        }
    }

    /// Creates an empty tree in `dir` (made if missing): manifest 1, then `CURRENT`.
    pub fn create(fs: DynFs, dir: &Path, options: CompactionOptions) -> Result<VersionSet> {
        fs.create_dir_all(dir).context(FsSnafu { path: dir })?;
        let version = Version::new();
        let state = LogState::default();
        let snapshot = snapshot_edit(&version, &state, 2);
        let writer = ManifestWriter::create(fs.as_ref(), dir, 1, &snapshot)?;
        set_current(fs.as_ref(), dir, 1)?;
        Ok(Self::assemble(fs, dir, options, version, writer, state, 2))
    }

    /// Opens the tree in `dir`: replays the manifest `CURRENT` names, checks that every
    /// table it lists exists with its recorded size, and removes unreferenced tables
    /// and manifests left by a crash.
    ///
    /// A manifest that ends cleanly (no torn tail) and holds less than half of
    /// `max_manifest_size` is synced (unless `previous_run_synced`) and appended to; otherwise a fresh manifest
    /// holding a snapshot replaces it. Reusing saves the new file's sync, the
    /// `CURRENT` switch and their directory syncs: most of an open's time.
    ///
    /// A damaged `CURRENT` or manifest, a missing table or one of the wrong size is an
    /// error naming the file.
    pub fn open(fs: DynFs, dir: &Path, options: CompactionOptions) -> Result<VersionSet> {
        let old = read_current(fs.as_ref(), dir)?;
        let (version, state, mut next_file, read) = replay(&fs, dir, old)?;
        check_tables(&fs, &version)?;
        let max_id = version
            .tables()
            .map(|(_, t)| t.info().id.0)
            .max()
            .unwrap_or(0);
        next_file = next_file.max(max_id + 1).max(old + 1);
        let writer = if read.clean_end && read.len < options.max_manifest_size / 2 {
            ManifestWriter::reopen(fs.as_ref(), dir, old, read.len, options.previous_run_synced)?
        } else {
            let number = next_file;
            next_file += 1;
            let snapshot = snapshot_edit(&version, &state, next_file);
            let writer = ManifestWriter::create(fs.as_ref(), dir, number, &snapshot)?;
            set_current(fs.as_ref(), dir, number)?;
            writer
        };
        let set = Self::assemble(fs, dir, options, version, writer, state, next_file);
        set.remove_unreferenced()?;
        Ok(set)
    }

    /// Reads the tree in `dir` without changing anything: the manifest `CURRENT`
    /// names, replayed into the version it describes. Tables are not opened or
    /// checked. For verification and inspection tools, which must not write.
    pub fn inspect(fs: DynFs, dir: &Path) -> Result<TreeInspection> {
        let manifest_number = read_current(fs.as_ref(), dir)?;
        let (version, state, _, _) = replay(&fs, dir, manifest_number)?;
        Ok(TreeInspection {
            manifest_number,
            version,
            log_number: state.log_number,
            last_seqno: state.last_seqno,
        })
    }

    /// Removes the tables no version lists and every manifest but the current one:
    /// what an interrupted flush or compaction, or a crash during a manifest switch,
    /// leaves behind. Run only while no flush or compaction is writing tables (the
    /// open does it before any can start).
    pub fn remove_unreferenced(&self) -> Result<Vec<String>> {
        let names = self
            .fs
            .list(&self.dir)
            .context(FsSnafu { path: &self.dir })?;
        let version = self.current();
        let live: std::collections::HashSet<TableId> =
            version.tables().map(|(_, t)| t.info().id).collect();
        let manifest = self.manifest_number();
        let garbage = |name: &str| match (TableId::from_file_name(name), parse_manifest_name(name))
        {
            (Some(id), _) => !live.contains(&id),
            (_, Some(n)) => n != manifest,
            _ => name == format!("{CURRENT}.tmp"),
        };
        let mut removed = Vec::new();
        for name in names.into_iter().filter(|n| garbage(n)) {
            let path = self.dir.join(&name);
            self.fs.remove(&path).context(FsSnafu { path })?;
            removed.push(name);
        }
        Ok(removed)
    }
}

/// What [`VersionSet::inspect`] read from a tree directory.
#[derive(Debug)]
pub struct TreeInspection {
    /// The manifest `CURRENT` names.
    pub manifest_number: u64,
    /// The version its edits build.
    pub version: Version,
    /// WAL segments below this are contained in tables.
    pub log_number: u64,
    /// The largest sequence number recorded.
    pub last_seqno: quickcache_sstable::SeqNo,
}

/// What replaying a manifest gives: the version, the log state, the next file number
/// and how the file ended.
type Replayed = (Version, LogState, u64, manifest::ReadBack);

/// Replays manifest `number`.
fn replay(fs: &DynFs, dir: &Path, number: u64) -> Result<Replayed> {
    let mut read = manifest::read(fs.as_ref(), dir, number)?;
    let edits = std::mem::take(&mut read.edits);
    let mut version = Version::new();
    let mut state = LogState::default();
    let mut next_file = 0;
    let mut open = |info: &TableInfo| Arc::new(TableHandle::new(Arc::clone(fs), dir, info.clone()));
    for (i, edit) in edits.iter().enumerate() {
        let applied = edit.apply(&version, &mut open).map_err(|e| {
            let path = dir.join(crate::manifest_name(number));
            ManifestCorruptSnafu {
                path,
                offset: 0u64,
                reason: format!("edit {i} does not fit: {e}"),
            }
            .build()
        })?;
        version = applied.version;
        merge_state(&mut state, edit);
        next_file = next_file.max(edit.next_file.unwrap_or(0));
    }
    Ok((version, state, next_file, read))
}

/// Checks that every table exists with the size the manifest recorded (rule 9).
fn check_tables(fs: &DynFs, version: &Version) -> Result<()> {
    for (_, table) in version.tables() {
        let (id, path) = (table.info().id, table.path());
        let actual = match fs.size(path) {
            Ok(size) => size,
            Err(e) if e.is_not_found() => return MissingTableSnafu { id, path }.fail(),
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
