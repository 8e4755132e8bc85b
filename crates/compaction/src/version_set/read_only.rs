//! Opening a tree read-only, beside a writer that may be changing it: the manifest
//! `CURRENT` names is replayed in memory, every table is mapped at once, and nothing
//! is ever written.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use quickcache_fs::{DynFs, Op, WritableFile};
use snafu::ResultExt;

use super::VersionSet;
use crate::current::read_current;
use crate::error::FsSnafu;
use crate::manifest::ManifestWriter;
use crate::recovery::replay;
use crate::{CompactionOptions, Result};

/// The manifest "file" of a read-only tree: every write fails, so that no edit can
/// ever reach the disk (the facade refuses writes before they get here).
#[derive(Debug)]
struct Refusing(PathBuf);

impl Refusing {
    fn refuse(&self, op: Op) -> quickcache_fs::Result<()> {
        Err(quickcache_fs::Error::Io {
            op,
            path: self.0.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::ReadOnlyFilesystem,
                "the tree was opened read-only",
            ),
        })
    }
}

impl WritableFile for Refusing {
    fn append(&mut self, _: &[u8]) -> quickcache_fs::Result<()> {
        self.refuse(Op::Append)
    }
    fn preallocate(&mut self, _: u64) -> quickcache_fs::Result<()> {
        self.refuse(Op::Preallocate)
    }
    fn sync_data(&mut self) -> quickcache_fs::Result<()> {
        self.refuse(Op::SyncData)
    }
    fn sync_all(&mut self) -> quickcache_fs::Result<()> {
        self.refuse(Op::SyncAll)
    }
    fn len(&self) -> u64 {
        0
    }
    fn close(self: Box<Self>) -> quickcache_fs::Result<()> {
        Ok(())
    }
}

impl VersionSet {
    /// Opens the tree in `dir` read-only: replays the manifest `CURRENT` names and
    /// maps every table of every keyspace. Writes nothing, takes no lock, removes
    /// nothing; every edit fails. A damaged or torn manifest tail (a writer may be
    /// appending) is left out, as an open would.
    ///
    /// A writer may delete files under it: once this returns, the tables stay
    /// readable through their maps whatever the writer does. Before, a file the
    /// writer removed meanwhile (a table compacted away, a manifest replaced) makes
    /// this fail with a not-found error, after which opening again sees the newer tree.
    pub fn open_read_only(fs: DynFs, dir: &Path, options: CompactionOptions) -> Result<VersionSet> {
        let number = read_current(fs.as_ref(), dir)?;
        let budget = options.reader_budget();
        let (version, state, next_file, _read) = replay(&fs, dir, number, &budget)?;
        // Every file mapped first, parsed after: the window in which a writer's
        // compaction can delete a table this open has yet to reach is a few system
        // calls long, not the time it takes to read every table's index.
        let versions = std::iter::once(&version)
            .chain(state.catalogue.keyspaces.values().map(|t| &*t.version));
        let mut mapped = Vec::new();
        for version in versions {
            for (_, table) in version.tables() {
                let path = table.path();
                let map = fs.map(path).context(FsSnafu { path })?;
                mapped.push((Arc::clone(table), map));
            }
        }
        for (table, map) in mapped {
            table.open_mapped(map)?;
        }
        let path = dir.join(crate::manifest_name(number));
        let file = Box::new(Refusing(path.clone()));
        let writer = ManifestWriter::refusing(number, path, file);
        Ok(Self::assemble(
            fs, dir, options, version, writer, state, next_file, budget,
        ))
    }
}
