//! Opening a database read-only, beside the process that holds it (RocksDB's
//! `OpenForReadOnly`).
//!
//! The view is the database as of the open: the WAL segments read into memory, then
//! the manifest `CURRENT` names replayed in memory with every table mapped at once,
//! then the WAL from the tree's oldest log number replayed into memtables that are
//! never flushed (`read_only/replay.rs` says why in that order). Nothing is written: no
//! lock, no manifest, no WAL segment, no clean-close marker, no cleanup.
//!
//! The writer goes on meanwhile. Once open, the view cannot be disturbed: a mapped
//! table stays readable after the writer deletes it (compaction), and memtables are
//! in memory. During the open a file may vanish between being named and being read
//! (a table compacted away, a manifest replaced): the open then starts over from
//! `CURRENT`, which names the newer state, for up to [`RETRY_FOR`], pausing a
//! little more each time; the tables an attempt mapped stay mapped for the next
//! (`read_only/maps.rs`), so each retry maps only the tables new since (a writer
//! compacting without pause can delete a table between an attempt's manifest read
//! and its mapping; under load 50 immediate attempts that each mapped the whole
//! tree were seen to run out). The segment being written may end in a record
//! the writer has not finished: reading stops at the first damage in the last segment, so the
//! view is always a prefix of the writes.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quickcache_compaction::VersionSet;

mod maps;
mod replay;

use crate::Options;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::open::{Background, Replayed, assemble, precheck, tree_error};

/// How long an open read-only keeps starting over after a file vanished under it.
const RETRY_FOR: Duration = Duration::from_secs(10);
/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_millis(50);

impl Db {
    /// Opens the database in `path` read-only with default [`Options`] on the real
    /// file system: see [`Db::open_read_only_with`].
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let writer = quickcache::Db::open(dir.path())?;
    /// writer.put("k", "v")?;
    ///
    /// // Beside the writer, which holds the lock.
    /// let reader = quickcache::Db::open_read_only(dir.path())?;
    /// assert_eq!(reader.get("k")?.unwrap(), b"v");
    /// writer.put("k", "newer")?;
    /// assert_eq!(reader.get("k")?.unwrap(), b"v"); // the state as of its open
    /// assert!(reader.put("k", "x").unwrap_err().is_read_only());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Db> {
        Db::open_read_only_with(path, Options::default())
    }

    /// Opens the existing database in `path` read-only: a view of its state as of
    /// this call, which works while another process (or another `Db` of this one)
    /// holds the database and writes to it.
    ///
    /// It takes no lock and writes nothing (no manifest, WAL, marker or cleanup).
    /// Reads, iterators, snapshots, transactions' reads and [`Db::stats`] work;
    /// writes, flushes, compactions, checkpoints and creating or dropping a keyspace
    /// fail with [`Error::ReadOnly`] ([`Error::is_read_only`]). Existing keyspaces
    /// are read through [`Db::keyspace`] as usual. The writer's later changes are not
    /// seen: open again for a newer view. The WAL the tables do not cover is held in
    /// memory.
    ///
    /// # Errors
    /// No database in `path` ([`Error::is_no_database`]), not a quickcache database,
    /// a newer format, damage; a file that kept vanishing for 10 s of attempts to
    /// open (a writer compacting very fast): the last such error, naming the file.
    pub fn open_read_only_with(path: impl AsRef<Path>, options: Options) -> Result<Db> {
        open(path.as_ref(), options)
    }
}

fn open(dir: &Path, options: Options) -> Result<Db> {
    options.validate()?;
    if precheck(options.fs.as_ref(), dir)? {
        return Err(Error::NoDatabase {
            path: dir.to_path_buf(),
        });
    }
    // Tables mapped by a failed attempt stay mapped for the next (`maps.rs`).
    let kept = maps::KeptMaps::new(Arc::clone(&options.fs));
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    let replayed = loop {
        match read(dir, &options, &kept) {
            Err(e) if vanished(&e) && start.elapsed() < RETRY_FOR => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(MAX_PAUSE);
            }
            other => break other,
        }
    };
    kept.forget();
    let replayed = replayed?;
    let inner = assemble(dir, options, replayed, Background::none());
    inner.refresh_backlog();
    Ok(Db {
        inner,
        flusher: Mutex::new(None),
        lock: Mutex::new(None),
    })
}

/// One attempt: the WAL segments read into memory, then the tree with every table
/// mapped through `kept` (every table file in the directory mapped before the
/// manifest is read: see `read_only/maps.rs`; the WAL first: see `replay.rs`), then
/// the WAL above the tree replayed.
fn read(dir: &Path, options: &Options, kept: &Arc<maps::KeptMaps>) -> Result<Replayed> {
    let held = replay::hold_segments(options.fs.as_ref(), &dir.join(crate::WAL_DIR))?;
    kept.premap(dir).map_err(|source| Error::Fs {
        operation: "mapping the tables read-only",
        path: dir.to_path_buf(),
        source,
    })?;
    let tables_fs: quickcache_fs::DynFs = kept.clone();
    let set = VersionSet::open_read_only(tables_fs, dir, options.compaction())
        .map_err(tree_error("opening the tree read-only", dir))?;
    let (memtable, others, report) = replay::in_memory(&set, dir, held, options)?;
    Ok(Replayed {
        set: Arc::new(set),
        wal: None,
        memtable,
        others,
        report,
    })
}

/// Whether `error` says a file was missing: a writer removed it between the open
/// naming it and reading it, so a fresh attempt sees the state that replaced it.
fn vanished(error: &Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cur {
        if e.downcast_ref::<quickcache_fs::Error>()
            .is_some_and(quickcache_fs::Error::is_not_found)
            || matches!(
                e.downcast_ref::<quickcache_wal::Error>(),
                Some(quickcache_wal::Error::MissingSegment { .. })
            )
            || matches!(
                e.downcast_ref::<quickcache_compaction::Error>(),
                Some(quickcache_compaction::Error::MissingTable { .. })
            )
        {
            return true;
        }
        cur = e.source();
    }
    false
}
