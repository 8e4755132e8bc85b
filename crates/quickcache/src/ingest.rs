//! Bulk import: [`Db::ingest`] makes tables written with the sstable crate's
//! [`TableBuilder`](quickcache_sstable::TableBuilder) part of the tree without passing
//! their entries through the WAL or the memtable, as RocksDB's `IngestExternalFile`.
//!
//! 1. Each file is checked ([`prepare`]): an intact table, every entry numbered 0,
//!    each user key once; the files must not overlap each other.
//! 2. Each is copied into the database directory under a fresh table number and
//!    synced; then the directory is synced (`docs/crash-safety.md`, rule 1). A crash
//!    from here until step 4 leaves unreferenced tables, which the next open deletes.
//! 3. With the tree's writers held off ([`install`]): if a memtable holds a key in
//!    an ingested range, or a range tombstone over one, it is flushed first and the
//!    step retried. Otherwise the WAL is synced (the synced edit makes the ingest
//!    survive a power loss, so every write before it must too), and the
//!    ingest takes one sequence number `G` above every write so far, and each table
//!    the deepest level where nothing above or at it overlaps it.
//! 4. One manifest edit adds every table, each marked with `G` as its global
//!    sequence number (manifest tag 12), and records `G` as the newest ingest applied
//!    (tag 13): all of them or none survive a crash. Every entry then reads as
//!    written at `G`: newer than all the tree held before, so it wins over it, and
//!    invisible to snapshots taken before.
//! 5. A synced WAL record names the ingest: `G`, the keyspace, each table's number,
//!    size and tail checksum ([`record`]). Should the edit rot later (a damaged last
//!    manifest edit reads as a torn append and is dropped), recovery redoes it from
//!    the tables, which the open set aside in `lost/` ([`redo`]); an ingest numbered
//!    at or below the manifest's tag 13 is applied, even if its tables were compacted
//!    away since.

pub(crate) mod install;
mod prepare;
pub(crate) mod record;
pub(crate) mod redo;

use std::cell::Cell;
use std::path::{Path, PathBuf};

use quickcache_compaction::TableId;
use quickcache_sstable::KeyspaceId;

use self::install::{Installed, Target};
use crate::error::{Error, Result};
use crate::inner::Inner;
use crate::{Db, Keyspace};

/// How many times an ingest flushes memtables that hold keys in its ranges before it
/// gives up: each flush empties them, so only writers racing into the very ranges
/// being ingested can make it try again.
const FLUSH_ATTEMPTS: usize = 4;

/// How [`Db::ingest_with`] treats the files it is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOptions {
    /// Remove each source file once the ingest is durable (the database keeps its
    /// own copy). Off by default: the files are left as they were.
    pub move_files: bool,
}

/// What an ingest did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestReport {
    /// For each file, in the order given: the level it joined.
    pub levels: Vec<usize>,
    /// The sequence number all ingested entries carry.
    pub seqno: u64,
}

