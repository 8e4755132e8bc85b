//! `RealWritable`: a file on disk open for appending.
//!
//! Appends go to the kernel before they return, so they survive a process crash. A
//! plain append is a `write` system call. Inside a region reserved with
//! [`WritableFile::preallocate`] on Linux, an append under 16 KiB is a copy into a
//! shared writable map of that region instead: the bytes land in the same page cache
//! a `write` would put them in, so they survive a process crash just the same, without
//! a system call per append. That matters for the WAL, which appends every write
//! (about 1 µs of kernel time per `write`, more than the rest of a small put). Larger
//! appends still use `write`, which is cheaper than a write fault on every new page.
//! The copy goes front to back (`docs/crash-safety.md` rule 18), so a kill mid-append
//! leaves a prefix of it, as an interrupted `write` does.
//!
//! Syncs: when only the map was written since the last sync, `msync` of the range
//! written (on Linux the same `fdatasync`, of that range only). Otherwise one
//! `fdatasync` (or `fsync`): a map exists only on Linux, where those write back pages
//! dirtied through a shared map too (the write fault marks them dirty), so a second,
//! `msync`, flush would only repeat it.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;

use snafu::ResultExt;

use crate::error::IoSnafu;
use crate::{Op, Result, WritableFile};

/// Appends at least this long go through `write` even inside the map.
const MAPPED_APPEND_MAX: usize = 16 << 10;

#[derive(Debug)]
pub(super) struct RealWritable {
    file: File,
    len: u64,
    path: PathBuf,
    /// The file's first bytes, mapped writable once a preallocation reserved them.
    map: Option<memmap2::MmapMut>,
    /// Whether the file offset stands at `len`: appends through the map leave it
    /// behind, so a `write` past the map seeks first.
    offset_at_len: bool,
    /// Whether anything was written with `write` since the last sync.
    written_unmapped: bool,
    /// Bytes of the map synced so far: a sync flushes only what lies past them
    /// (`msync` of the whole map walks every page of it, about 0.4 ms for 64 MiB).
    map_synced: usize,
}

impl RealWritable {
    /// Wraps `file`, whose offset stands at its end, `len`.
    pub(super) fn new(file: File, len: u64, path: PathBuf) -> Self {
        RealWritable {
            file,
            len,
            path,
            map: None,
            offset_at_len: true,
            written_unmapped: false,
            map_synced: 0,
        }
    }

    /// Copies `buf` into the map at the append position; `false` if it does not fit,
    /// or is large enough that `write` is cheaper: each page a copy first touches
    /// costs a write fault (a few µs on ext4), which one system call for a large
    /// record (a 1000-entry batch is ~120 KiB) beats.
    fn append_mapped(&mut self, buf: &[u8]) -> bool {
        if buf.len() >= MAPPED_APPEND_MAX {
            return false;
        }
        let Some(map) = &mut self.map else {
            return false;
        };
        let Ok(start) = usize::try_from(self.len) else {
            return false;
        };
        let end = start.saturating_add(buf.len());
        let Some(target) = map.get_mut(start..end) else {
            return false;
        };
        // In order, so that a kill mid-copy leaves a prefix, as `write` would.
        crate::mmap::copy_in_order(target, buf);
        self.offset_at_len = false;
        true
    }

    /// The bytes of the map appends have reached.
    fn map_written(&self) -> usize {
        let mapped = self.map.as_ref().map_or(0, |map| map.len());
        usize::try_from(self.len).map_or(mapped, |len| len.min(mapped))
    }

    /// Makes everything appended durable: `msync` of the map's newly written range
    /// when nothing else was written, else one whole-file sync (`all`: `fsync`, else
    /// `fdatasync`), which covers the map as well (see the module doc).
    fn sync(&mut self, all: bool) -> std::io::Result<()> {
        let written = self.map_written();
        match &self.map {
            Some(map) if !all && !self.written_unmapped => {
                if written > self.map_synced {
                    // memmap2 widens the range to whole pages.
                    map.flush_range(self.map_synced, written - self.map_synced)?;
                }
            }
            _ if all => self.file.sync_all()?,
            _ => self.file.sync_data()?,
        }
        self.map_synced = written;
        self.written_unmapped = false;
        Ok(())
    }

