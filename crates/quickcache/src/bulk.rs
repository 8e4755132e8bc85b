//! [`BulkLoader`]: loads unsorted key-value pairs into a database through tables and
//! [`Db::ingest`], bypassing the WAL and the memtable.
//!
//! Entries are gathered in memory up to half the budget, then handed to a second
//! thread that sorts them (the latest put of a key wins) and spills them as a sorted
//! run, a plain file of records ([`scratch`]) in a scratch directory inside the
//! database directory, while the caller fills the next half ([`spill`]). [`BulkLoader::finish`] merges the runs (or
//! sorts the one in-memory run; input that arrives in order is not sorted) into
//! tables of the database's table size, built in key ranges on several threads
//! ([`output`]), moves them into the tree in one ingest, and removes the scratch
//! directory.
//!
//! It lives in this crate, not the sstable crate, because it ends in an ingest and
//! takes its file system, directory and table size from the database; the sstable
//! crate stays usable without the engine.

mod merge;
mod output;
mod run;
mod scratch;
mod spill;

use std::path::{Path, PathBuf};

use quickcache_compaction::Level;
use quickcache_fs::FileSystem;
use quickcache_sstable::KeyspaceId;

use self::output::Plan;
use self::run::{ENTRY_OVERHEAD, Run};
use self::spill::Spiller;
use crate::error::{Error, Result};
use crate::ingest::install::Target;
use crate::ingest::{How, IngestOptions, IngestReport};
use crate::inner::Inner;
use crate::open::fs_error;
use crate::{Db, Keyspace};

/// The scratch directory's name inside the database directory.
pub const BULK_DIR: &str = "bulk-load.tmp";

/// The default memory budget of a loader: 256 MiB.
pub const DEFAULT_BULK_MEMORY: usize = 256 << 20;

/// One key in this many is kept as a sample, to split the merge of spilled runs into
/// key ranges of about equal size.
const SAMPLE_EVERY: u64 = 4096;

/// Loads unsorted entries into a database (or one keyspace) far faster than writes
/// do: no WAL, no memtable, and the tables land in the deepest level they can.
///
/// Memory stays within the budget ([`BulkLoader::memory_budget`]) plus one table
/// builder's buffers per core; beyond half of it, sorted runs are spilled to scratch
/// files by a second thread (the other half takes the next entries). Entries
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
    /// Sorts and writes full runs on its own thread.
    spiller: Spiller,
    /// Whether any run went to the spiller.
    spilled: bool,
    /// Entries put so far.
    puts: u64,
    /// Every [`SAMPLE_EVERY`]th key put.
    samples: Vec<Vec<u8>>,
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
        let spiller = Spiller::start(inner.options.fs.clone(), scratch.clone())?;
        Ok(BulkLoader {
            inner,
            ks,
            scratch,
            budget: DEFAULT_BULK_MEMORY,
            run: Run::default(),
            spiller,
            spilled: false,
            puts: 0,
            samples: Vec::new(),
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
        self.puts += 1;
        if self.puts.is_multiple_of(SAMPLE_EVERY) {
            self.samples.push(key.to_vec());
        }
        // Half the budget: the spiller may hold the previous run meanwhile.
        if self.run.bytes() + ENTRY_OVERHEAD >= self.budget / 2 {
            self.spill()?;
        }
        Ok(())
    }

    /// Hands the in-memory run to the spill thread and goes on with an empty one.
    fn spill(&mut self) -> Result<()> {
        let full = std::mem::take(&mut self.run);
        self.run = self.spiller.spill(full)?;
        self.spilled = true;
        Ok(())
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
        let plan = self.plan();
        if !self.spilled {
            self.spiller.finish()?;
            self.run.sort_dedup();
            return output::from_run(&plan, &self.run);
        }
        if !self.run.is_empty() {
            self.spill()?;
        }
        self.run = Run::default();
        let runs = self.spiller.finish()?;
        let tables = output::from_runs(&plan, &runs, &self.splits())?;
        let fs = self.inner.options.fs.as_ref();
        for run in &runs {
            fs.remove(&run.path)
                .map_err(fs_error("removing a bulk-load run", &run.path))?;
        }
        Ok(tables)
    }

    /// Keys that cut the merge into key ranges of about equal size, one per core.
    fn splits(&mut self) -> Vec<Vec<u8>> {
        let parts = output::parts_for(usize::try_from(self.puts).unwrap_or(usize::MAX));
        let mut samples = std::mem::take(&mut self.samples);
        samples.sort_unstable();
        samples.dedup();
        let mut splits: Vec<Vec<u8>> = (1..parts)
            .filter_map(|p| samples.get(samples.len() * p / parts).cloned())
            .collect();
        splits.dedup();
        splits
    }

    /// Where and how the final tables are written: the tree's options for its bottom
    /// level, where a load into an empty key range lands (so the tables are
    /// compressed as a compaction would write them there).
    fn plan(&self) -> Plan {
        let keyspace = self.ks.map_or(KeyspaceId::DEFAULT, |ks| ks.state.id);
        let tree = self.inner.set.options_of(keyspace);
        Plan {
            fs: self.inner.options.fs.clone(),
            scratch: self.scratch.clone(),
            table_size: tree.table_size,
            options: tree.table_options(Level::BOTTOM),
        }
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
