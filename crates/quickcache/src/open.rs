//! Opening a database: refusals that change nothing, the lock, the tree, WAL replay
//! from the manifest's log number, and the start of background work.

use std::path::Path;
use std::sync::{Arc, Mutex};

use quickcache_compaction::{
    CURRENT, CompactionOptions, ManifestCheck, VersionSet, check_current, parse_manifest_name,
};
use quickcache_fs::FileSystem;
use quickcache_memtable::{BatchFormat, FrozenMemtable, Memtable, WriteBatch};
use quickcache_sstable::{KeyspaceId, SeqNo};
use quickcache_wal::{FORMAT_VERSION, Position, SegmentId, Wal, WalOptions};

use crate::db::Db;
use crate::error::{Error, Result};
use crate::{Options, RecoveryReport};

mod assemble;
pub(crate) use assemble::{Background, Replayed, assemble};

/// The lock file in the database directory, held (`flock`) while a [`Db`] is open.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// assert!(dir.path().join(quickcache::LOCK_FILE).is_file());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const LOCK_FILE: &str = "LOCK";
/// The subdirectory of the database directory holding the WAL segments
/// (`docs/format/wal.md`).
///
/// # Examples
/// ```
/// use quickcache::fs::RealFs;
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// let wal = dir.path().join(quickcache::WAL_DIR);
/// assert_eq!(quickcache_wal::list_segments(&RealFs, &wal)?.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const WAL_DIR: &str = "wal";

pub(crate) fn fs_error(
    operation: &'static str,
    path: &Path,
) -> impl FnOnce(quickcache_fs::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Fs {
        operation,
        path,
        source,
    }
}

pub(crate) fn table_error(
    operation: &'static str,
    path: &Path,
) -> impl FnOnce(quickcache_sstable::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Table {
        operation,
        path,
        source: Box::new(source),
    }
}

pub(crate) fn tree_error(
    operation: &'static str,
    path: &Path,
) -> impl FnOnce(quickcache_compaction::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Tree {
        operation,
        path,
        source: Box::new(source),
    }
}

pub(crate) fn wal_error(
    operation: &'static str,
    path: &Path,
) -> impl Fn(quickcache_wal::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Wal {
        operation,
        path: path.clone(),
        source: Box::new(source),
    }
}

pub(crate) fn open(dir: &Path, options: Options) -> Result<Db> {
    options.validate()?;
    let fs = Arc::clone(&options.fs);
    let created = precheck(fs.as_ref(), dir)?;
    if created && !options.create_if_missing {
        return Err(Error::NoDatabase {
            path: dir.to_path_buf(),
        });
    }
    fs.create_dir_all(dir)
        .map_err(fs_error("creating the database directory", dir))?;
    let lock = fs
        .lock(&dir.join(LOCK_FILE))
        .map_err(|source| match source {
            quickcache_fs::Error::Locked { .. } => Error::Locked {
                path: dir.to_path_buf(),
                source,
            },
            source => fs_error("locking the database", dir)(source),
        })?;
    // Under the lock and before anything is written: see `clean`.
    let clean = crate::clean::take(fs.as_ref(), dir)?;
    let synced = clean.is_some();
    let tree_options = CompactionOptions {
        previous_run_synced: synced,
        ..options.compaction()
    };
    // Files the tree no longer references are removed by `replay` only once the WAL
    // agrees with the manifest: a lost manifest edit must not take them along.
    let set = VersionSet::open_or_create_deferring_cleanup(Arc::clone(&fs), dir, tree_options)
        .map_err(tree_error("opening the tree", dir))?;
    let set = Arc::new(set);
    let (wal, memtable, others, report) = replay(&set, dir, &options, created, clean)?;
    let replayed = Replayed {
        set,
        wal: Some(wal),
        memtable,
        others,
        report,
    };
    let background = Background::start(&replayed.set, &options)?;
    let inner = assemble(dir, options, replayed, background);
    inner.refresh_backlog();
    let flusher = crate::background::spawn(Arc::clone(&inner))?;
    Ok(Db {
        inner,
        flusher: Mutex::new(Some(flusher)),
        lock: Mutex::new(Some(lock)),
    })
}

