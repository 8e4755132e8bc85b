//! [`BulkLoader`]: loads unsorted key-value pairs into a database through tables and
//! [`Db::ingest`], bypassing the WAL and the memtable.
//!
//! Entries are gathered in memory up to a budget, sorted (the latest put of a key
//! wins) and, when the budget is exceeded, spilled as a sorted run: a table in a
//! scratch directory inside the database directory. [`BulkLoader::finish`] merges the
//! runs (or the one in-memory run) into tables of the database's table size, moves
//! them into the tree in one ingest, and removes the scratch directory.
//!
//! It lives in this crate, not the sstable crate, because it ends in an ingest and
//! takes its file system, directory and table size from the database; the sstable
//! crate stays usable without the engine.

mod merge;
mod run;

use std::path::{Path, PathBuf};

use quickcache_compaction::Level;
use quickcache_fs::FileSystem;
use quickcache_sstable::{Compression, Cursor, KeyspaceId, Table, TableBuilder, TableOptions};

use self::merge::RunMerge;
use self::run::{ENTRY_OVERHEAD, Run};
use crate::error::{Error, Result};
use crate::ingest::install::Target;
use crate::ingest::{How, IngestOptions, IngestReport};
use crate::inner::Inner;
use crate::open::{fs_error, table_error};
use crate::{Db, Keyspace};

/// The scratch directory's name inside the database directory.
pub const BULK_DIR: &str = "bulk-load.tmp";

/// The default memory budget of a loader: 256 MiB.
pub const DEFAULT_BULK_MEMORY: usize = 256 << 20;

/// Loads unsorted entries into a database (or one keyspace) far faster than writes
/// do: no WAL, no memtable, and the tables land in the deepest level they can.
///
/// Memory stays within the budget ([`BulkLoader::memory_budget`]) plus one table
/// builder's buffers; beyond it, sorted runs are spilled to scratch tables. Entries
/// appear only when [`BulkLoader::finish`] returns, all at once (one ingest, see
/// [`Db::ingest`]); of several puts of one key the last wins. Dropping the loader
/// without finishing loads nothing (the scratch directory is removed by the next
/// loader).
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// let mut loader = db.bulk_loader()?;
/// loader.put("pear", "green")?;
/// loader.put("apple", "red")?;
/// loader.put("pear", "yellow")?; // the later put wins
/// loader.finish()?;
/// assert_eq!(db.get("pear")?.unwrap(), b"yellow");
/// assert_eq!(db.iter().count(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BulkLoader<'a> {
    inner: &'a Inner,
    ks: Option<&'a Keyspace>,
    scratch: PathBuf,
    budget: usize,
    run: Run,
    runs: Vec<PathBuf>,
    /// Names scratch files.
    next_name: u64,
}

impl Db {
    /// A [`BulkLoader`] into the default keyspace.
    ///
    /// # Errors
    /// The scratch directory cannot be created (or a stale one cleared).
    pub fn bulk_loader(&self) -> Result<BulkLoader<'_>> {
        BulkLoader::new(&self.inner, None)
    }
}

impl Keyspace {
    /// A [`BulkLoader`] into this keyspace.
    ///
    /// # Errors
    /// As [`Db::bulk_loader`]; [`Error::KeyspaceDropped`] once the keyspace is dropped.
    pub fn bulk_loader(&self) -> Result<BulkLoader<'_>> {
        self.state.check_live()?;
        BulkLoader::new(&self.inner, Some(self))
    }
}

impl<'a> BulkLoader<'a> {
    fn new(inner: &'a Inner, ks: Option<&'a Keyspace>) -> Result<Self> {
        inner.check_writable()?;
        let scratch = inner.dir.join(BULK_DIR);
        remove_dir(inner.options.fs.as_ref(), &scratch)?;
        (inner.options.fs.create_dir_all(&scratch))
            .map_err(fs_error("creating the bulk-load directory", &scratch))?;
        Ok(BulkLoader {
            inner,
            ks,
            scratch,
            budget: DEFAULT_BULK_MEMORY,
            run: Run::default(),
            runs: Vec::new(),
            next_name: 0,
        })
    }