impl Db {
    /// Imports tables written with [`TableBuilder`](quickcache_sstable::TableBuilder)
    /// into the default keyspace, atomically and without the WAL (see
    /// [`Db::ingest_with`]).
    ///
    /// # Examples
    /// ```
    /// use quickcache_sstable::{TableBuilder, TableOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path().join("db"))?;
    /// db.put("b", "old")?;
    /// let file = dir.path().join("load.sst");
    /// let mut builder = TableBuilder::create(&file, TableOptions::default())?;
    /// builder.add_plain(b"a", b"1")?; // ascending keys, each once
    /// builder.add_plain(b"b", b"2")?;
    /// builder.finish()?;
    /// db.ingest([&file])?;
    /// assert_eq!(db.get("a")?.unwrap(), b"1");
    /// assert_eq!(db.get("b")?.unwrap(), b"2"); // newer than what the db held
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest<P: AsRef<Path>>(
        &self,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<IngestReport> {
        self.ingest_with(paths, &IngestOptions::default())
    }

    /// Imports tables written with [`TableBuilder`](quickcache_sstable::TableBuilder)
    /// into the default keyspace, as RocksDB's `IngestExternalFile` does.
    ///
    /// All files or none become part of the database, also across a crash (one
    /// manifest edit). Their entries are newer than every write before the call (they
    /// overwrite existing values of the same keys) and older than every write after
    /// it; a snapshot taken before does not see them. A memtable holding keys (or a
    /// range delete) in the files' ranges is flushed first. When it returns, the
    /// ingest and every write before it are durable (it syncs the WAL before its
    /// manifest edit). The files are copied into the database directory (and, with
    /// [`IngestOptions::move_files`], removed once that is durable).
    ///
    /// # Errors
    /// The ingest is logged in the WAL too, right after its manifest edit: should
    /// that edit be damaged later, the next open redoes it (`docs/durability.md`,
    /// "Corruption matrix"). A failure to log it is an I/O error after the ingest
    /// took effect: the database turns read-only, and the next open has the ingest.
    ///
    /// Nothing is ingested if any file is refused: [`Error::IngestRefused`] for a
    /// table that is empty, carries sequence numbers other than 0 (write it with
    /// `add_plain`, or with sequence number 0), holds a user key twice, or overlaps
    /// another file of the same call; [`Error::is_corruption`] for a damaged table;
    /// I/O errors; the read-only state after a background failure.
    pub fn ingest_with<P: AsRef<Path>>(
        &self,
        paths: impl IntoIterator<Item = P>,
        options: &IngestOptions,
    ) -> Result<IngestReport> {
        let paths: Vec<PathBuf> = paths
            .into_iter()
            .map(|p| p.as_ref().to_path_buf())
            .collect();
        let inner = &self.inner;
        let target = Target {
            keyspace: KeyspaceId::DEFAULT,
            mem: &inner.mem,
            ks: None,
        };
        inner.ingest(&target, &paths, options, How::Copy)
    }
}

impl Keyspace {
    /// [`Db::ingest`] into this keyspace.
    ///
    /// # Examples
    /// ```
    /// use quickcache_sstable::{TableBuilder, TableOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let db = quickcache::Db::open(dir.path().join("db"))?;
    /// let users = db.keyspace("users")?;
    /// let file = dir.path().join("users.sst");
    /// let mut builder = TableBuilder::create(&file, TableOptions::default())?;
    /// builder.add_plain(b"ada", b"lovelace")?;
    /// builder.finish()?;
    /// users.ingest([&file])?;
    /// assert_eq!(users.get("ada")?.unwrap(), b"lovelace");
    /// assert_eq!(db.get("ada")?, None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest<P: AsRef<Path>>(
        &self,
        paths: impl IntoIterator<Item = P>,
    ) -> Result<IngestReport> {
        self.ingest_with(paths, &IngestOptions::default())
    }

    /// [`Db::ingest_with`] into this keyspace.
    ///
    /// # Errors
    /// Those of [`Db::ingest_with`]; [`Error::KeyspaceDropped`] once the keyspace is
    /// dropped.
    pub fn ingest_with<P: AsRef<Path>>(
        &self,
        paths: impl IntoIterator<Item = P>,
        options: &IngestOptions,
    ) -> Result<IngestReport> {
        self.state.check_live()?;
        let paths: Vec<PathBuf> = paths
            .into_iter()
            .map(|p| p.as_ref().to_path_buf())
            .collect();
        let target = Target {
            keyspace: self.state.id,
            mem: &self.state.mem,
            ks: Some(&self.state),
        };
        self.inner.ingest(&target, &paths, options, How::Copy)
    }
}

/// How files come into the database directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    /// Copied: the caller's files stay as they are.
    Copy,
    /// Renamed: files the engine wrote itself on the same file system
    /// ([`crate::BulkLoader`]'s), which nobody else needs.
    Rename,
}

