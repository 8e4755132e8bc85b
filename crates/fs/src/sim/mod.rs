//! `SimFs`: an in-memory file system that knows what a power loss would keep.
//!
//! Everything is deterministic from the seed: the same workload and the same seed give
//! the same crash states, so a failing crash test can be replayed exactly.

mod capacity;
mod dirs;
mod files;
mod state;

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Rng;
use files::{SimLock, SimReadable, SimWritable};
pub use state::CrashMode;
use state::{Inode, InodeRef, Namespace, lock};

use crate::{
    Error, Fault, FaultPlan, FileLock, FileSystem, Mapping, Op, ReadableFile, Result, WritableFile,
};

/// The simulated file system. Clones share one disk, so a test can hand a clone to
/// the code under test and keep one to crash it or to install faults.
///
/// Semantics follow [`FileSystem`]'s durability contract strictly: appended bytes are
/// durable only after a sync of their file, and so is a preallocated size; file names
/// only after a sync of their directory. Directories are durable once created. [`SimFs::crash`] returns the disk a
/// power loss could leave; the original stays usable (as the "dead" process's view).
#[derive(Clone)]
pub struct SimFs {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    ns: Mutex<Namespace>,
    locks: Mutex<BTreeSet<PathBuf>>,
    plan: Mutex<FaultPlan>,
    planned_ops: AtomicU64,
    ops: AtomicU64,
    rng: Mutex<Rng>,
    /// The capacity limit in bytes of live file data (see `capacity.rs`).
    capacity: Mutex<Option<u64>>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Counts one operation and returns the fault the plan assigns it, if any.
    pub(crate) fn check(&self, op: Op, path: &Path) -> Option<Fault> {
        self.ops.fetch_add(1, Ordering::Relaxed);
        let index = self.planned_ops.fetch_add(1, Ordering::Relaxed);
        guard(&self.plan).check(index, op, path)
    }

    /// Counts one operation and fails it if the plan says so.
    pub(crate) fn fail_if_planned(&self, op: Op, path: &Path) -> Result<()> {
        match self.check(op, path) {
            Some(fault) => Err(Self::injected(op, path, fault)),
            None => Ok(()),
        }
    }

    pub(crate) fn injected(op: Op, path: &Path, fault: Fault) -> Error {
        Error::Io {
            op,
            path: path.to_path_buf(),
            source: fault.to_io_error(),
        }
    }

    pub(crate) fn locks(&self) -> MutexGuard<'_, BTreeSet<PathBuf>> {
        guard(&self.locks)
    }

    fn ns(&self) -> MutexGuard<'_, Namespace> {
        guard(&self.ns)
    }
}

fn not_found(op: Op, path: &Path) -> Error {
    failed(op, path, io::ErrorKind::NotFound)
}

fn failed(op: Op, path: &Path, kind: io::ErrorKind) -> Error {
    Error::Io {
        op,
        path: path.to_path_buf(),
        source: kind.into(),
    }
}

impl SimFs {
    /// An empty disk whose crash states are drawn from `seed`.
    pub fn new(seed: u64) -> SimFs {
        Self::with_namespace(Namespace::default(), seed)
    }

    fn with_namespace(ns: Namespace, seed: u64) -> SimFs {
        let shared = Shared {
            ns: Mutex::new(ns),
            locks: Mutex::default(),
            plan: Mutex::default(),
            planned_ops: AtomicU64::new(0),
            ops: AtomicU64::new(0),
            rng: Mutex::new(Rng::new(seed)),
            capacity: Mutex::new(None),
        };
        SimFs {
            shared: Arc::new(shared),
        }
    }

    /// The disk a power loss now could leave, with a crash mode drawn from the seed.
    /// The result has no locks held, no faults planned, and its own derived seed.
    pub fn crash(&self) -> SimFs {
        let mode = match guard(&self.shared.rng).below(4) {
            0 => CrashMode::DropUnsynced,
            1 => CrashMode::Torn,
            2 => CrashMode::TornWithGarbage,
            _ => CrashMode::PagesInAnyOrder,
        };
        self.crash_with(mode)
    }