    /// Reserves the blocks of `[current, size)` and extends the file to `size`;
    /// `false` where the file system cannot reserve (the file is then extended sparse,
    /// and must not be mapped: filling a hole through a map on a full disk is SIGBUS).
    fn reserve(&self, current: u64, size: u64) -> std::io::Result<bool> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{FallocateFlags, fallocate};
            match fallocate(&self.file, FallocateFlags::empty(), current, size - current) {
                Ok(()) => return Ok(true),
                Err(e) if e == rustix::io::Errno::OPNOTSUPP => {}
                Err(e) => return Err(e.into()),
            }
        }
        // set_len leaves the file offset, where the next append lands, alone.
        self.file.set_len(size)?;
        Ok(false)
    }
}

impl WritableFile for RealWritable {
    fn append(&mut self, buf: &[u8]) -> Result<()> {
        if !self.append_mapped(buf) {
            let path = &self.path;
            let context = IoSnafu {
                op: Op::Append,
                path,
            };
            if !self.offset_at_len {
                self.file.seek(SeekFrom::Start(self.len)).context(context)?;
                self.offset_at_len = true;
            }
            self.file.write_all(buf).context(context)?;
            self.written_unmapped = true;
        }
        self.len += buf.len() as u64;
        Ok(())
    }

    fn preallocate(&mut self, size: u64) -> Result<()> {
        let path = &self.path;
        let context = IoSnafu {
            op: Op::Preallocate,
            path,
        };
        let current = self.file.metadata().context(context)?.len();
        if size <= current {
            return Ok(());
        }
        let reserved = self.reserve(current, size).context(context)?;
        // Map the whole reserved file, again when a later reservation extends it
        // (the WAL reserves a segment a step at a time). Pages dirtied through the
        // old map stay dirty in the page cache when it goes, but the range its
        // `msync` would cover goes with it: the next sync is a whole-file one.
        if reserved
            && let Ok(len) = usize::try_from(size)
            && self.map.as_ref().is_none_or(|map| map.len() < len)
        {
            if self.map.take().is_some() {
                self.written_unmapped = true;
            }
            self.map = Some(crate::mmap::map_writable(&self.file, path, len)?);
        }
        Ok(())
    }

    fn sync_data(&mut self) -> Result<()> {
        self.sync(false).context(IoSnafu {
            op: Op::SyncData,
            path: &self.path,
        })
    }

    fn sync_all(&mut self) -> Result<()> {
        self.sync(true).context(IoSnafu {
            op: Op::SyncAll,
            path: &self.path,
        })
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn close(self: Box<Self>) -> Result<()> {
        // Nothing is left to report here: `File` keeps no buffer (every append is a
        // write(2), whose errors were returned then), and write-back errors surface at
        // the syncs. std ignores close(2)'s own error, which only network file systems
        // give and which reading would take the raw descriptor (unsafe, kept out of
        // this module). The map goes first: unmapping keeps its bytes in the page cache.
        let RealWritable { file, map, .. } = *self;
        drop(map);
        drop(file);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

    use super::RealWritable;
    use crate::{FileSystem, RealFs, WritableFile};

    /// A `RealWritable` over a new, empty file at `path`.
    #[cfg(target_os = "linux")]
    fn fresh(path: &std::path::Path) -> RealWritable {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .unwrap();
        RealWritable::new(file, 0, path.to_path_buf())
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_reservation_on_linux_is_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = fresh(&dir.path().join("log"));
        w.preallocate(4096).unwrap();
        // The temp dir's file system reserves (ext4, xfs, btrfs and tmpfs all do).
        assert!(w.map.is_some());
        w.append(b"x").unwrap();
        assert!(!w.written_unmapped);
    }

    /// The WAL reserves a segment a step at a time: each step widens the map, and
    /// appends on both sides of the step land in order.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_second_reservation_widens_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut w = fresh(&path);
        w.preallocate(4096).unwrap();
        let mut expected = Vec::new();
        for i in 0..4000u32 {
            if i == 200 {
                w.sync_data().unwrap();
            }
            if w.len() + 4 > 4096 && w.map.as_ref().unwrap().len() == 4096 {
                w.preallocate(3 * 4096).unwrap();
                assert_eq!(w.map.as_ref().unwrap().len(), 3 * 4096);
                // The old map's msync range is gone: the next sync covers the file.
                assert!(w.written_unmapped);
            }
            if w.len() + 4 > 3 * 4096 {
                break;
            }
            w.append(&i.to_le_bytes()).unwrap();
            expected.extend_from_slice(&i.to_le_bytes());
        }
        w.sync_data().unwrap();
        assert!(!w.written_unmapped);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 3 * 4096);
        assert_eq!(&bytes[..expected.len()], expected.as_slice());
        assert!(
            expected.len() > 8192,
            "the appends did not pass the first step"
        );
    }

