//! Checkpoints: a consistent, openable copy of a live database in another
//! directory, taken while writes go on (RocksDB's `Checkpoint`).
//!
//! How, in order:
//! 1. Deleting WAL segments is put off ([`WalHold`]): a flush finishing meanwhile
//!    must not delete a segment the copy still has to read.
//! 2. The tree is frozen ([`quickcache_compaction::FrozenTree`]): every keyspace's
//!    tables and log number as of one manifest edit. Holding it keeps those tables on
//!    disk however compaction goes on (`docs/crash-safety.md` rule 4).
//! 3. The WAL is rotated: every record appended before this call (so every write
//!    acknowledged before it) is in a lower segment, finished and synced.
//! 4. Tables are hard-linked (copied across file systems), and the segments from
//!    the tree's oldest log number up to the rotation are copied, all synced.
//! 5. A fresh manifest describing the frozen tree is written, then `CURRENT`.
//!
//! The tables hold what the segments below each keyspace's log number held, and the
//! copied segments everything from there to the rotation: replayed at open they give
//! the database as of the rotation, a prefix of the writes that includes every write
//! acknowledged before the call. Everything is built in a temporary directory beside
//! the destination and renamed into place last (rules 1 and 3), so a crash leaves no
//! destination, or a complete one.

use std::path::{Path, PathBuf};

use quickcache_compaction::FrozenTree;
use quickcache_fs::FileSystem;
use quickcache_wal::SegmentId;

mod files;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::inner::{Inner, lock};
use crate::open::{WAL_DIR, fs_error};
use files::Placed;

/// What [`Db::checkpoint`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckpointReport {
    /// The directory the checkpoint is in.
    pub path: PathBuf,
    /// Tables given a second name (a hard link): no byte copied.
    pub tables_linked: usize,
    /// Tables copied (the destination is on another file system).
    pub tables_copied: usize,
    /// WAL segments copied.
    pub wal_segments: usize,
    /// Bytes copied, tables and WAL together.
    pub bytes_copied: u64,
}

/// Puts off the deletion of WAL segments while it lives (see `Inner::trim_wal`).
pub(crate) struct WalHold<'a>(&'a Inner);

impl<'a> WalHold<'a> {
    /// Waits for a deletion under way to finish, then holds off the next ones.
    pub(crate) fn new(inner: &'a Inner) -> WalHold<'a> {
        *lock(&inner.background.wal_holds) += 1;
        WalHold(inner)
    }
}

impl Drop for WalHold<'_> {
    fn drop(&mut self) {
        let mut holds = lock(&self.0.background.wal_holds);
        *holds = holds.saturating_sub(1);
    }
}

impl Db {
    /// Writes a consistent copy of the database to the new directory `dest`, while
    /// reads and writes go on. The copy opens as an ordinary database (every
    /// keyspace) and holds every write acknowledged before this call, and none that
    /// was not followed by all the writes acknowledged before it.
    ///
    /// Tables are hard-linked where `dest` is on the same file system (they never
    /// change, so the copy costs almost no space until compaction replaces them), and
    /// copied otherwise; the WAL segments the tables do not cover are copied. The copy
    /// is built in a temporary directory beside `dest` and renamed to `dest` once
    /// complete and synced: after a crash, `dest` is absent or whole.
    ///
    /// # Errors
    /// `dest` exists ([`Error::CheckpointExists`]), or its parent does not; an I/O
    /// error; the database is closed, or read-only.
    ///
    /// # Examples
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path().join("live"))?;
    /// db.put("k", "v")?;
    /// let report = db.checkpoint(dir.path().join("backup"))?;
    /// assert_eq!(report.path, dir.path().join("backup"));
    /// db.put("k", "newer")?;
    ///
    /// let copy = quickcache::Db::open(dir.path().join("backup"))?;
    /// assert_eq!(copy.get("k")?.unwrap(), b"v");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checkpoint(&self, dest: impl AsRef<Path>) -> Result<CheckpointReport> {
        let inner = &self.inner;
        inner.check_writable()?;
        let fs = inner.options.fs.as_ref();
        let dest = dest.as_ref();
        let exists = fs.exists(dest);
        if exists.map_err(fs_error("looking for the checkpoint directory", dest))? {
            return Err(Error::CheckpointExists {
                path: dest.to_path_buf(),
            });
        }
        let tmp = files::temporary_name(dest).ok_or_else(|| Error::CheckpointExists {
            path: dest.to_path_buf(),
        })?;
        fs.create_dir_all(&tmp.join(WAL_DIR))
            .map_err(fs_error("creating the checkpoint directory", &tmp))?;
        match inner.build_checkpoint(&tmp) {
            Ok(mut report) => {
                publish(fs, &tmp, dest).inspect_err(|_| files::clear(fs, &tmp, WAL_DIR))?;
                report.path = dest.to_path_buf();
                Ok(report)
            }
            Err(e) => {
                files::clear(fs, &tmp, WAL_DIR);
                Err(e)
            }
        }
    }
}