    /// Sets the memory budget for sorting (default [`DEFAULT_BULK_MEMORY`]); a smaller
    /// one spills more runs to disk.
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.budget = bytes.max(1);
        self
    }

    /// Adds an entry; a later put of the same key replaces it.
    ///
    /// # Errors
    /// A key or value of 4 GiB or more; a failed spill to disk.
    pub fn put(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<()> {
        let (key, value) = (key.as_ref(), value.as_ref());
        for (what, len) in [("key", key.len()), ("value", value.len())] {
            if u32::try_from(len).is_err() {
                return Err(Error::Table {
                    operation: "adding an entry to a bulk load",
                    path: self.scratch.clone(),
                    source: Box::new(quickcache_sstable::Error::EntryTooLarge { what, len }),
                });
            }
        }
        self.run.push(key, value);
        if self.run.bytes() + ENTRY_OVERHEAD >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorts the in-memory entries and writes them as a run.
    fn spill(&mut self) -> Result<()> {
        self.run.sort_dedup();
        let path = self.scratch_path("run");
        let options = TableOptions {
            bloom_bits_per_key: 0,
            compression: Compression::None,
            ..TableOptions::default()
        };
        let fs = self.inner.options.fs.as_ref();
        let err = |e| table_error("writing a bulk-load run", &path)(e);
        let mut builder = TableBuilder::new(fs, &path, options).map_err(err)?;
        for (k, v) in self.run.iter() {
            builder.add_plain(k, v).map_err(err)?;
        }
        // Scratch: a crash loses the whole load anyway.
        builder.finish_unsynced().map_err(err)?;
        self.run.clear();
        self.runs.push(path);
        Ok(())
    }

    fn scratch_path(&mut self, what: &str) -> PathBuf {
        self.next_name += 1;
        self.scratch
            .join(format!("{what}-{:06}.sst", self.next_name))
    }

    /// Writes the final tables and ingests them all at once; removes the scratch
    /// directory.
    ///
    /// # Errors
    /// A failed write, read or ingest (see [`Db::ingest`]); nothing is loaded then.
    pub fn finish(mut self) -> Result<IngestReport> {
        let tables = self.write_tables()?;
        let inner = self.inner;
        let report = match self.ks {
            None => {
                let target = Target {
                    keyspace: quickcache_sstable::KeyspaceId::DEFAULT,
                    mem: &inner.mem,
                    ks: None,
                };
                inner.ingest(&target, &tables, &IngestOptions::default(), How::Rename)
            }
            Some(ks) => {
                let target = Target {
                    keyspace: ks.state.id,
                    mem: &ks.state.mem,
                    ks: Some(&ks.state),
                };
                inner.ingest(&target, &tables, &IngestOptions::default(), How::Rename)
            }
        };
        let removed = remove_dir(inner.options.fs.as_ref(), &self.scratch);
        let report = report?;
        removed?;
        Ok(report)
    }

    /// The final tables: from the one in-memory run, or merged from the spilled runs.
    fn write_tables(&mut self) -> Result<Vec<PathBuf>> {
        let mut out = Output::new(self);
        if self.runs.is_empty() {
            self.run.sort_dedup();
            let run = std::mem::take(&mut self.run);
            for (k, v) in run.iter() {
                out.add(self, k, v)?;
            }
            return out.finish();
        }
        if !self.run.is_empty() {
            self.spill()?;
        }
        let fs = self.inner.options.fs.as_ref();
        let mut cursors = Vec::with_capacity(self.runs.len());
        for path in &self.runs {
            let err = table_error("reading a bulk-load run", path);
            let table = Table::open(fs, path)
                .map_err(|e| table_error("reading a bulk-load run", path)(e))?;
            let mut cursor = table.cursor();
            cursor.seek_to_first().map_err(err)?;
            cursors.push(cursor);
        }
        let runs = std::mem::take(&mut self.runs);
        RunMerge::new(cursors).for_each(|k, v| out.add(self, k, v))?;
        for path in &runs {
            fs.remove(path)
                .map_err(fs_error("removing a bulk-load run", path))?;
        }
        out.finish()
    }
}

/// The final tables being written, each cut at the tree's table size.
struct Output {
    builder: Option<(TableBuilder, PathBuf)>,
    done: Vec<PathBuf>,
    table_size: u64,
    /// The tree's options for its bottom level, where a load into an empty key range
    /// lands (so the tables are compressed as a compaction would write them there).
    options: TableOptions,
}

impl Output {
    fn new(loader: &BulkLoader<'_>) -> Output {
        let keyspace = loader.ks.map_or(KeyspaceId::DEFAULT, |ks| ks.state.id);
        let tree = loader.inner.set.options_of(keyspace);
        Output {
            builder: None,
            done: Vec::new(),
            table_size: tree.table_size,
            options: tree.table_options(Level::BOTTOM),
        }
    }

    fn add(&mut self, loader: &mut BulkLoader<'_>, key: &[u8], value: &[u8]) -> Result<()> {
        if self.builder.is_none() {
            let path = loader.scratch_path("table");
            let fs = loader.inner.options.fs.as_ref();
            let builder = TableBuilder::new(fs, &path, self.options.clone())
                .map_err(|e| table_error("writing a loaded table", &path)(e))?;
            self.builder = Some((builder, path));
        }
        let Some((builder, path)) = self.builder.as_mut() else {
            return Ok(());
        };
        (builder.add_plain(key, value))
            .map_err(|e| table_error("writing a loaded table", path)(e))?;
        if builder.estimated_file_size() >= self.table_size {
            self.close()?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        if let Some((builder, path)) = self.builder.take() {
            (builder.finish()).map_err(|e| table_error("writing a loaded table", &path)(e))?;
            self.done.push(path);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<PathBuf>> {
        self.close()?;
        Ok(self.done)
    }
}

/// Removes `dir` and the files in it, if it exists.
fn remove_dir(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    if !fs
        .exists(dir)
        .map_err(fs_error("looking for the bulk-load directory", dir))?
    {
        return Ok(());
    }
    let names = fs
        .list(dir)
        .map_err(fs_error("listing the bulk-load directory", dir))?;
    for name in names {
        let path = dir.join(name);
        fs.remove(&path)
            .map_err(fs_error("removing a bulk-load file", &path))?;
    }
    Ok(())
}
