//! Recovery: read a log back, then make its directory safe to append to (cut the torn
//! tail, sync what the last run left unsynced) and start the writer in a new segment.

use std::path::{Path, PathBuf};

use quickcache_fs::DynFs;
use snafu::ResultExt;

use crate::error::{DirectorySnafu, SyncDirSnafu, SyncSnafu, TruncateSnafu};
use crate::format::SEGMENT_HEADER_LEN;
use crate::{
    DamagedRange, Position, Record, RecoveryReport, Result, SegmentId, Wal, WalOptions, WalReader,
};

/// A log being recovered: iterate it for the records (from the position given to
/// [`Wal::recover`]), then [`Recovery::finish`] to get a writer.
#[derive(Debug)]
pub struct Recovery {
    reader: WalReader,
    fs: DynFs,
    dir: PathBuf,
    options: WalOptions,
    from: Position,
}

impl Wal {
    /// Opens the log in `dir` (created if missing) for recovery in
    /// `options.recovery_mode`: the returned [`Recovery`] yields the records at or
    /// after `from`; its [`Recovery::finish`] returns the writer.
    ///
    /// Pass the position below which records are durable elsewhere (for an engine,
    /// the start of the oldest segment not yet in a table), or [`Position::START`].
    pub fn recover(
        fs: DynFs,
        dir: impl Into<PathBuf>,
        options: WalOptions,
        from: Position,
    ) -> Result<Recovery> {
        let dir = dir.into();
        fs.create_dir_all(&dir)
            .context(DirectorySnafu { dir: &dir })?;
        let reader = WalReader::new(fs.clone(), dir.clone(), from, options.recovery_mode)?;
        Ok(Recovery {
            reader,
            fs,
            dir,
            options,
            from,
        })
    }

    /// Recovers the log in `dir` (checking every record, returning none of them) and
    /// opens it for appending.
    pub fn open(
        fs: DynFs,
        dir: impl Into<PathBuf>,
        options: WalOptions,
    ) -> Result<(Wal, RecoveryReport)> {
        Wal::recover(fs, dir, options, Position::START)?.finish()
    }

    /// [`Wal::open`] on the real file system: the log in directory `dir`, created
    /// if missing.
    ///
    /// # Examples
    /// ```
    /// use quickcache_wal::{Durability, Wal, WalOptions};
    /// let dir = tempfile::tempdir()?;
    /// let (wal, _) = Wal::open_dir(dir.path(), WalOptions::default())?;
    /// wal.append(b"put a=1", Durability::Synced)?;
    /// wal.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_dir(dir: impl Into<PathBuf>, options: WalOptions) -> Result<(Wal, RecoveryReport)> {
        Wal::open(real_fs(), dir, options)
    }

    /// [`Wal::recover`] on the real file system, from the start of the log.
    ///
    /// # Examples
    /// ```
    /// use quickcache_wal::{Durability, Wal, WalOptions};
    /// let dir = tempfile::tempdir()?;
    /// let (wal, _) = Wal::open_dir(dir.path(), WalOptions::default())?;
    /// wal.append(b"first", Durability::Os)?;
    /// wal.close()?;
    /// let mut recovery = Wal::recover_dir(dir.path(), WalOptions::default())?;
    /// assert_eq!(recovery.next().unwrap()?.payload, b"first");
    /// let (_wal, report) = recovery.finish()?;
    /// assert!(report.is_clean());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recover_dir(dir: impl Into<PathBuf>, options: WalOptions) -> Result<Recovery> {
        Wal::recover(real_fs(), dir, options, Position::START)
    }
}

fn real_fs() -> DynFs {
    std::sync::Arc::new(quickcache_fs::RealFs::new())
}

impl Iterator for Recovery {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next()
    }
}

impl Recovery {
    /// What has been found so far.
    pub fn report(&self) -> &RecoveryReport {
        self.reader.report()
    }

    /// Where the intact frames of the log's last segment end, once every record was
    /// iterated ([`WalReader::last_segment_end`]).
    pub fn last_segment_end(&self) -> Option<Position> {
        self.reader.last_segment_end()
    }

