//! `repair`: rebuilds a database that no longer opens from the files that can still
//! be read, as LevelDB's `RepairDB` does, reporting what was lost.
//!
//! Steps, under the database's lock:
//! 1. Read every manifest leniently for advice (`salvage_manifests`): keyspace names
//!    and options, each table's keyspace and level, which tables are obsolete.
//! 2. Turn the readable records of every WAL segment into L0 tables, skipping damaged
//!    records (reported). An id of a keyspace no manifest record names becomes a
//!    keyspace `recovered-<id>`.
//! 3. Keep every intact table; write the readable blocks of a damaged one into a new
//!    table (`quickcache_sstable::salvage`); report the blocks skipped with the keys
//!    around them, and tables the manifest listed that are gone. Tables do not record
//!    their keyspace: one no readable manifest record places goes to the default
//!    keyspace if no other keyspace is known, and into `lost/` otherwise.
//! 4. Write a new manifest listing all of it and switch `CURRENT` to it (written and
//!    synced first, then the atomic switch: `docs/crash-safety.md` rule 3). A crash
//!    before the switch leaves the old state, after it the new one.
//! 5. Move what the new manifest does not use (damaged originals, obsolete tables, old
//!    manifests, the WAL segments now in tables) into `lost/`. Nothing is deleted.
//!
//! Levels are kept when every manifest read whole; otherwise all tables go to L0,
//! ordered by their newest sequence number (the order reads consult L0 in), since a
//! table's level cannot be trusted from a partial record.

mod report;
mod tables;
mod wal;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use quickcache_compaction::{
    KeyspaceDef, Level, ManifestSalvage, TableInfo, VersionEdit, file_number_after,
    install_manifest, salvage_manifests,
};
use quickcache_fs::{FileSystem, RealFs};
use quickcache_sstable::{
    FragmentedRangeTombstones, InternalKey, KeyspaceId, Properties, SeqNo, TableOptions, ValueKind,
};

use crate::Options;
use crate::error::{Error, Result};
use crate::open::{LOCK_FILE, WAL_DIR, fs_error};

pub use report::{KeyBounds, LostRange, MovedFile, RepairReport};

/// The folder, inside the database directory, that repair moves unused files into.
pub const LOST_DIR: &str = "lost";

/// Repairs the database in `path` on the real file system with default options
/// ([`repair_with`]).
///
/// # Errors
/// The directory does not exist, the database is open elsewhere (locked), or writing
/// the new files failed. Damage is not an error: it is what the report lists.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("k", "v")?;
/// db.close()?;
/// std::fs::remove_file(dir.path().join("CURRENT"))?;
/// assert!(quickcache::Db::open(dir.path()).is_err());
/// quickcache::repair(dir.path())?;
/// let db = quickcache::Db::open(dir.path())?;
/// assert_eq!(db.get("k")?.as_deref(), Some(&b"v"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn repair(path: impl AsRef<Path>) -> Result<RepairReport> {
    let options = Options {
        fs: Arc::new(RealFs::new()),
        ..Options::default()
    };
    repair_with(path, options)
}

/// Repairs the database in `path` (see the module doc of `repair`): `options` give
/// the file system and how new tables are written (block size, filter, compression,
/// and the memtable size that bounds the tables made from the WAL).
///
/// # Errors
/// As [`repair`].
pub fn repair_with(path: impl AsRef<Path>, options: Options) -> Result<RepairReport> {
    options.validate()?;
    let dir = path.as_ref();
    let fs = Arc::clone(&options.fs);
    if !fs
        .exists(dir)
        .map_err(fs_error("looking for the database", dir))?
    {
        return Err(Error::NoDatabase {
            path: dir.to_path_buf(),
        });
    }
    let _lock = fs
        .lock(&dir.join(LOCK_FILE))
        .map_err(|source| match source {
            quickcache_fs::Error::Locked { .. } => Error::Locked {
                path: dir.to_path_buf(),
                source,
            },
            source => fs_error("locking the database", dir)(source),
        })?;
    // Its WAL end would name segments that are about to move into `lost/`.
    crate::clean::take(fs.as_ref(), dir)?;
    let salvage = salvage_manifests(fs.as_ref(), dir)
        .map_err(crate::open::tree_error("listing the manifests", dir))?;
    let mut repair = Repair::new(fs.as_ref(), dir, &options, &salvage);
    let tables = repair.table_ids()?;
    let first_segment = repair.wal()?;
    repair.tables(&tables)?;
    repair.install(first_segment)?;
    repair.move_unused()?;
    Ok(repair.report)
}

