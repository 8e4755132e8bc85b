//! The segment file being written: created with its header, preallocated
//! [`RESERVE_STEP`] at a time ahead of its records (up to the segment size) and made
//! durable with a directory sync; appended to and synced; cut to its written length
//! and closed when the writer moves on.
//!
//! Why preallocate: an append that grows the file changes its size, and the
//! `fdatasync` after it must then commit that size through the file system's journal
//! (on ext4 a journal commit per sync, roughly doubling its cost). Appends inside a
//! preallocated file leave the size alone. Why in steps rather than the whole
//! segment at once: a 64 MiB segment reserved up front is disk a small database does
//! not use (it was most of a 200,000-key database's disk while it ran); one step
//! costs one size commit per 4 MiB of records.

use std::path::PathBuf;

use quickcache_fs::{DynFs, WritableFile};
use snafu::ResultExt;

use crate::error::{
    CloseSnafu, CreateSegmentSnafu, SyncDirSnafu, SyncSnafu, TruncateSnafu, WriteSnafu,
};
use crate::format::encode_segment_header;
use crate::{Error, Result, SegmentId};

/// How far ahead of its records a segment file is preallocated, at most.
pub(crate) const RESERVE_STEP: u64 = 4 << 20;

/// The open segment. Only the group-commit leader touches it (it lives behind its own
/// mutex), so it needs no synchronization of its own.
#[derive(Debug)]
pub(crate) struct ActiveSegment {
    fs: DynFs,
    dir: PathBuf,
    id: SegmentId,
    file: Option<Box<dyn WritableFile>>,
    /// The file's written length: where the next append lands.
    len: u64,
    /// The file's preallocated size; the zeros past `len` are cut off at close.
    reserved: u64,
    /// The writer's segment size: no segment is preallocated past it.
    preallocate: u64,
}

impl ActiveSegment {
    /// Creates segment `id` in `dir`, preallocated to [`RESERVE_STEP`] (or `size`, if
    /// less), and makes it durable: the header and the size are synced and so is the
    /// directory, so a crash can never leave a later segment without this one, and
    /// later syncs commit a size change only when the records reach the end of what
    /// is reserved (then the next step is reserved).
    pub(crate) fn create(fs: DynFs, dir: PathBuf, id: SegmentId, size: u64) -> Result<Self> {
        let context = CreateSegmentSnafu { segment: id };
        let mut file = fs.create(&id.path_in(&dir)).context(context)?;
        let header = encode_segment_header(id);
        let reserved = size.min(RESERVE_STEP).max(header.len() as u64);
        file.preallocate(reserved).context(context)?;
        let mut segment = ActiveSegment {
            fs,
            dir,
            id,
            file: Some(file),
            len: 0,
            reserved,
            preallocate: size,
        };
        segment.append(&header)?;
        segment
            .file()?
            .sync_all()
            .context(SyncSnafu { segment: id })?;
        segment.sync_dir()?;
        Ok(segment)
    }

    /// Continues segment `id` in `dir`, which recovery found ending cleanly at its
    /// last record and made durable: reserved again a step ahead of its end (within
    /// `size`) and appended to from its end. Nothing is synced: the file and its name are durable already,
    /// and the first sync of a record commits the new size.
    pub(crate) fn resume(fs: DynFs, dir: PathBuf, id: SegmentId, size: u64) -> Result<Self> {
        let context = CreateSegmentSnafu { segment: id };
        let mut file = fs.open_append(&id.path_in(&dir)).context(context)?;
        let len = file.len();
        let reserved = len.saturating_add(RESERVE_STEP).min(size).max(len);
        file.preallocate(reserved).context(context)?;
        Ok(ActiveSegment {
            fs,
            dir,
            id,
            file: Some(file),
            len,
            reserved,
            preallocate: size,
        })
    }

    /// The segment's number.
    pub(crate) fn id(&self) -> SegmentId {
        self.id
    }

    /// Where the next append lands.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    fn file(&mut self) -> Result<&mut Box<dyn WritableFile>> {
        self.file.as_mut().ok_or(Error::Closed)
    }

    /// Hands `bytes` to the OS at the end of the segment, first reserving the next
    /// step if they would pass the end of what is reserved.
    #[inline]
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let (segment, offset) = (self.id, self.len);
        let end = offset.saturating_add(bytes.len() as u64);
        if end > self.reserved && self.reserved < self.preallocate {
            let target = end
                .saturating_add(RESERVE_STEP)
                .min(self.preallocate)
                .max(end);
            self.file()?
                .preallocate(target)
                .context(WriteSnafu { segment, offset })?;
            self.reserved = target;
        }
        self.file()?
            .append(bytes)
            .context(WriteSnafu { segment, offset })?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Makes everything appended so far durable (`fdatasync`).
    pub(crate) fn sync(&mut self) -> Result<()> {
        let segment = self.id;
        self.file()?.sync_data().context(SyncSnafu { segment })
    }

    fn sync_dir(&self) -> Result<()> {
        let dir = &self.dir;
        self.fs.sync_dir(dir).context(SyncDirSnafu { dir })
    }

    /// Closes the file, reporting what a plain drop would hide, and cuts the unused
    /// preallocated space off it (durably), so that the segment ends at its last
    /// record: only the last segment may end in zeros (`docs/format/wal.md`), and disk
    /// usage shows what the log holds. Callers have synced everything appended.
    /// Idempotent.
    pub(crate) fn close(&mut self) -> Result<()> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        file.close().context(CloseSnafu { segment: self.id })?;
        if self.len < self.reserved {
            let (segment, len) = (self.id, self.len);
            let path = segment.path_in(&self.dir);
            self.fs
                .truncate(&path, len)
                .context(TruncateSnafu { segment, len })?;
            self.reserved = len;
        }
        Ok(())
    }

    /// Finishes this segment (sync, so that no later segment can outlive its tail in a
    /// crash, then close, which cuts it to its records) and continues in a new segment
    /// `next`, preallocated like this one was.
    pub(crate) fn rotate(&mut self, next: SegmentId) -> Result<()> {
        self.sync()?;
        self.close()?;
        let size = self.preallocate;
        *self = ActiveSegment::create(self.fs.clone(), self.dir.clone(), next, size)?;
        Ok(())
    }
}
