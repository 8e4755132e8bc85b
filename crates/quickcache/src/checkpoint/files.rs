//! The file work of a checkpoint: a table linked or else copied, a WAL segment
//! copied, the temporary directory named and, after a failure, cleared away.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use quickcache_fs::FileSystem;

use crate::error::Result;
use crate::open::fs_error;

/// Bytes read and written at a time while copying a file.
const COPY_CHUNK: usize = 1 << 20;

/// How a table reached the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placed {
    /// A hard link: no byte copied.
    Linked,
    /// Copied, this many bytes (another file system, or links refused).
    Copied(u64),
}

/// Gives the table `from` the name `to`: a hard link where the file system allows
/// one (tables never change once written, so the two names may share the bytes),
/// otherwise a synced copy. Any link failure (EXDEV across file systems, a file
/// system without links) falls back on the copy, which reports its own errors.
pub(crate) fn link_or_copy(fs: &dyn FileSystem, from: &Path, to: &Path) -> Result<Placed> {
    if fs.link(from, to).is_ok() {
        return Ok(Placed::Linked);
    }
    copy(fs, from, to).map(Placed::Copied)
}

/// Copies `from` to a new file `to` and syncs it; returns the bytes copied. The
/// name is made durable by the caller's directory sync (`docs/crash-safety.md` rule 1).
pub(crate) fn copy(fs: &dyn FileSystem, from: &Path, to: &Path) -> Result<u64> {
    let source = fs
        .open(from)
        .map_err(fs_error("opening a file to copy", from))?;
    let len = source
        .size()
        .map_err(fs_error("sizing a file to copy", from))?;
    let mut target = fs.create(to).map_err(fs_error("creating a copy", to))?;
    let mut buf = vec![0; COPY_CHUNK];
    let mut offset = 0u64;
    while offset < len {
        let want = usize::try_from(len - offset).map_or(COPY_CHUNK, |n| n.min(COPY_CHUNK));
        let read = source
            .read_at(offset, &mut buf[..want])
            .map_err(fs_error("reading a file to copy", from))?;
        if read == 0 {
            break; // the file shrank: a finished WAL segment is never cut further
        }
        target
            .append(&buf[..read])
            .map_err(fs_error("writing a copy", to))?;
        offset += read as u64;
    }
    target.sync_all().map_err(fs_error("syncing a copy", to))?;
    target.close().map_err(fs_error("closing a copy", to))?;
    Ok(offset)
}

/// A name for the directory a checkpoint of `dest` is built in, beside `dest` (so
/// the final rename stays on one file system) and unused by any other checkpoint of
/// this process: `DEST.tmp-checkpoint-PID-N`.
pub(crate) fn temporary_name(dest: &Path) -> Option<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = dest.file_name()?.to_string_lossy();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp = format!("{name}.tmp-checkpoint-{}-{n}", std::process::id());
    Some(dest.with_file_name(tmp))
}

/// Removes what a failed checkpoint built in `tmp` (files of `tmp` and of its
/// subdirectory `sub`, then both directories), best effort: what stays is a
/// directory without `CURRENT`, never taken for a database.
pub(crate) fn clear(fs: &dyn FileSystem, tmp: &Path, sub: &str) {
    for dir in [tmp.join(sub), tmp.to_path_buf()] {
        for name in fs.list(&dir).unwrap_or_default() {
            let _ignored = fs.remove(&dir.join(name));
        }
        let _ignored = fs.remove_dir(&dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_lie_beside_the_destination_and_differ() {
        let a = temporary_name(Path::new("/backups/db1")).unwrap();
        let b = temporary_name(Path::new("/backups/db1")).unwrap();
        assert_eq!(a.parent(), Some(Path::new("/backups")));
        assert!(a.to_string_lossy().contains("db1.tmp-checkpoint-"), "{a:?}");
        assert_ne!(a, b);
        assert!(temporary_name(Path::new("/")).is_none());
    }
}