    /// The disk as a killed process leaves it: every write kept, synced or not (the
    /// kernel still holds it), and every lock released. Nothing is shared with this
    /// disk, so a process still running on it cannot touch the copy; a power loss
    /// ([`SimFs::crash_with`]) on the copy still loses what was never synced.
    pub fn after_kill(&self) -> SimFs {
        let seed = guard(&self.shared.rng).next_u64();
        Self::with_namespace(self.shared.ns().fork(), seed)
    }

    /// The disk a power loss now could leave, in the given mode.
    pub fn crash_with(&self, mode: CrashMode) -> SimFs {
        let seed = guard(&self.shared.rng).next_u64();
        let ns = self.shared.ns().crash(mode, &mut Rng::new(seed));
        Self::with_namespace(ns, seed ^ 0x5eed)
    }

    /// Installs a fault plan; its operation count starts at 0 now.
    pub fn set_faults(&self, plan: FaultPlan) {
        *guard(&self.shared.plan) = plan;
        self.shared.planned_ops.store(0, Ordering::Relaxed);
    }

    /// Removes the fault plan: every operation succeeds again.
    pub fn clear_faults(&self) {
        self.set_faults(FaultPlan::new());
    }

    /// Operations performed on this disk so far, failed ones included.
    pub fn op_count(&self) -> u64 {
        self.shared.ops.load(Ordering::Relaxed)
    }

    fn inode(&self, op: Op, path: &Path) -> Result<InodeRef> {
        self.shared.fail_if_planned(op, path)?;
        self.shared
            .ns()
            .live
            .get(path)
            .cloned()
            .ok_or_else(|| not_found(op, path))
    }

    fn writable(&self, inode: InodeRef, path: &Path) -> Box<dyn WritableFile> {
        let shared = Arc::clone(&self.shared);
        let pos = lock(&inode).size();
        Box::new(SimWritable {
            shared,
            inode,
            path: path.to_path_buf(),
            pos,
        })
    }
}

impl fmt::Debug for SimFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.shared.ns();
        f.debug_struct("SimFs")
            .field("files", &ns.live.keys().collect::<Vec<_>>())
            .field("ops", &self.op_count())
            .finish()
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimFs")
    }
}

impl FileSystem for SimFs {
    fn create(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        self.shared.fail_if_planned(Op::Create, path)?;
        let mut ns = self.shared.ns();
        if !path.parent().is_none_or(|dir| ns.dir_exists(dir)) {
            return Err(not_found(Op::Create, path));
        }
        let inode: InodeRef = Arc::new(Mutex::new(Inode::default()));
        ns.live.insert(path.to_path_buf(), Arc::clone(&inode));
        drop(ns);
        Ok(self.writable(inode, path))
    }

    fn open_append(&self, path: &Path) -> Result<Box<dyn WritableFile>> {
        let inode = self.inode(Op::OpenAppend, path)?;
        Ok(self.writable(inode, path))
    }

