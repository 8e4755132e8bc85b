//! `RealFs`: the file system on disk, through `std::fs`.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

use snafu::ResultExt;

use crate::error::{IoSnafu, LockedSnafu};
use crate::{FileLock, FileSystem, Mapping, Op, ReadableFile, Result, WritableFile};

mod writable;
use writable::RealWritable;

/// The real file system. Appends go straight to the kernel (no user-space buffer), so
/// data survives a process crash once `append` returns; `sync_data` is `fdatasync`,
/// `sync_all` and `sync_dir` are `fsync`. `preallocate` reserves the blocks with
/// `fallocate` on Linux, and appends inside them are then copies into a shared map of
/// the file (in the page cache as after a `write`, without the system call); elsewhere,
/// or where the file system cannot reserve, it extends the file sparse.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl RealFs {
    /// The real file system.
    pub fn new() -> Self {
        RealFs
    }
}

fn open_writable(path: &Path, op: Op, options: &OpenOptions) -> Result<Box<dyn WritableFile>> {
    let mut file = options.open(path).context(IoSnafu { op, path })?;
    // Writes go through the file offset, not O_APPEND: with O_APPEND every write would
    // land after a preallocated region instead of filling it.
    let len = file.seek(SeekFrom::End(0)).context(IoSnafu { op, path })?;
    Ok(Box::new(RealWritable::new(file, len, path.to_path_buf())))
}

impl FileSystem for RealFs {
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let mut options = OpenOptions::new();
        // Readable too: a preallocated region is mapped, and a writable map needs both.
        options.read(true).write(true).create(true).truncate(true);
        open_writable(path, Op::Create, &options)
    }

    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let mut options = OpenOptions::new();
        options.read(true).write(true);
        open_writable(path, Op::OpenAppend, &options)
    }

    fn open(&self, path: &Path) -> Result<Box<dyn ReadableFile>> {
        let file = File::open(path).context(IoSnafu { op: Op::Open, path })?;
        Ok(Box::new(RealReadable {
            file,
            path: path.to_path_buf(),
        }))
    }

    fn map(&self, path: &Path) -> Result<Mapping> {
        let file = File::open(path).context(IoSnafu { op: Op::Map, path })?;
        crate::mmap::map_file(&file, path)
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        fs::rename(from, to).context(IoSnafu {
            op: Op::Rename,
            path: from,
        })
    }

    fn remove(&self, path: &Path) -> Result<()> {
        fs::remove_file(path).context(IoSnafu {
            op: Op::Remove,
            path,
        })
    }

    fn link(&self, from: &Path, to: &Path) -> Result<()> {
        fs::hard_link(from, to).context(IoSnafu {
            op: Op::Link,
            path: to,
        })
    }

    fn remove_dir(&self, dir: &Path) -> Result<()> {
        fs::remove_dir(dir).context(IoSnafu {
            op: Op::RemoveDir,
            path: dir,
        })
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).context(IoSnafu {
            op: Op::List,
            path: dir,
        })? {
            let entry = entry.context(IoSnafu {
                op: Op::List,
                path: dir,
            })?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        fs::create_dir_all(dir).context(IoSnafu {
            op: Op::CreateDir,
            path: dir,
        })
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        sync_dir(dir)
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .context(IoSnafu { op: Op::Lock, path })?;
        match file.try_lock() {
            Ok(()) => Ok(Box::new(RealLock { file })),
            Err(TryLockError::WouldBlock) => LockedSnafu { path }.fail(),
            Err(TryLockError::Error(source)) => Err(source).context(IoSnafu { op: Op::Lock, path }),
        }
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        path.try_exists().context(IoSnafu { op: Op::Stat, path })
    }

    fn size(&self, path: &Path) -> Result<u64> {
        Ok(fs::metadata(path)
            .context(IoSnafu { op: Op::Stat, path })?
            .len())
    }

    fn truncate(&self, path: &Path, len: u64) -> Result<()> {
        let file = OpenOptions::new().write(true).open(path).context(IoSnafu {
            op: Op::Truncate,
            path,
        })?;
        file.set_len(len).context(IoSnafu {
            op: Op::Truncate,
            path,
        })?;
        file.sync_all().context(IoSnafu {
            op: Op::Truncate,
            path,
        })
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    let file = File::open(dir).context(IoSnafu {
        op: Op::SyncDir,
        path: dir,
    })?;
    file.sync_all().context(IoSnafu {
        op: Op::SyncDir,
        path: dir,
    })
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    // Windows has no directory handle to flush; NTFS journals metadata itself.
    Ok(())
}