/// Replays the WAL segments at or above the oldest log number any keyspace needs
/// (never older ones, `docs/crash-safety.md` rule 8) into a memtable, flushing it to
/// L0 whenever it fills, then starts the writer (continuing a clean, short last
/// segment, or in a fresh one) and removes segments below that log number. The
/// default keyspace takes its entries from segments at or above its own log number
/// (`KeyspaceReplay`). `clean`: the previous run closed cleanly (see `clean`), so
/// recovery need not sync what it reads before building on it, and the WAL must end
/// where that close left it (see `lost`).
fn replay(
    set: &VersionSet,
    dir: &Path,
    options: &Options,
    created: bool,
    clean: Option<crate::clean::CleanClose>,
) -> Result<(Wal, Memtable, Vec<ReplayedKeyspace>, RecoveryReport)> {
    let synced = clean.is_some();
    let wal_dir = dir.join(WAL_DIR);
    let werr = wal_error("recovering", &wal_dir);
    let log_number = set.min_log_number();
    let keyspaces = KeyspaceReplay::new(set);
    check_log_start(options.fs.as_ref(), &wal_dir, log_number).map_err(|source| {
        match set.dropped_tail() {
            Some(tail) => tree_error("recovering", dir)(tail.lost_edit(format!(
                "{source} (the manifest's log number is {log_number})"
            ))),
            None => wal_error(
                "recovering: the manifest's log number names a removed segment, so the manifest lost an edit",
                &wal_dir,
            )(source),
        }
    })?;
    crate::lost::check_newest_segment(
        options.fs.as_ref(),
        dir,
        set.wal_segment(),
        set.min_log_number(),
    )?;
    // Before the first recovery flush, whose table numbers an orphan may carry.
    set.remove_unreferenced()
        .map_err(tree_error("removing files no version references", dir))?;
    let from = Position::segment_start(SegmentId(log_number));
    let wal_options = WalOptions {
        previous_run_synced: synced,
        ..options.wal()
    };
    let mut recovery =
        Wal::recover(Arc::clone(&options.fs), &wal_dir, wal_options, from).map_err(&werr)?;
    let mut report = RecoveryReport {
        created,
        log_number,
        ..RecoveryReport::default()
    };
    let mut last = set.last_seqno();
    let mut memtable = Memtable::with_capacity(options.memtable_size);
    let mut others = ReplayedKeyspace::all(set);
    for record in recovery.by_ref() {
        let record = record.map_err(&werr)?;
        if crate::ingest::record::is_ingest_record(record.format, &record.payload) {
            let at = crate::ingest::redo::At {
                dir,
                record: &record,
            };
            let (outcome, seqno) = crate::ingest::redo::replay(options.fs.as_ref(), set, &at)?;
            report.ingests_redone += usize::from(outcome == crate::ingest::redo::Outcome::Redone);
            last = last.max(seqno);
            report.bytes += record.payload.len() as u64;
            continue;
        }
        let batch = decode_record(&record).map_err(|source| Error::Batch {
            operation: "replaying the WAL",
            source: Box::new(source),
        })?;
        keyspaces.check(&batch, &record, &wal_dir)?;
        if keyspaces.default_takes(&record) {
            memtable.apply(&batch).map_err(|source| Error::Batch {
                operation: "replaying the WAL",
                source: Box::new(source),
            })?;
        }
        for ks in &mut others {
            if ks.takes(&record) && ks.apply(&batch, set, record.position.segment.0, dir)? {
                report.flushes += 1;
            }
        }
        last = last.max(batch.last_seqno().unwrap_or(SeqNo::ZERO));
        report.bytes += record.payload.len() as u64;
        report.entries += u64::from(batch.count());
        if memtable.approximate_memory() >= options.memtable_size {
            // Records of this segment before this one are then in a table and will be
            // replayed again after a crash: the same entries with the same sequence
            // numbers, which changes nothing.
            let fresh = Memtable::with_capacity(options.memtable_size);
            let full: FrozenMemtable = std::mem::replace(&mut memtable, fresh).into();
            let (ranges, segment) = (full.range_tombstones(), record.position.segment.0);
            set.flush_with_range_tombstones(
                KeyspaceId::DEFAULT,
                &mut full.cursor(),
                &ranges,
                segment,
                &[],
            )
            .map_err(tree_error("flushing during recovery", dir))?;
            report.flushes += 1;
        }
    }
    // Before `finish` cuts a torn tail: after a clean close it is damage.
    if let Some(end) = clean.and_then(|c| c.wal_end) {
        let wal_end = recovery.last_segment_end();
        crate::lost::check_clean_end(options.fs.as_ref(), dir, end, wal_end)?;
    }
    let (wal, wal_report) = recovery.finish().map_err(&werr)?;
    // The segment the writer appends to exists durably now (created and synced, or
    // continued): from here on losing it is damage, not a crash.
    set.record_wal_segment(wal.current_segment().0)
        .map_err(tree_error("recording the WAL segment", dir))?;
    let obsolete = SegmentId(set.min_log_number());
    report.obsolete_segments_removed = wal.delete_segments_below(obsolete).map_err(&werr)?;
    report.wal = wal_report;
    report.last_seqno = last.get();
    Ok((wal, memtable, others, report))
}