    fn open(&self, path: &Path) -> Result<Box<dyn ReadableFile>> {
        let inode = self.inode(Op::Open, path)?;
        let shared = Arc::clone(&self.shared);
        Ok(Box::new(SimReadable {
            shared,
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn map(&self, path: &Path) -> Result<Mapping> {
        let inode = self.inode(Op::Map, path)?;
        let inode = lock(&inode);
        let mut bytes = inode.data.clone();
        bytes.resize(inode.size(), 0);
        Ok(Mapping::new(bytes))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.shared.fail_if_planned(Op::Rename, from)?;
        let mut ns = self.shared.ns();
        if !to.parent().is_none_or(|dir| ns.dir_exists(dir)) {
            return Err(not_found(Op::Rename, to));
        }
        if ns.dirs.contains(from) {
            let occupied =
                ns.live.contains_key(to) || (ns.dirs.contains(to) && !ns.dir_is_empty(to));
            if occupied || to.starts_with(from) {
                return Err(failed(Op::Rename, to, io::ErrorKind::DirectoryNotEmpty));
            }
            ns.rename_dir(from, to);
            return Ok(());
        }
        let inode = ns
            .live
            .remove(from)
            .ok_or_else(|| not_found(Op::Rename, from))?;
        ns.live.insert(to.to_path_buf(), inode);
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<()> {
        self.shared.fail_if_planned(Op::Remove, path)?;
        let removed = self.shared.ns().live.remove(path);
        removed.map(drop).ok_or_else(|| not_found(Op::Remove, path))
    }

    fn link(&self, from: &Path, to: &Path) -> Result<()> {
        self.shared.fail_if_planned(Op::Link, to)?;
        let mut ns = self.shared.ns();
        if !to.parent().is_none_or(|dir| ns.dir_exists(dir)) {
            return Err(not_found(Op::Link, to));
        }
        if ns.live.contains_key(to) || ns.dirs.contains(to) {
            return Err(failed(Op::Link, to, io::ErrorKind::AlreadyExists));
        }
        let inode = ns.live.get(from).cloned();
        let inode = inode.ok_or_else(|| not_found(Op::Link, from))?;
        ns.live.insert(to.to_path_buf(), inode);
        Ok(())
    }

    fn remove_dir(&self, dir: &Path) -> Result<()> {
        self.shared.fail_if_planned(Op::RemoveDir, dir)?;
        let mut ns = self.shared.ns();
        if !ns.dirs.contains(dir) {
            return Err(not_found(Op::RemoveDir, dir));
        }
        if !ns.dir_is_empty(dir) {
            return Err(failed(Op::RemoveDir, dir, io::ErrorKind::DirectoryNotEmpty));
        }
        ns.dirs.remove(dir);
        Ok(())
    }

    fn list(&self, dir: &Path) -> Result<Vec<String>> {
        self.shared.fail_if_planned(Op::List, dir)?;
        let ns = self.shared.ns();
        if !ns.dir_exists(dir) {
            return Err(not_found(Op::List, dir));
        }
        let files = ns.live.keys().chain(ns.dirs.iter());
        let names = files
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned());
        Ok(names.collect())
    }

    fn create_dir_all(&self, dir: &Path) -> Result<()> {
        self.shared.fail_if_planned(Op::CreateDir, dir)?;
        let mut ns = self.shared.ns();
        for a in dir
            .ancestors()
            .filter(|a| a.parent().is_some() && !a.as_os_str().is_empty())
        {
            ns.dirs.insert(a.to_path_buf());
        }
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> Result<()> {
        self.shared.fail_if_planned(Op::SyncDir, dir)?;
        let mut ns = self.shared.ns();
        if !ns.dir_exists(dir) {
            return Err(not_found(Op::SyncDir, dir));
        }
        ns.sync_dir(dir);
        ns.settle_dir_renames(dir);
        Ok(())
    }

    fn lock(&self, path: &Path) -> Result<Box<dyn FileLock>> {
        self.shared.fail_if_planned(Op::Lock, path)?;
        {
            let mut ns = self.shared.ns();
            if !path.parent().is_none_or(|dir| ns.dir_exists(dir)) {
                return Err(not_found(Op::Lock, path));
            }
            ns.live.entry(path.to_path_buf()).or_default();
        }
        if !self.shared.locks().insert(path.to_path_buf()) {
            return Err(Error::Locked {
                path: path.to_path_buf(),
            });
        }
        Ok(Box::new(SimLock {
            shared: Arc::clone(&self.shared),
            path: path.to_path_buf(),
        }))
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        self.shared.fail_if_planned(Op::Stat, path)?;
        let ns = self.shared.ns();
        Ok(ns.live.contains_key(path) || ns.dirs.contains(path))
    }

    fn size(&self, path: &Path) -> Result<u64> {
        let inode = self.inode(Op::Stat, path)?;
        Ok(lock(&inode).size() as u64)
    }

    fn truncate(&self, path: &Path, len: u64) -> Result<()> {
        let inode = self.inode(Op::Truncate, path)?;
        lock(&inode).truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(())
    }

    /// As the default (open, stat, read: three operations), but the zeros of a
    /// preallocated file come from a zeroed allocation instead of being written, so
    /// reading a mostly empty 64 MiB log touches only its written part.
    fn read_file(&self, path: &Path) -> Result<Vec<u8>> {
        let inode = self.inode(Op::Open, path)?;
        self.shared.fail_if_planned(Op::Stat, path)?;
        let size = lock(&inode).size();
        self.shared.fail_if_planned(Op::Read, path)?;
        let inode = lock(&inode);
        let mut buf = vec![0; size.min(inode.size())];
        let written = inode.data.len().min(buf.len());
        buf[..written].copy_from_slice(&inode.data[..written]);
        Ok(buf)
    }
}