#[derive(Debug)]
struct RealReadable {
    file: File,
    path: PathBuf,
}

impl ReadableFile for RealReadable {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let n = read_at(&self.file, at, &mut buf[done..]).context(IoSnafu {
                op: Op::Read,
                path: &self.path,
            })?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok(done)
    }

    fn size(&self) -> Result<u64> {
        Ok(self
            .file
            .metadata()
            .context(IoSnafu {
                op: Op::Stat,
                path: &self.path,
            })?
            .len())
    }
}

#[cfg(unix)]
fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(windows)]
fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::os::windows::fs::FileExt;
    file.seek_read(buf, offset)
}

#[derive(Debug)]
struct RealLock {
    // Holding the open file holds the flock.
    file: File,
}

impl Drop for RealLock {
    /// Unlocks explicitly rather than by closing: a child process forked by another
    /// thread holds a copy of the descriptor until it execs, and closing ours would
    /// leave the lock held by that copy for a moment (a test that closed a database
    /// and at once ran the CLI on it saw `Locked`). Unlocking releases it for every
    /// copy.
    fn drop(&mut self) {
        // Nothing to do on failure: closing the file releases the lock anyway, later.
        let _ = self.file.unlock();
    }
}

impl FileLock for RealLock {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_read_rename_remove() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs::new();
        let a = dir.path().join("a");
        let mut w = fs.create(&a).unwrap();
        w.append(b"hello ").unwrap();
        w.append(b"world").unwrap();
        w.sync_data().unwrap();
        assert_eq!(w.len(), 11);
        w.close().unwrap();
        assert_eq!(fs.read_file(&a).unwrap(), b"hello world");
        let mut w = fs.open_append(&a).unwrap();
        assert_eq!(w.len(), 11);
        w.append(b"!").unwrap();
        w.close().unwrap();
        let b = dir.path().join("b");
        fs.rename(&a, &b).unwrap();
        fs.sync_dir(dir.path()).unwrap();
        assert!(!fs.exists(&a).unwrap());
        assert_eq!(&*fs.map(&b).unwrap(), b"hello world!");
        fs.truncate(&b, 5).unwrap();
        assert_eq!(fs.size(&b).unwrap(), 5);
        assert_eq!(fs.list(dir.path()).unwrap(), vec!["b".to_string()]);
        fs.remove(&b).unwrap();
        assert!(fs.open(&b).unwrap_err().is_not_found());
    }

    #[test]
    fn appends_fill_a_preallocated_file_from_the_append_position() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs::new();
        let a = dir.path().join("a");
        let mut w = fs.create(&a).unwrap();
        w.append(b"head").unwrap();
        w.preallocate(64).unwrap();
        w.preallocate(8).unwrap();
        assert_eq!((w.len(), fs.size(&a).unwrap()), (4, 64));
        w.append(b"-tail").unwrap();
        w.sync_all().unwrap();
        w.close().unwrap();
        let bytes = fs.read_file(&a).unwrap();
        assert_eq!(bytes.len(), 64);
        assert_eq!(&bytes[..9], b"head-tail");
        assert!(bytes[9..].iter().all(|&b| b == 0));
        // open_append continues at the end, preallocated zeros included.
        let mut w = fs.open_append(&a).unwrap();
        assert_eq!(w.len(), 64);
        w.append(b"!").unwrap();
        w.close().unwrap();
        assert_eq!(fs.size(&a).unwrap(), 65);
        fs.truncate(&a, 9).unwrap();
        assert_eq!(fs.read_file(&a).unwrap(), b"head-tail");
    }

    #[test]
    fn second_lock_fails_in_same_process() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs::new();
        let lock = fs.lock(&dir.path().join("LOCK")).unwrap();
        let err = fs.lock(&dir.path().join("LOCK")).unwrap_err();
        assert!(matches!(err, crate::Error::Locked { .. }));
        drop(lock);
        fs.lock(&dir.path().join("LOCK")).unwrap();
    }

    #[test]
    fn empty_file_maps_to_empty_slice() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RealFs::new();
        let p = dir.path().join("empty");
        fs.create(&p).unwrap().close().unwrap();
        assert!(fs.map(&p).unwrap().is_empty());
    }
}
