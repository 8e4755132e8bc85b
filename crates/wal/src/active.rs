//! The segment file being written: created with its header and a directory sync,
//! appended to, synced, and closed when the writer moves on.

use std::path::PathBuf;

use quickcache_fs::{DynFs, WritableFile};
use snafu::ResultExt;

use crate::error::{CloseSnafu, CreateSegmentSnafu, SyncDirSnafu, SyncSnafu, WriteSnafu};
use crate::format::encode_segment_header;
use crate::{Error, Result, SegmentId};

/// The open segment. Only the group-commit leader touches it (it lives behind its own
/// mutex), so it needs no synchronization of its own.
#[derive(Debug)]
pub(crate) struct ActiveSegment {
    fs: DynFs,
    dir: PathBuf,
    id: SegmentId,
    file: Option<Box<dyn WritableFile>>,
    /// The file's length: where the next append lands.
    len: u64,
}

impl ActiveSegment {
    /// Creates segment `id` in `dir` and makes it durable: the header is synced and so
    /// is the directory, so a crash can never leave a later segment without this one.
    pub(crate) fn create(fs: DynFs, dir: PathBuf, id: SegmentId) -> Result<Self> {
        let file = fs
            .create(&id.path_in(&dir))
            .context(CreateSegmentSnafu { segment: id })?;
        let mut segment = ActiveSegment {
            fs,
            dir,
            id,
            file: Some(file),
            len: 0,
        };
        segment.append(&encode_segment_header(id))?;
        segment.sync()?;
        segment.sync_dir()?;
        Ok(segment)
    }

    /// The segment's number.
    pub(crate) fn id(&self) -> SegmentId {
        self.id
    }

    fn file(&mut self) -> Result<&mut Box<dyn WritableFile>> {
        self.file.as_mut().ok_or(Error::Closed)
    }

    /// Hands `bytes` to the OS at the end of the segment.
    pub(crate) fn append(&mut self, bytes: &[u8]) -> Result<()> {
        let (segment, offset) = (self.id, self.len);
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

    /// Closes the file, reporting what a plain drop would hide. Idempotent.
    pub(crate) fn close(&mut self) -> Result<()> {
        match self.file.take() {
            Some(file) => file.close().context(CloseSnafu { segment: self.id }),
            None => Ok(()),
        }
    }

    /// Finishes this segment (sync, so that no later segment can outlive its tail in a
    /// crash, then close) and continues in a new segment `next`.
    pub(crate) fn rotate(&mut self, next: SegmentId) -> Result<()> {
        self.sync()?;
        self.close()?;
        *self = ActiveSegment::create(self.fs.clone(), self.dir.clone(), next)?;
        Ok(())
    }
}