/// One repair's state.
struct Repair<'a> {
    fs: &'a dyn FileSystem,
    dir: &'a Path,
    options: &'a Options,
    salvage: &'a ManifestSalvage,
    next_file: u64,
    last_seqno: SeqNo,
    /// Keyspaces besides the default: those the manifests name, and `recovered-<id>`
    /// for ids only the WAL shows.
    keyspaces: BTreeMap<KeyspaceId, KeyspaceDef>,
    /// The tables of the new manifest, per keyspace.
    trees: BTreeMap<KeyspaceId, Vec<(Level, TableInfo)>>,
    /// Files to move into `lost/` once the new manifest is in place, and why.
    unused: Vec<(PathBuf, String)>,
    /// The tables the WAL's ingest records name: keyspace and global sequence
    /// number, for a table no readable manifest record lists (its edit was lost).
    logged_ingests: BTreeMap<quickcache_compaction::TableId, (KeyspaceId, SeqNo)>,
    report: RepairReport,
}

impl<'a> Repair<'a> {
    fn new(
        fs: &'a dyn FileSystem,
        dir: &'a Path,
        options: &'a Options,
        salvage: &'a ManifestSalvage,
    ) -> Repair<'a> {
        Repair {
            fs,
            dir,
            options,
            salvage,
            next_file: salvage.next_file.max(1),
            last_seqno: salvage.last_seqno,
            keyspaces: salvage.keyspaces.clone(),
            trees: BTreeMap::new(),
            unused: Vec::new(),
            logged_ingests: BTreeMap::new(),
            report: RepairReport {
                manifest_damage: (salvage.skipped.iter())
                    .map(|s| format!("{} at offset {}: {}", s.path.display(), s.offset, s.reason))
                    .collect(),
                ..RepairReport::default()
            },
        }
    }

    /// A number no file has used, for a new table or manifest. Fails, as
    /// [`quickcache_compaction::VersionSet::new_file_number`] does, when the manifest
    /// could not record the number after it (a file in the directory is named with a
    /// number at the very end of the range).
    fn new_file_number(&mut self) -> Result<u64> {
        let n = self.next_file;
        self.next_file = file_number_after(n).ok_or_else(|| self.exhausted())?;
        Ok(n)
    }

    /// Fails unless a number is left for at least the new manifest.
    fn check_numbers_left(&self) -> Result<()> {
        file_number_after(self.next_file)
            .map(drop)
            .ok_or_else(|| self.exhausted())
    }

    fn exhausted(&self) -> Error {
        let dir = self.dir.to_path_buf();
        let next = self.next_file;
        let source = quickcache_compaction::Error::FileNumbersExhausted { dir, next };
        Error::Tree {
            operation: "numbering a repaired file",
            path: self.dir.to_path_buf(),
            source: Box::new(source),
        }
    }

    /// How a new table for `level` is written.
    fn table_options(&self, level: Level) -> TableOptions {
        TableOptions {
            block_size: self.options.block_size,
            bloom_bits_per_key: self.options.bloom_bits_per_key,
            compression: self.options.compression[level.index()],
            ..TableOptions::default()
        }
    }

    /// Lists a table in the new manifest.
    fn keep(&mut self, keyspace: KeyspaceId, level: Level, info: TableInfo) {
        self.last_seqno = self.last_seqno.max(info.max_seqno);
        self.trees.entry(keyspace).or_default().push((level, info));
    }

    /// Writes the new manifest and switches `CURRENT` to it. Every keyspace's log
    /// number is `first_segment`, above every segment read: the WAL's records are in
    /// tables now, and the writer starts there.
    fn install(&mut self, first_segment: u64) -> Result<()> {
        self.fs
            .sync_dir(self.dir)
            .map_err(fs_error("syncing the new tables' directory", self.dir))?;
        let number = self.new_file_number()?;
        let mut edits = Vec::new();
        let last_keyspace = self.keyspaces.keys().copied().max().unwrap_or_default();
        for (&id, def) in &self.keyspaces {
            edits.push(VersionEdit {
                keyspace: id,
                create: Some(def.clone()),
                log_number: Some(first_segment),
                added: self.trees.remove(&id).unwrap_or_default(),
                ..VersionEdit::default()
            });
            self.report.keyspaces.push((id.0, def.name.clone()));
        }
        let last_keyspace = last_keyspace.max(self.salvage.last_keyspace);
        edits.push(VersionEdit {
            log_number: Some(first_segment),
            next_file: Some(self.next_file),
            last_seqno: Some(self.last_seqno),
            last_keyspace: (!last_keyspace.is_default()).then_some(last_keyspace),
            added: self.trees.remove(&KeyspaceId::DEFAULT).unwrap_or_default(),
            ..VersionEdit::default()
        });
        let path =
            install_manifest(self.fs, self.dir, number, &edits).map_err(|source| Error::Tree {
                operation: "installing the repaired manifest",
                path: self.dir.to_path_buf(),
                source: Box::new(source),
            })?;
        self.report.last_seqno = self.last_seqno.get();
        self.unused.extend(
            (self.salvage.manifests.iter())
                .filter(|m| **m != path)
                .map(|m| (m.clone(), "replaced by the repaired manifest".to_owned())),
        );
        self.report.manifest = path;
        Ok(())
    }

    /// Moves every file the new manifest does not use into `lost/`, under a name not
    /// taken there yet, then syncs the directories involved.
    fn move_unused(&mut self) -> Result<()> {
        if self.unused.is_empty() {
            return Ok(());
        }
        let lost = self.dir.join(LOST_DIR);
        let fs = self.fs;
        fs.create_dir_all(&lost)
            .map_err(fs_error("creating the lost folder", &lost))?;
        for (from, why) in std::mem::take(&mut self.unused) {
            let name = from.file_name().map_or_else(
                || "unnamed".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            );
            let to = free_name(fs, &lost, &name);
            fs.rename(&from, &to)
                .map_err(fs_error("moving a file into the lost folder", &from))?;
            self.report.moved.push(MovedFile { from, to, why });
        }
        for dir in [lost, self.dir.to_path_buf(), self.dir.join(WAL_DIR)] {
            if fs.exists(&dir).unwrap_or(false) {
                fs.sync_dir(&dir)
                    .map_err(fs_error("syncing a directory after the moves", &dir))?;
            }
        }
        Ok(())
    }
}