    /// Reads whatever records were not iterated (damage must be found before the log
    /// is appended to), cuts off the torn tail or the unused preallocated space the
    /// last run left (a segment that is not the last must end at its last record),
    /// makes the last segment durable (unless [`WalOptions::previous_run_synced`] says it
    /// is already and nothing was cut), and starts the writer: at the end of the last
    /// segment when it ended cleanly (no torn tail), is of this build's format version
    /// and under half a segment long, otherwise in a new segment after the last existing one (and no lower than the
    /// recovery's start segment).
    ///
    /// # Errors
    /// The first error of the reading, or of the repair: the writer is not started.
    pub fn finish(mut self) -> Result<(Wal, RecoveryReport)> {
        for record in &mut self.reader {
            record?;
        }
        let report = self.reader.report().clone();
        let mut last = self.reader.last_segment();
        let last_format = self.reader.last_segment_format();
        let zero_tail = self.reader.zero_tail();
        let synced =
            self.options.previous_run_synced && report.torn_tail.is_none() && zero_tail.is_none();
        if let Some(unused) = zero_tail {
            let (segment, len) = (unused.segment, unused.offset);
            let path = segment.path_in(&self.dir);
            let context = TruncateSnafu { segment, len };
            self.fs.truncate(&path, len).context(context)?;
        }
        if let Some(tail) = &report.torn_tail
            && cut_tail(&self.fs, &self.dir, tail)? == Cut::Removed
        {
            // The number is free again, and must be reused: skipping it would leave a
            // gap, which readers take for a lost segment.
            last = tail
                .segment
                .0
                .checked_sub(1)
                .map(SegmentId)
                .filter(|s| s.0 > 0);
        }
        if !synced {
            if let Some(last) = last {
                sync_segment(&self.fs, &self.dir, last)?;
            }
            let dir = &self.dir;
            self.fs.sync_dir(dir).context(SyncDirSnafu { dir })?;
        }
        // A clean last segment with room left is continued: creating a segment costs
        // a new file's syncs and a directory sync, most of a clean reopen's time. Only
        // one of this build's version: a segment never mixes versions, whose payloads
        // its reader would decode with one layout.
        if let Some(last) = last
            && report.torn_tail.is_none()
            && last_format == Some(crate::FORMAT_VERSION)
            && last >= self.from.segment
            && self.has_room(last)
        {
            let wal = Wal::resume(self.fs, self.dir, &self.options, last)?;
            return Ok((wal, report));
        }
        let first = last
            .map_or(SegmentId::FIRST, SegmentId::next)
            .max(self.from.segment);
        let wal = Wal::start(self.fs, self.dir, &self.options, first)?;
        Ok((wal, report))
    }
}

impl Recovery {
    /// Whether segment `id` exists, holds at least its header, and is shorter than
    /// half a segment: continuing a nearly full one would only rotate soon after.
    fn has_room(&self, id: SegmentId) -> bool {
        let size = self.fs.size(&id.path_in(&self.dir));
        size.is_ok_and(|len| {
            len >= SEGMENT_HEADER_LEN as u64 && len < self.options.wal_segment_size / 2
        })
    }
}

/// What [`cut_tail`] did.
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    Truncated,
    Removed,
}

/// Cuts the torn tail off its segment; a segment torn inside its header goes whole.
fn cut_tail(fs: &DynFs, dir: &Path, tail: &DamagedRange) -> Result<Cut> {
    let path = tail.segment.path_in(dir);
    let context = TruncateSnafu {
        segment: tail.segment,
        len: tail.offset,
    };
    if tail.offset < SEGMENT_HEADER_LEN as u64 {
        fs.remove(&path).context(context)?;
        Ok(Cut::Removed)
    } else {
        fs.truncate(&path, tail.offset).context(context)?;
        Ok(Cut::Truncated)
    }
}

/// Syncs segment `id` if it exists. The previous run may have left records that its
/// process handed to the OS but never synced; they must be durable before anything is
/// written to a later segment, or a power loss could tear them under intact records.
fn sync_segment(fs: &DynFs, dir: &Path, id: SegmentId) -> Result<()> {
    let path = id.path_in(dir);
    let mut file = match fs.open_append(&path) {
        Ok(file) => file,
        // After a torn last segment was removed, its predecessor may be below the
        // recovery start and already deleted: nothing to make durable then.
        Err(e) if e.is_not_found() => return Ok(()),
        Err(source) => return Err(source).context(SyncSnafu { segment: id }),
    };
    file.sync_data().context(SyncSnafu { segment: id })?;
    file.close().context(SyncSnafu { segment: id })
}