    #[test]
    fn appends_inside_a_reservation_reach_readers_before_any_sync() {
        let dir = tempfile::tempdir().unwrap();
        let (fs, path) = (RealFs::new(), dir.path().join("log"));
        let mut w = fs.create(&path).unwrap();
        w.preallocate(4096).unwrap();
        w.append(b"first ").unwrap();
        w.append(b"second").unwrap();
        // Another handle reads the page cache the map writes into.
        let bytes = fs.read_file(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(&bytes[..12], b"first second");
        assert!(bytes[12..].iter().all(|&b| b == 0));
        // Dropped without close or sync, as a crashing process would: still there.
        drop(w);
        assert_eq!(&fs.read_file(&path).unwrap()[..12], b"first second");
    }

    #[test]
    fn appends_past_the_reservation_continue_at_the_append_position() {
        let dir = tempfile::tempdir().unwrap();
        let (fs, path) = (RealFs::new(), dir.path().join("log"));
        let mut w = fs.create(&path).unwrap();
        w.append(b"head:").unwrap();
        w.preallocate(16).unwrap();
        let mut expected = b"head:".to_vec();
        for i in 0..10u8 {
            let chunk = [b'a' + i; 7];
            w.append(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
            if i == 5 {
                w.sync_data().unwrap();
            }
        }
        w.sync_all().unwrap();
        assert_eq!(w.len(), expected.len() as u64);
        w.close().unwrap();
        assert_eq!(fs.read_file(&path).unwrap(), expected);
    }

    #[test]
    fn large_and_small_appends_inside_the_reservation_interleave_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (fs, path) = (RealFs::new(), dir.path().join("log"));
        let mut w = fs.create(&path).unwrap();
        w.preallocate(1 << 20).unwrap();
        let mut expected = Vec::new();
        for i in 0..6u8 {
            // Small (mapped) and large (written) appends, alternating.
            let len = if i % 2 == 0 { 100 } else { 40 << 10 };
            let chunk = vec![i + 1; len];
            w.append(&chunk).unwrap();
            expected.extend_from_slice(&chunk);
        }
        w.sync_data().unwrap();
        let bytes = fs.read_file(&path).unwrap();
        assert_eq!(&bytes[..expected.len()], expected.as_slice());
        assert!(bytes[expected.len()..].iter().all(|&b| b == 0));
        w.close().unwrap();
    }

    #[test]
    fn a_second_reservation_fills_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (fs, path) = (RealFs::new(), dir.path().join("log"));
        let mut w = fs.create(&path).unwrap();
        w.preallocate(8).unwrap();
        w.append(b"12345").unwrap();
        w.preallocate(32).unwrap();
        w.append(b"6789abcdef").unwrap();
        w.sync_data().unwrap();
        w.close().unwrap();
        let bytes = fs.read_file(&path).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_eq!(&bytes[..15], b"123456789abcdef");
    }
}
