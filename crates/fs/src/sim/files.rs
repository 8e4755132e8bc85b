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
}

impl WritableFile for SimWritable {
    fn append(&mut self, buf: &[u8]) -> Result<()> {
        if let Some(fault) = self.shared.check(Op::Append, &self.path) {
            if fault == Fault::ShortWrite {
                lock(&self.inode)
                    .data
                    .extend_from_slice(&buf[..buf.len() / 2]);
            }
            return Err(Shared::injected(Op::Append, &self.path, fault));
        }
        lock(&self.inode).data.extend_from_slice(buf);
        Ok(())
    }

    fn sync_data(&mut self) -> Result<()> {
        self.sync(Op::SyncData)
    }

    fn sync_all(&mut self) -> Result<()> {
        self.sync(Op::SyncAll)
    }

    fn len(&self) -> u64 {
        lock(&self.inode).data.len() as u64
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.shared.fail_if_planned(Op::Close, &self.path)
    }
}

impl SimWritable {
    fn sync(&mut self, op: Op) -> Result<()> {
        self.shared.fail_if_planned(op, &self.path)?;
        let mut inode = lock(&self.inode);
        inode.synced_len = inode.data.len();
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
        let inode = lock(&self.inode);
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(inode.data.len());
        let n = buf.len().min(inode.data.len() - start);
        buf[..n].copy_from_slice(&inode.data[start..start + n]);
        Ok(n)
    }

    fn size(&self) -> Result<u64> {
        self.shared.fail_if_planned(Op::Stat, &self.path)?;
        Ok(lock(&self.inode).data.len() as u64)
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
