//! The handles a [`super::SimFs`] hands out: writable files, readable files, locks.

use std::path::PathBuf;
use std::sync::Arc;

use super::Shared;
use super::state::{InodeRef, lock};
use crate::{Fault, FileLock, Op, ReadableFile, Result, WritableFile};

/// A simulated file open for appending. Appends reach the inode at once (the
/// simulated kernel); only a sync makes them survive a crash.
#[derive(Debug)]
pub(crate) struct SimWritable {
    pub(crate) shared: Arc<Shared>,
    pub(crate) inode: InodeRef,
    pub(crate) path: PathBuf,
    /// The append position, like a real file offset: where the next append lands.
    pub(crate) pos: usize,
}

impl SimWritable {
    /// Writes `buf` at the append position, or as much of it as the capacity
    /// leaves room for before failing with ENOSPC (see `capacity.rs`).
    fn write(&mut self, buf: &[u8]) -> Result<()> {
        let end = self.pos + buf.len();
        let (inode, pos) = (&self.inode, self.pos);
        let mut written = 0;
        let result =
            self.shared
                .grow_within_capacity(Op::Append, &self.path, inode, end, true, |size| {
                    let fits = size.min(end).saturating_sub(pos);
                    lock(inode).write_at(pos, &buf[..fits]);
                    written = fits;
                });
        self.pos += written;
        result
    }
}

impl WritableFile for SimWritable {
    fn append(&mut self, buf: &[u8]) -> Result<()> {
        if let Some(fault) = self.shared.check(Op::Append, &self.path) {
            if fault == Fault::ShortWrite {
                self.write(&buf[..buf.len() / 2])?;
            }
            return Err(Shared::injected(Op::Append, &self.path, fault));
        }
        self.write(buf)
    }

    fn preallocate(&mut self, size: u64) -> Result<()> {
        self.shared.fail_if_planned(Op::Preallocate, &self.path)?;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let inode = &self.inode;
        self.shared
            .grow_within_capacity(Op::Preallocate, &self.path, inode, size, false, |size| {
                let mut inode = lock(inode);
                inode.reserved = inode.reserved.max(size);
            })
    }

    fn sync_data(&mut self) -> Result<()> {
        self.sync(Op::SyncData)
    }

    fn sync_all(&mut self) -> Result<()> {
        self.sync(Op::SyncAll)
    }

    fn len(&self) -> u64 {
        self.pos as u64
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.shared.fail_if_planned(Op::Close, &self.path)
    }
}

impl SimWritable {
    fn sync(&mut self, op: Op) -> Result<()> {
        self.shared.fail_if_planned(op, &self.path)?;
        lock(&self.inode).sync();
        Ok(())
    }
}

/// A simulated file open for reads; it sees appends made after it was opened, as a
/// real file descriptor does.
#[derive(Debug)]
pub(crate) struct SimReadable {
    pub(crate) shared: Arc<Shared>,
    pub(crate) inode: InodeRef,
    pub(crate) path: PathBuf,
}

impl ReadableFile for SimReadable {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.shared.fail_if_planned(Op::Read, &self.path)?;
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        Ok(lock(&self.inode).read_at(offset, buf))
    }

    fn size(&self) -> Result<u64> {
        self.shared.fail_if_planned(Op::Stat, &self.path)?;
        Ok(lock(&self.inode).size() as u64)
    }
}

/// A held simulated lock; dropping it releases the path.
#[derive(Debug)]
pub(crate) struct SimLock {
    pub(crate) shared: Arc<Shared>,
    pub(crate) path: PathBuf,
}

impl FileLock for SimLock {}

impl Drop for SimLock {
    fn drop(&mut self) {
        self.shared.locks().remove(&self.path);
    }
}
