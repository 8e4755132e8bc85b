//! A capacity limit for [`super::SimFs`]: the bytes of live file data the disk holds
//! at most. Growing a file past it fails with ENOSPC, as a full real disk does: an
//! append writes what fits and then fails (a short write), a preallocation that does
//! not fit fails whole. Shrinking, truncating and removing files frees space again.
//!
//! "Live" is what the process sees: every file reachable by a live name, counted
//! once however many names it has, at its size (written bytes or preallocation,
//! whichever is larger). Unlinked files are freed at once, as if no handle held them.

use std::io;
use std::path::Path;
use std::sync::Arc;

use super::state::{InodeRef, Namespace, lock};
use super::{Shared, guard};
use crate::{Error, Op, Result};

/// The ENOSPC a full simulated disk reports.
fn no_space(op: Op, path: &Path) -> Error {
    Error::Io {
        op,
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::StorageFull, "simulated disk full (ENOSPC)"),
    }
}

/// Bytes of live file data in `ns`; each inode once.
pub(crate) fn used(ns: &Namespace) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let live = ns.live.values().filter(|i| seen.insert(Arc::as_ptr(i)));
    live.map(|i| lock(i).size() as u64).sum()
}

impl Shared {
    /// Grows `inode` to `new_size` bytes through `grow`, within the capacity: with no
    /// limit, or room for all of it, `grow(new_size)` runs; otherwise `grow` runs with
    /// the size that fits (when `partial`) and ENOSPC is returned. Serialized by the
    /// capacity lock, so that concurrent appends never overshoot the limit together.
    pub(crate) fn grow_within_capacity(
        &self,
        op: Op,
        path: &Path,
        inode: &InodeRef,
        new_size: usize,
        partial: bool,
        grow: impl FnOnce(usize),
    ) -> Result<()> {
        let capacity = guard(&self.capacity);
        let Some(limit) = *capacity else {
            grow(new_size);
            return Ok(());
        };
        let used = used(&self.ns());
        let size = lock(inode).size();
        let extra = new_size.saturating_sub(size) as u64;
        let room = limit.saturating_sub(used);
        if extra <= room {
            grow(new_size);
            return Ok(());
        }
        if partial {
            grow(size + usize::try_from(room).unwrap_or(usize::MAX));
        }
        Err(no_space(op, path))
    }
}

impl super::SimFs {
    /// Limits the disk to `bytes` of live file data (`None`: no limit, the default).
    /// Lowering it below what is stored removes nothing; only growth fails from then
    /// on. Raising it (or removing files) frees space at once, as an operator
    /// freeing a real disk does.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        *guard(&self.shared.capacity) = bytes;
    }

    /// The capacity limit, if one is set.
    pub fn capacity(&self) -> Option<u64> {
        *guard(&self.shared.capacity)
    }

    /// Bytes of live file data on the disk now (see the module documentation).
    pub fn used_bytes(&self) -> u64 {
        used(&self.shared.ns())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::{FileSystem, SimFs};

    #[test]
    fn appends_past_the_capacity_write_what_fits_then_fail_with_enospc() {
        let fs = SimFs::new(1);
        fs.create_dir_all(Path::new("/d")).unwrap();
        let mut a = fs.create(Path::new("/d/a")).unwrap();
        a.append(&[1; 60]).unwrap();
        fs.set_capacity(Some(100));
        let e = a.append(&[2; 50]).unwrap_err();
        assert!(e.is_no_space() && e.is_retryable_no_space(), "{e}");
        assert_eq!(fs.size(Path::new("/d/a")).unwrap(), 100, "a short write");
        assert_eq!(fs.used_bytes(), 100);
        let mut b = fs.create(Path::new("/d/b")).unwrap();
        assert!(b.preallocate(10).unwrap_err().is_no_space());
        assert!(b.append(&[3]).unwrap_err().is_no_space());
        fs.remove(Path::new("/d/a")).unwrap();
        b.append(&[3; 80]).unwrap();
        b.preallocate(100).unwrap();
        assert!(b.preallocate(101).is_err());
        fs.set_capacity(None);
        b.append(&[4; 1000]).unwrap();
        assert_eq!(fs.used_bytes(), 1080);
    }

    #[test]
    fn a_rename_over_a_file_frees_it() {
        let fs = SimFs::new(1);
        let mut a = fs.create(Path::new("/a")).unwrap();
        a.append(&[1; 40]).unwrap();
        let mut b = fs.create(Path::new("/b")).unwrap();
        b.append(&[1; 40]).unwrap();
        assert_eq!(fs.used_bytes(), 80);
        fs.rename(Path::new("/b"), Path::new("/a")).unwrap();
        assert_eq!(fs.used_bytes(), 40);
        fs.truncate(Path::new("/a"), 10).unwrap();
        assert_eq!(fs.used_bytes(), 10);
    }
}
