//! The `FileSystem` trait: every operation the engine performs on disk.
//!
//! The engine never touches `std::fs` directly. Going through this trait is what lets
//! the simulated file system drop unsynced data at a "power loss" and lets fault plans
//! fail any single operation, so every crash point can be tested.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::{Mapping, Op, Result};

/// A file system: real ([`crate::RealFs`]) or simulated ([`crate::SimFs`]).
///
/// Durability contract (the same for every implementation):
/// - bytes appended to a [`WritableFile`] survive a process crash once `append` returns,
///   and survive a power loss only after `sync_data`/`sync_all` returns;
/// - a size set by [`WritableFile::preallocate`] survives a power loss only after
///   `sync_data`/`sync_all` returns;
/// - `create`, `rename` and `remove` survive a power loss only after
///   [`FileSystem::sync_dir`] of the directory holding the name returns;
/// - [`FileSystem::truncate`] is durable when it returns.
///
/// Implementations are shared between threads (`Send + Sync`).
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// Creates `path` empty (truncating an existing file) and opens it for appending.
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>>;

    /// Opens an existing file for appending at its end (its size, preallocated zeros
    /// included).
    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>>;

    /// Opens an existing file for positional reads.
    fn open(&self, path: &Path) -> Result<Box<dyn ReadableFile>>;

    /// Maps a complete file read-only. The file must never change while mapped.
    fn map(&self, path: &Path) -> Result<Mapping>;

    /// Renames `from` to `to`, replacing `to` atomically if it exists. `from` may be
    /// a directory (with everything in it); `to` must then not exist, or be an empty
    /// directory.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;

    /// Removes a file.
    fn remove(&self, path: &Path) -> Result<()>;

    /// Gives the file `from` a second name `to` (a hard link): both name the same
    /// bytes, and removing one leaves the other. Fails if `to` exists, or lies on
    /// another file system (EXDEV). Like a create, the new name survives a power loss
    /// only after [`FileSystem::sync_dir`] of its directory.
    ///
    /// The default fails with [`std::io::ErrorKind::Unsupported`]: a file system that
    /// cannot link makes its callers copy instead.
    fn link(&self, from: &Path, to: &Path) -> Result<()> {
        let _unused = to;
        Err(unsupported(Op::Link, from))
    }

    /// Removes an empty directory. The default fails with
    /// [`std::io::ErrorKind::Unsupported`].
    fn remove_dir(&self, dir: &Path) -> Result<()> {
        Err(unsupported(Op::RemoveDir, dir))
    }

    /// Names (not paths) of the entries of a directory, in no particular order.
    fn list(&self, dir: &Path) -> Result<Vec<String>>;

    /// Creates a directory and any missing parents.
    fn create_dir_all(&self, dir: &Path) -> Result<()>;

    /// Makes the creates, renames and removals inside `dir` durable.
    fn sync_dir(&self, dir: &Path) -> Result<()>;

    /// Takes an exclusive advisory lock on `path` (created if missing), held until the
    /// returned guard drops. A second lock on the same path, from this process or
    /// another, fails with [`crate::Error::Locked`].
    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>>;

    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> Result<bool>;

    /// The size of a file in bytes.
    fn size(&self, path: &Path) -> Result<u64>;

    /// Cuts a file to `len` bytes and makes that durable before returning.
    fn truncate(&self, path: &Path, len: u64) -> Result<()>;

    /// Reads a whole file into memory.
    fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        let file = self.open(path)?;
        let len = file.size()?;
        let mut buf = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        let n = file.read_at(0, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// The error of an operation a file system does not offer.
fn unsupported(op: Op, path: &Path) -> crate::Error {
    crate::Error::Io {
        op,
        path: path.to_path_buf(),
        source: std::io::ErrorKind::Unsupported.into(),
    }
}

/// A file open for appending. Dropping it without [`WritableFile::close`] closes it
/// and ignores any close error, so writers should call `close`.
///
/// Appends land at the handle's append position ([`WritableFile::len`]): the file's
/// end when it was opened, advanced by every append. Normally that is the end of the
/// file; after [`WritableFile::preallocate`] appends overwrite the zeros it added.
pub trait WritableFile: Send + Sync + fmt::Debug {
    /// Appends all of `buf` at the append position. On error an unknown prefix of
    /// `buf` may have been written: an append is never assumed to be atomic.
    fn append(&mut self, buf: &[u8]) -> Result<()>;

    /// Extends the file with zeros to `size` bytes (nothing if it is at least that
    /// long already), without moving the append position: later appends overwrite
    /// the zeros instead of growing the file.
    ///
    /// Why: a sync that follows an append which grew the file must also commit the
    /// new size (a journal commit on ext4); appends inside the file's size need not.
    /// A log reserves its segment once, syncs, and then pays only for its data.
    /// Readers see the zeros as part of the file. The new size is durable once a
    /// later `sync_data` or `sync_all` returns.
    fn preallocate(&mut self, size: u64) -> Result<()>;

    /// Makes the appended data durable (`fdatasync`).
    fn sync_data(&mut self) -> Result<()>;

    /// Makes the appended data and all metadata durable (`fsync`).
    fn sync_all(&mut self) -> Result<()>;

    /// The append position: the file's size when opened plus everything appended
    /// since. Equal to the file's size unless the file was preallocated.
    fn len(&self) -> u64;

    /// Whether nothing has been written at all (the append position is 0).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Closes the file, reporting the errors a plain drop would hide where the file
    /// system sees any (the real one has none left to report: see `RealWritable`).
    fn close(self: Box<Self>) -> Result<()>;
}

/// A file open for positional reads; shareable between threads.
pub trait ReadableFile: Send + Sync + fmt::Debug {
    /// Reads up to `buf.len()` bytes at `offset`, returning how many were read; fewer
    /// than asked only at the end of the file.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize>;

    /// The file's current size.
    fn size(&self) -> Result<u64>;
}

/// An exclusive lock on a file, released on drop.
pub trait FileLock: Send + Sync + fmt::Debug {}

/// A shared handle to any file system, the form the engine's crates store.
pub type DynFs = Arc<dyn FileSystem>;

/// Writes `bytes` to `dir/name` so that a crash leaves either the old file or the new
/// one, never a mixture: write a temporary file, sync it, rename it over `name`, sync
/// the directory. This is how CURRENT-style pointer files are switched.
pub fn write_atomic(fs: &dyn FileSystem, dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let mut file = fs.create(&tmp)?;
    file.append(bytes)?;
    file.sync_all()?;
    file.close()?;
    fs.rename(&tmp, &dir.join(name))?;
    fs.sync_dir(dir)
}