/// A keyspace besides the default, as recovery rebuilds its memtable.
pub(crate) struct ReplayedKeyspace {
    pub(crate) id: KeyspaceId,
    pub(crate) name: String,
    pub(crate) size: usize,
    log_number: u64,
    pub(crate) mem: Memtable,
}

/// The largest memtable a stored option may ask for (its key filter is allocated up
/// front): the bound `Options::validate` puts on the database's own.
const MAX_KEYSPACE_MEMTABLE: u64 = 1 << 36;

impl ReplayedKeyspace {
    pub(crate) fn all(set: &VersionSet) -> Vec<ReplayedKeyspace> {
        let all = set.keyspaces().into_iter();
        all.map(|(id, tree)| {
            let size = tree
                .def
                .options
                .memtable_size
                .clamp(1, MAX_KEYSPACE_MEMTABLE);
            let size = usize::try_from(size).unwrap_or(usize::MAX);
            ReplayedKeyspace {
                id,
                name: tree.def.name,
                size,
                log_number: tree.log_number,
                mem: Memtable::with_capacity(size),
            }
        })
        .collect()
    }

    /// Whether the record is at or after the keyspace's log number.
    pub(crate) fn takes(&self, record: &quickcache_wal::Record) -> bool {
        record.position.segment.0 >= self.log_number
    }

    /// Inserts the batch's entries of this keyspace; flushes the memtable to its tree
    /// when full, with `segment` as its log number (as the default keyspace's replay
    /// does). Returns whether it flushed.
    fn apply(
        &mut self,
        batch: &WriteBatch,
        set: &VersionSet,
        segment: u64,
        dir: &Path,
    ) -> Result<bool> {
        self.mem
            .apply_keyspace(batch, self.id)
            .map_err(|source| Error::Batch {
                operation: "replaying the WAL",
                source: Box::new(source),
            })?;
        if self.mem.approximate_memory() < self.size {
            return Ok(false);
        }
        let fresh = Memtable::with_capacity(self.size);
        let full: FrozenMemtable = std::mem::replace(&mut self.mem, fresh).into();
        let ranges = full.range_tombstones();
        set.flush_with_range_tombstones(self.id, &mut full.cursor(), &ranges, segment, &[])
            .map_err(tree_error("flushing a keyspace during recovery", dir))?;
        Ok(true)
    }
}

/// The write batch a WAL record holds, in the layout of its segment's format version:
/// version 1 segments hold batches without keyspace ids (all in the default keyspace),
/// version 2 ones batches without range deletes or expiring values.
pub(crate) fn decode_record(
    record: &quickcache_wal::Record,
) -> std::result::Result<WriteBatch, quickcache_memtable::Error> {
    // The WAL reader refuses segment versions it does not know, so the fallback is
    // never taken.
    let format = BatchFormat::of_wal_version(record.format).unwrap_or(BatchFormat::CURRENT);
    WriteBatch::decode_format(&record.payload, format)
}

/// Which WAL entries recovery gives to which keyspace (`docs/format/manifest.md`,
/// "Keyspaces"): an entry is replayed into its keyspace only from that keyspace's own
/// log number on (older segments are in its tables already). Entries of the other live
/// keyspaces stay in the WAL, whose segments their log numbers keep; entries of a
/// dropped keyspace are skipped; an entry of a keyspace never created is corruption.
#[derive(Debug)]
pub(crate) struct KeyspaceReplay {
    default_log: u64,
    last: KeyspaceId,
}

impl KeyspaceReplay {
    pub(crate) fn new(set: &VersionSet) -> KeyspaceReplay {
        KeyspaceReplay {
            default_log: set.log_number(),
            last: set.last_keyspace(),
        }
    }

    /// Whether the default keyspace's memtable takes the record's entries.
    pub(crate) fn default_takes(&self, record: &quickcache_wal::Record) -> bool {
        record.position.segment.0 >= self.default_log
    }