impl Inner {
    /// Checks, copies in and installs `paths` (see the module documentation).
    pub(crate) fn ingest(
        &self,
        target: &Target<'_>,
        paths: &[PathBuf],
        options: &IngestOptions,
        how: How,
    ) -> Result<IngestReport> {
        self.check_writable()?;
        let fs = self.options.fs.as_ref();
        let trust = match how {
            How::Copy => prepare::Trust::None,
            How::Rename => prepare::Trust::Written,
        };
        let files = prepare::check_all(fs, paths, trust)?;
        let ids = files.iter().map(|_| self.set.new_table_id());
        let ids: Vec<TableId> =
            ids.collect::<std::result::Result<_, _>>()
                .map_err(crate::open::tree_error(
                    "numbering ingested tables",
                    &self.dir,
                ))?;
        let copied = self.copy_in(&files, &ids, how);
        let edit_written = Cell::new(false);
        let installed = copied.and_then(|()| self.install(target, &files, &ids, &edit_written));
        let (levels, seqno) = match installed {
            Ok(done) => done,
            Err(e) => {
                // Not in the tree: the copies go (a crash would leave them to the
                // next open, which deletes unreferenced tables). Unless the manifest
                // edit naming them was written: a failed append or sync may still have
                // put it on disk, and the next open would then miss the tables it
                // names (`docs/crash-safety.md` rule 11). That open deletes them
                // instead if the edit is not there.
                if !edit_written.get() {
                    for id in &ids {
                        let _ = fs.remove(&id.path(self.set.dir()));
                    }
                }
                return Err(e);
            }
        };
        if options.move_files {
            for file in &files {
                fs.remove(&file.source).map_err(|source| Error::Fs {
                    operation: "removing an ingested source file",
                    path: file.source.clone(),
                    source,
                })?;
            }
        }
        self.refresh_backlog();
        self.with_pool(|pool| pool.schedule());
        Ok(report(paths, &files, levels, seqno.get()))
    }

    /// Copies every file in under its table number, then syncs the directory.
    fn copy_in(&self, files: &[prepare::Checked], ids: &[TableId], how: How) -> Result<()> {
        let fs = self.options.fs.as_ref();
        let dir = self.set.dir();
        for (file, id) in files.iter().zip(ids) {
            match how {
                How::Copy => prepare::copy(fs, &file.source, &id.path(dir))?,
                How::Rename => {
                    fs.rename(&file.source, &id.path(dir))
                        .map_err(|source| Error::Fs {
                            operation: "moving a loaded table into the database",
                            path: file.source.clone(),
                            source,
                        })?
                }
            }
        }
        fs.sync_dir(dir).map_err(|source| Error::Fs {
            operation: "syncing the directory of ingested tables",
            path: dir.to_path_buf(),
            source,
        })
    }

    /// Installs the copies, flushing memtables that overlap them first; sets
    /// `edit_written` once the manifest edit naming them was (maybe partly) written.
    fn install(
        &self,
        target: &Target<'_>,
        files: &[prepare::Checked],
        ids: &[TableId],
        edit_written: &Cell<bool>,
    ) -> Result<(Vec<quickcache_compaction::Level>, quickcache_sstable::SeqNo)> {
        for _ in 0..FLUSH_ATTEMPTS {
            match self.try_install(target, files, ids, edit_written)? {
                Installed::Done(levels, seqno) => {
                    // Read your writes, as after a write (`Inner::write`): publication
                    // is in seqno order, and a writer of another keyspace numbered just
                    // before the ingest may still be inserting. No lock is held here.
                    (self.writes.visibility.wait_visible(seqno))
                        .map_err(|e| Self::batch_error("publishing an ingest", e))?;
                    return Ok((levels, seqno));
                }
                Installed::MemtableOverlaps => self.flush_target(target)?,
            }
        }
        Err(Error::IngestRefused {
            path: files.first().map(|f| f.source.clone()).unwrap_or_default(),
            reason: format!(
                "writes kept arriving in its key range through {FLUSH_ATTEMPTS} memtable flushes"
            ),
        })
    }

    fn flush_target(&self, target: &Target<'_>) -> Result<()> {
        match target.ks {
            None => self.freeze(None)?,
            Some(ks) => self.freeze_keyspace(ks, None)?,
        };
        self.wait_flushed()
    }
}

/// The report, levels in the caller's order of `paths` (`files` are sorted by key).
fn report(
    paths: &[PathBuf],
    files: &[prepare::Checked],
    levels: Vec<quickcache_compaction::Level>,
    seqno: u64,
) -> IngestReport {
    let level_of = |p: &PathBuf| {
        (files.iter().zip(&levels))
            .find(|(f, _)| &f.source == p)
            .map_or(0, |(_, l)| l.index())
    };
    IngestReport {
        levels: paths.iter().map(level_of).collect(),
        seqno,
    }
}