/// Renames the finished copy to `dest` and syncs the parent directory, which makes
/// the rename durable (`docs/crash-safety.md` rule 1).
fn publish(fs: &dyn FileSystem, tmp: &Path, dest: &Path) -> Result<()> {
    fs.rename(tmp, dest)
        .map_err(fs_error("renaming the finished checkpoint", dest))?;
    let parent = dest.parent().unwrap_or(Path::new("."));
    fs.sync_dir(parent).map_err(fs_error(
        "syncing the checkpoint's parent directory",
        parent,
    ))
}

impl Inner {
    /// Steps 1 to 5 of the module doc, into `tmp` (which exists, with its WAL
    /// directory).
    fn build_checkpoint(&self, tmp: &Path) -> Result<CheckpointReport> {
        let fs = self.options.fs.as_ref();
        let _hold = WalHold::new(self);
        let mut tree = self
            .set
            .freeze()
            .map_err(crate::open::tree_error("freezing the tree", &self.dir))?;
        let end = self
            .wal()?
            .rotate()
            .map_err(|source| self.fail(self.wal_error("starting a new segment", source)))?;
        self.options.sync_points.hit("checkpoint:frozen");
        let mut report = self.place_tables(&tree, tmp)?;
        let first = tree.min_log_number().max(SegmentId::FIRST.0);
        let (segments, bytes) = self.copy_segments(first, end, tmp)?;
        // The newest segment copied, if any: what the copy's manifest may require.
        tree.set_wal_segment(if end.0 > first { end.0 - 1 } else { 0 });
        report.wal_segments = segments;
        report.bytes_copied += bytes;
        let wal = tmp.join(WAL_DIR);
        fs.sync_dir(&wal)
            .map_err(fs_error("syncing the checkpoint's WAL directory", &wal))?;
        fs.sync_dir(tmp)
            .map_err(fs_error("syncing the checkpoint directory", tmp))?;
        // Last: only now does the directory describe a database (rule 3).
        tree.write_manifest(fs, tmp).map_err(|source| Error::Tree {
            operation: "writing the checkpoint's manifest",
            path: tmp.to_path_buf(),
            source: Box::new(source),
        })?;
        Ok(report)
    }

    /// Links (or copies) every table of the frozen tree into `tmp`.
    fn place_tables(&self, tree: &FrozenTree, tmp: &Path) -> Result<CheckpointReport> {
        let fs = self.options.fs.as_ref();
        let mut report = CheckpointReport::default();
        for table in tree.tables() {
            let from = table.id.path(&self.dir);
            match files::link_or_copy(fs, &from, &table.id.path(tmp))? {
                Placed::Linked => report.tables_linked += 1,
                Placed::Copied(bytes) => {
                    report.tables_copied += 1;
                    report.bytes_copied += bytes;
                }
            }
        }
        Ok(report)
    }

    /// Copies the WAL segments from `first` up to (not including) `end`; every one
    /// must exist (none is deleted while the hold lives). Returns how many, and bytes.
    fn copy_segments(&self, first: u64, end: SegmentId, tmp: &Path) -> Result<(usize, u64)> {
        let fs = self.options.fs.as_ref();
        let (wal, to) = (self.dir.join(WAL_DIR), tmp.join(WAL_DIR));
        let (mut count, mut bytes) = (0, 0);
        for n in first..end.0 {
            let segment = SegmentId(n);
            let from = segment.path_in(&wal);
            bytes += files::copy(fs, &from, &segment.path_in(&to))?;
            count += 1;
        }
        Ok((count, bytes))
    }
}