    /// Refuses a record that names a keyspace the manifest never created: an id above
    /// every id it handed out (live keyspaces and dropped ones are at or below).
    pub(crate) fn check(
        &self,
        batch: &WriteBatch,
        record: &quickcache_wal::Record,
        dir: &Path,
    ) -> Result<()> {
        match batch.iter().map(|e| e.keyspace).find(|&id| id > self.last) {
            Some(id) => Err(Error::UnknownKeyspace {
                path: record.position.segment.path_in(dir),
                offset: record.position.offset,
                keyspace: id.0,
                last: self.last.0,
            }),
            None => Ok(()),
        }
    }
}

/// Refuses a WAL that starts after the manifest's log number. Segments are removed
/// only below a durable log number, so when segments above the log number exist, the
/// one it names must too; if it is gone, the manifest lost the edit that advanced the
/// log number (a damaged last record taken for a torn tail), and replaying the later
/// segments over the older tree would serve older values as current ones.
fn check_log_start(
    fs: &dyn FileSystem,
    wal_dir: &Path,
    log_number: u64,
) -> std::result::Result<(), quickcache_wal::Error> {
    // Log number 0 (no flush recorded): nothing was ever removed, so the WAL must
    // still start at its first segment. A rotted first flush edit leaves exactly that.
    let log_number = log_number.max(SegmentId::FIRST.0);
    // A listing failure is left for recovery to report.
    let Ok(segments) = quickcache_wal::list_segments(fs, wal_dir) else {
        return Ok(());
    };
    let first_at_or_above = segments.iter().filter(|s| s.0 >= log_number).min();
    match first_at_or_above {
        Some(first) if first.0 > log_number => Err(quickcache_wal::Error::MissingSegment {
            segment: SegmentId(log_number),
        }),
        _ => Ok(()),
    }
}

/// Refuses, without changing anything, a directory that is not a quickcache database
/// (another engine's `CURRENT` and manifest included), one written in a newer format,
/// and one whose `CURRENT` names a missing manifest. Returns whether the database will
/// be created.
pub(crate) fn precheck(fs: &dyn FileSystem, dir: &Path) -> Result<bool> {
    let names = match fs.list(dir) {
        Ok(names) => names,
        Err(e) if e.is_not_found() => return Ok(true),
        Err(source) => return Err(fs_error("listing the database directory", dir)(source)),
    };
    if names.iter().any(|n| n == CURRENT) {
        check_versions(fs, dir)?;
        return Ok(false);
    }
    crate::lost::check_lost_current(fs, dir, &names)?;
    // What an interrupted creation may leave: the lock, an empty WAL directory, the
    // first manifest, a temporary CURRENT.
    let ours = |n: &str| {
        n == LOCK_FILE
            || n == WAL_DIR
            || n == format!("{CURRENT}.tmp")
            || parse_manifest_name(n).is_some()
    };
    if let Some(found) = names.iter().find(|n| !ours(n)) {
        return Err(Error::NotADatabase {
            path: dir.to_path_buf(),
            found: found.clone(),
        });
    }
    Ok(true)
}

fn newer(path: &Path, what: &'static str, found: u32, supported: u32) -> Error {
    Error::NewerFormat {
        path: path.to_path_buf(),
        what,
        found,
        supported,
    }
}

/// Refuses a manifest of another program, a newer version, or one that went
/// missing (the compaction crate reads it: it owns the manifest's bytes), and WAL
/// segments of a newer version.
fn check_versions(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    let current = dir.join(CURRENT);
    let verdict = check_current(fs, dir).map_err(fs_error("reading CURRENT", &current))?;
    match verdict {
        ManifestCheck::Readable => {}
        ManifestCheck::Foreign { name } => {
            return Err(Error::NotADatabase {
                path: dir.to_path_buf(),
                found: name,
            });
        }
        ManifestCheck::Missing { manifest } => {
            return Err(Error::MissingManifest { current, manifest });
        }
        ManifestCheck::Newer {
            path,
            what,
            found,
            supported,
        } => return Err(newer(&path, what, found, supported)),
    }
    let wal_dir = dir.join(WAL_DIR);
    match quickcache_wal::newer_segment(fs, &wal_dir) {
        Some((path, found)) => Err(newer(&path, "WAL segment", found, FORMAT_VERSION)),
        None => Ok(()),
    }
}