/// `dir/name`, or `dir/name.1`, `.2`, ... if taken (an earlier repair's files).
fn free_name(fs: &dyn FileSystem, dir: &Path, name: &str) -> PathBuf {
    let mut to = dir.join(name);
    let mut n = 1;
    while fs.exists(&to).unwrap_or(false) {
        to = dir.join(format!("{name}.{n}"));
        n += 1;
    }
    to
}

/// What the manifest records about a table, from its properties and its range
/// tombstones (whose extent and sequence numbers the key and sequence-number ranges
/// cover too, as a flush's do: a `get` skips a table whose range misses its key);
/// `None` for a table without entries or tombstones. `global_seqno`: an ingested
/// table's, from the old manifest's record of it. Its entries carry sequence number
/// 0, so without it they would read as older than every write.
fn table_info(
    id: u64,
    size: u64,
    p: &Properties,
    tombstones: &FragmentedRangeTombstones,
    global_seqno: Option<quickcache_sstable::SeqNo>,
) -> Option<TableInfo> {
    let edge = |k: &[u8]| InternalKey::new(k, SeqNo::MAX, ValueKind::Tombstone);
    // An ingested table's entries read with its global sequence number, and the
    // manifest records them so (as the ingest did): L0 is ordered by it, so the
    // table's own zeros would put it behind older tables and `get` would find their
    // values first.
    let global = |k: &Option<InternalKey>| {
        let seqno = |k: &InternalKey| global_seqno.unwrap_or(k.seqno);
        k.as_ref()
            .map(|k| InternalKey::new(k.user_key.clone(), seqno(k), k.kind))
    };
    let bounds = tombstones.bounds();
    let smallest = [global(&p.smallest_key), bounds.map(|(s, _)| edge(s))];
    let largest = [global(&p.largest_key), bounds.map(|(_, e)| edge(e))];
    let points = (p.entry_count > 0).then_some((p.smallest_seqno, p.largest_seqno));
    let (min_seqno, max_seqno) = match (points, tombstones.seqno_range()) {
        (Some((a, b)), Some((c, d))) => (a.min(c), b.max(d)),
        (one, other) => one.or(other)?,
    };
    let (min_seqno, max_seqno) = global_seqno.map_or((min_seqno, max_seqno), |g| (g, g));
    Some(TableInfo {
        id: quickcache_compaction::TableId(id),
        size,
        smallest: smallest.into_iter().flatten().min()?,
        largest: largest.into_iter().flatten().max()?,
        min_seqno,
        max_seqno,
        entries: p.entry_count,
        tombstones: p.tombstone_count,
        global_seqno,
    })
}
