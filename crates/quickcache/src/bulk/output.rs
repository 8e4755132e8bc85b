//! Writing the load's final tables: the sorted entries are cut into key ranges
//! ("parts"), and each part's tables are built on a thread of its own.
//!
//! Why parts: building a table (blocks, filter, the level's compression, checksums)
//! is most of a load's time and uses one core; the parts cover disjoint key ranges,
//! so their tables never overlap and need no merging afterwards. One more thread
//! syncs the finished tables while the parts go on building.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::thread::{Scope, ScopedJoinHandle};

use quickcache_fs::DynFs;
use quickcache_sstable::{TableBuilder, TableOptions};

use super::merge::RunMerge;
use super::run::Run;
use super::scratch::{RunFile, RunReader};
use crate::error::{Error, Result};
use crate::open::{fs_error, table_error};

/// At most this many parts, whatever the core count: beyond it the disk, not the
/// CPU, limits a load.
const MAX_PARTS: usize = 8;

/// A part holds at least this many entries: fewer are not worth a thread.
const MIN_PART: usize = 64 << 10;

/// What every part's tables are written with, and where.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) fs: DynFs,
    pub(crate) scratch: PathBuf,
    /// Tables are cut once they reach this size.
    pub(crate) table_size: u64,
    /// The tree's options for the level the tables will land in.
    pub(crate) options: TableOptions,
}

/// How many parts `entries` entries are split into.
pub(crate) fn parts_for(entries: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.clamp(1, MAX_PARTS).min(entries / MIN_PART).max(1)
}

/// The tables of a sorted, duplicate-free in-memory run.
pub(crate) fn from_run(plan: &Plan, run: &Run) -> Result<Vec<PathBuf>> {
    let (n, parts) = (run.len(), parts_for(run.len()));
    build_parts(plan, parts, |p, out| {
        let (from, to) = (n * p / parts, n * (p + 1) / parts);
        for (k, v) in (from..to).filter_map(|i| run.get(i)) {
            out.add(k, v)?;
        }
        Ok(())
    })
}

/// The tables of the merged `runs` (later runs win on equal keys), split at
/// `splits` (ascending; part `p` holds the keys from `splits[p - 1]` up to, not
/// including, `splits[p]`).
pub(crate) fn from_runs(plan: &Plan, runs: &[RunFile], splits: &[Vec<u8>]) -> Result<Vec<PathBuf>> {
    build_parts(plan, splits.len() + 1, |p, out| {
        let start = p.checked_sub(1).and_then(|i| splits.get(i));
        let readers = (runs.iter())
            .map(|run| RunReader::open(&plan.fs, run, start.map(Vec::as_slice)))
            .collect::<Result<Vec<_>>>()?;
        let merge = RunMerge::new(readers, splits.get(p).cloned());
        merge.for_each(|k, v| out.add(k, v))
    })
}

/// Runs `part(p, output)` for each part `p` on a thread of its own, and syncs the
/// finished tables on one more thread meanwhile: a build thread that synced each
/// table itself would leave its core idle for the length of every sync.
fn build_parts(
    plan: &Plan,
    parts: usize,
    part: impl Fn(usize, &mut Output<'_>) -> Result<()> + Sync,
) -> Result<Vec<PathBuf>> {
    let (to_sync, finished) = channel::<PathBuf>();
    std::thread::scope(|s| {
        let syncer = spawn(s, move || {
            for path in finished {
                sync(plan, &path)?;
            }
            Ok(Vec::new())
        });
        let part = &part;
        let mut threads = vec![syncer];
        threads.extend((0..parts).map(|p| {
            let to_sync = to_sync.clone();
            spawn(s, move || {
                let mut out = Output::new(plan, p, to_sync);
                part(p, &mut out)?;
                out.finish()
            })
        }));
        // The syncer ends once every sender is gone: the parts' go as they end.
        drop(to_sync);
        join_all(threads)
    })
}

/// Makes a finished table's contents durable.
fn sync(plan: &Plan, path: &Path) -> Result<()> {
    let fs = plan.fs.as_ref();
    let mut file = (fs.open_append(path)).map_err(fs_error("opening a loaded table", path))?;
    file.sync_all()
        .map_err(fs_error("syncing a loaded table", path))?;
    file.close()
        .map_err(fs_error("closing a loaded table", path))
}

type Part<'s> = std::io::Result<ScopedJoinHandle<'s, Result<Vec<PathBuf>>>>;

fn spawn<'s, 'e>(
    s: &'s Scope<'s, 'e>,
    work: impl FnOnce() -> Result<Vec<PathBuf>> + Send + 's,
) -> Part<'s> {
    std::thread::Builder::new()
        .name("quickcache-bulk-build".into())
        .spawn_scoped(s, work)
}

/// Every part's tables, or the first error (after every started part has ended:
/// the scope waits for them, and each does a bounded amount of work).
fn join_all(parts: Vec<Part<'_>>) -> Result<Vec<PathBuf>> {
    let mut tables = Vec::new();
    let mut first_error = None;
    for part in parts {
        let result = match part {
            Err(source) => Err(Error::Spawn {
                what: "bulk-load build",
                source,
            }),
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(Error::Spawn {
                    what: "bulk-load build",
                    source: std::io::Error::other("the thread panicked"),
                })
            }),
        };
        match result {
            Ok(paths) => tables.extend(paths),
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    first_error.map_or(Ok(tables), Err)
}

/// One part's tables being written, each cut at the plan's table size.
struct Output<'p> {
    plan: &'p Plan,
    part: usize,
    /// Where finished tables go to be synced.
    to_sync: Sender<PathBuf>,
    builder: Option<(TableBuilder, PathBuf)>,
    done: Vec<PathBuf>,
}

impl<'p> Output<'p> {
    fn new(plan: &'p Plan, part: usize, to_sync: Sender<PathBuf>) -> Self {
        Output {
            plan,
            part,
            to_sync,
            builder: None,
            done: Vec::new(),
        }
    }

    fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if self.builder.is_none() {
            let name = format!("table-{:02}-{:06}.sst", self.part, self.done.len() + 1);
            let path = self.plan.scratch.join(name);
            let builder =
                TableBuilder::new(self.plan.fs.as_ref(), &path, self.plan.options.clone())
                    .map_err(|e| table_error("writing a loaded table", &path)(e))?;
            self.builder = Some((builder, path));
        }
        let Some((builder, path)) = self.builder.as_mut() else {
            return Ok(());
        };
        (builder.add_plain(key, value)).map_err(|e| write_error(path, e))?;
        if builder.estimated_file_size() >= self.plan.table_size {
            self.close()?;
        }
        Ok(())
    }

    /// Finishes the open table and hands it to the syncer: it joins the database as
    /// it is, so it must be durable before the ingest.
    fn close(&mut self) -> Result<()> {
        if let Some((builder, path)) = self.builder.take() {
            (builder.finish_unsynced()).map_err(|e| write_error(&path, e))?;
            if self.to_sync.send(path.clone()).is_err() {
                // The syncer stopped on an error, which it reports.
                return Err(Error::Spawn {
                    what: "bulk-load sync",
                    source: std::io::Error::other("the sync thread stopped"),
                });
            }
            self.done.push(path);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<PathBuf>> {
        self.close()?;
        Ok(self.done)
    }
}

fn write_error(path: &Path, e: quickcache_sstable::Error) -> Error {
    table_error("writing a loaded table", path)(e)
}
