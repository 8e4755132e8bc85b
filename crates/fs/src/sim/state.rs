//! What the simulated disk holds: live names and contents, and the part of both that
//! would survive a power loss.
//!
//! A file's bytes live in an inode. Appends go to the inode at once (they reach "the
//! kernel"); `sync` advances the inode's `synced_len`. A preallocated file is held
//! sparsely: the written bytes, then zeros up to its size, which a sync makes durable. Names live in two maps: `live`,
//! what the process sees, and `durable`, what the directories held at their last
//! `sync_dir`. A crash keeps only durable names, and of each inode its synced prefix
//! plus, depending on the [`CrashMode`], some or all of the unsynced tail.
//!
//! Directories themselves are durable as soon as they are created: the model is
//! strict about the files inside them, where an engine's ordering bugs live, and
//! lenient about `mkdir`, which every engine does once at setup.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Rng;

/// The contents of one file, shared by every name and handle that refers to it.
///
/// The file is `data` followed by zeros up to `size` (kept sparse, so that a 64 MiB
/// preallocated log costs the simulation only what was written into it).
#[derive(Debug, Default, Clone)]
pub(crate) struct Inode {
    /// The written bytes: the file up to the end of the last write.
    pub(crate) data: Vec<u8>,
    /// How much of `data` a power loss keeps.
    pub(crate) synced_len: usize,
    /// Extra length set by preallocation: the file's size is the larger of this and
    /// `data.len()`.
    pub(crate) reserved: usize,
    /// `reserved` as of the last sync: what a power loss keeps of it.
    pub(crate) synced_reserved: usize,
}

impl Inode {
    /// The file's size.
    pub(crate) fn size(&self) -> usize {
        self.data.len().max(self.reserved)
    }

    /// Writes `buf` at `offset`, filling any gap before it with zeros. Bytes rewritten
    /// below `synced_len` count as unsynced again (pessimistic: a crash may then lose
    /// them; the engine only ever writes past the synced part).
    pub(crate) fn write_at(&mut self, offset: usize, buf: &[u8]) {
        if offset > self.data.len() {
            self.data.resize(offset, 0);
        }
        self.synced_len = self.synced_len.min(offset);
        let overlap = (self.data.len() - offset).min(buf.len());
        self.data[offset..offset + overlap].copy_from_slice(&buf[..overlap]);
        self.data.extend_from_slice(&buf[overlap..]);
    }

    /// Copies the bytes at `offset` into `buf` (zeros past the written part); returns
    /// how many, fewer than asked only at the end of the file.
    pub(crate) fn read_at(&self, offset: usize, buf: &mut [u8]) -> usize {
        let start = offset.min(self.size());
        let n = buf.len().min(self.size() - start);
        let data = self.data.get(start..).unwrap_or_default();
        let written = data.len().min(n);
        buf[..written].copy_from_slice(&data[..written]);
        buf[written..n].fill(0);
        n
    }

    /// Makes everything written, and the size, durable.
    pub(crate) fn sync(&mut self) {
        self.synced_len = self.data.len();
        self.synced_reserved = self.reserved;
    }

    /// Cuts the file to at most `len` bytes.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.data.truncate(len);
        self.synced_len = self.synced_len.min(len);
        self.reserved = self.reserved.min(len);
        self.synced_reserved = self.synced_reserved.min(len);
    }
}

/// An inode behind its own lock, so open handles need not lock the namespace.
pub(crate) type InodeRef = Arc<Mutex<Inode>>;

/// Locks an inode, recovering the data if a panicking test thread poisoned the lock.
pub(crate) fn lock(inode: &InodeRef) -> MutexGuard<'_, Inode> {
    inode
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a power loss does to data written after a file's last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrashMode {
    /// Every unsynced byte is lost.
    DropUnsynced,
    /// Each file keeps its unsynced bytes up to a random point (a torn write).
    Torn,
    /// Torn, and the rest of the file's length holds zeros or random bytes: the size
    /// reached the disk, the data did not.
    TornWithGarbage,
    /// Each 4 KiB page of the unsynced bytes (at file offsets that are multiples of
    /// 4096) reaches the disk or not, independently: write-back and the drive's cache
    /// keep no order, so a later page may land while an earlier one reads back as
    /// zeros. The file ends after the last page that landed.
    PagesInAnyOrder,
}

/// The unit in which [`CrashMode::PagesInAnyOrder`] keeps or loses unsynced bytes.
pub(crate) const PAGE: usize = 4096;

/// File names, live and durable, and the directories that exist.
#[derive(Debug, Default)]
pub(crate) struct Namespace {
    pub(crate) live: BTreeMap<PathBuf, InodeRef>,
    pub(crate) durable: BTreeMap<PathBuf, InodeRef>,
    pub(crate) dirs: BTreeSet<PathBuf>,
    /// Directory renames (from, to) whose new parent was not synced since: a power
    /// loss undoes them (see `dirs.rs`).
    pub(crate) pending_dir_renames: Vec<(PathBuf, PathBuf)>,
}

impl Namespace {
    /// Whether `dir` exists; the root (a path without parent) always does.
    pub(crate) fn dir_exists(&self, dir: &Path) -> bool {
        dir.parent().is_none() || dir.as_os_str().is_empty() || self.dirs.contains(dir)
    }

    /// Makes the file names in `dir` durable as they are now.
    pub(crate) fn sync_dir(&mut self, dir: &Path) {
        let in_dir = |p: &Path| p.parent() == Some(dir);
        self.durable.retain(|p, _| !in_dir(p));
        for (p, inode) in self.live.iter().filter(|(p, _)| in_dir(p)) {
            self.durable.insert(p.clone(), Arc::clone(inode));
        }
    }

    /// The namespace a power loss leaves: durable names only, each with the bytes the
    /// crash mode keeps.
    /// A copy of everything, unsynced data and names included, sharing no inode with
    /// this namespace (an inode under a live and a durable name stays one inode).
    pub(crate) fn fork(&self) -> Namespace {
        let mut copies: HashMap<*const Mutex<Inode>, InodeRef> = HashMap::new();
        let mut copy = |names: &BTreeMap<PathBuf, InodeRef>| {
            let mut out = BTreeMap::new();
            for (path, inode) in names {
                let twin = copies
                    .entry(Arc::as_ptr(inode))
                    .or_insert_with(|| Arc::new(Mutex::new(lock(inode).clone())));
                out.insert(path.clone(), Arc::clone(twin));
            }
            out
        };
        let live = copy(&self.live);
        let durable = copy(&self.durable);
        Namespace {
            live,
            durable,
            dirs: self.dirs.clone(),
            pending_dir_renames: self.pending_dir_renames.clone(),
        }
    }

    pub(crate) fn crash(&self, mode: CrashMode, rng: &mut Rng) -> Namespace {
        let (mut durable, mut dirs) = (self.durable.clone(), self.dirs.clone());
        self.undo_pending_dir_renames(&mut durable, &mut dirs);
        let mut live = BTreeMap::new();
        for (path, inode) in &durable {
            let inode = lock(inode);
            let data = surviving_bytes(&inode, mode, rng);
            let synced_len = data.len();
            // A synced preallocation survives; an unsynced one is lost.
            let reserved = inode.synced_reserved;
            let survivor = Inode {
                data,
                synced_len,
                reserved,
                synced_reserved: reserved,
            };
            live.insert(path.clone(), Arc::new(Mutex::new(survivor)));
        }
        Namespace {
            durable: live.clone(),
            live,
            dirs,
            pending_dir_renames: Vec::new(),
        }
    }
}

/// The bytes of one inode after a power loss.
fn surviving_bytes(inode: &Inode, mode: CrashMode, rng: &mut Rng) -> Vec<u8> {
    let synced = inode.synced_len.min(inode.data.len());
    let unsynced = inode.data.len() - synced;
    let mut data = inode.data[..synced].to_vec();
    if mode == CrashMode::DropUnsynced || unsynced == 0 {
        return data;
    }
    if mode == CrashMode::PagesInAnyOrder {
        return pages_in_any_order(inode, synced, rng);
    }
    let kept = rng.below(unsynced as u64 + 1) as usize;
    data.extend_from_slice(&inode.data[synced..synced + kept]);
    if mode == CrashMode::TornWithGarbage {
        let rest = unsynced - kept;
        if rng.below(2) == 0 {
            data.resize(data.len() + rest, 0);
        } else {
            data.extend((0..rest).map(|_| rng.next_u64() as u8));
        }
    }
    data
}

/// [`CrashMode::PagesInAnyOrder`]: the synced prefix, then each unsynced page kept
/// or zeroed by a coin flip, cut after the last page kept.
fn pages_in_any_order(inode: &Inode, synced: usize, rng: &mut Rng) -> Vec<u8> {
    let mut data = inode.data.clone();
    let mut end = synced;
    let mut page_start = synced;
    while page_start < data.len() {
        let page_end = ((page_start / PAGE + 1) * PAGE).min(data.len());
        if rng.below(2) == 0 {
            data[page_start..page_end].fill(0);
        } else {
            end = page_end;
        }
        page_start = page_end;
    }
    data.truncate(end);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inode(data: &[u8], synced_len: usize) -> InodeRef {
        Arc::new(Mutex::new(Inode {
            data: data.to_vec(),
            synced_len,
            ..Inode::default()
        }))
    }

    #[test]
    fn unsynced_names_and_bytes_are_lost() {
        let mut ns = Namespace::default();
        ns.dirs.insert(PathBuf::from("/d"));
        ns.live
            .insert(PathBuf::from("/d/a"), inode(b"synced+tail", 6));
        ns.sync_dir(Path::new("/d"));
        ns.live
            .insert(PathBuf::from("/d/b"), inode(b"never named durably", 19));
        let after = ns.crash(CrashMode::DropUnsynced, &mut Rng::new(1));
        assert_eq!(
            after.live.keys().collect::<Vec<_>>(),
            vec![Path::new("/d/a")]
        );
        assert_eq!(lock(&after.live[Path::new("/d/a")]).data, b"synced");
        assert!(after.dir_exists(Path::new("/d")));
    }

    #[test]
    fn an_unsynced_rename_is_undone() {
        let mut ns = Namespace::default();
        ns.live.insert(PathBuf::from("/old"), inode(b"x", 1));
        ns.sync_dir(Path::new("/"));
        let moved = ns.live.remove(Path::new("/old")).unwrap();
        ns.live.insert(PathBuf::from("/new"), moved);
        let after = ns.crash(CrashMode::Torn, &mut Rng::new(1));
        assert_eq!(
            after.live.keys().collect::<Vec<_>>(),
            vec![Path::new("/old")]
        );
    }

    #[test]
    fn torn_tails_keep_a_prefix_and_garbage_keeps_the_length() {
        let data = b"0123456789";
        for seed in 0..50 {
            let mut rng = Rng::new(seed);
            let torn = surviving_bytes(
                &Inode {
                    data: data.to_vec(),
                    synced_len: 4,
                    ..Inode::default()
                },
                CrashMode::Torn,
                &mut rng,
            );
            assert!(torn.len() >= 4 && data.starts_with(&torn));
            let garbage = surviving_bytes(
                &Inode {
                    data: data.to_vec(),
                    synced_len: 4,
                    ..Inode::default()
                },
                CrashMode::TornWithGarbage,
                &mut rng,
            );
            assert_eq!(garbage.len(), data.len());
            assert_eq!(&garbage[..4], b"0123");
        }
    }

    #[test]
    fn pages_in_any_order_keeps_or_zeroes_whole_pages_and_can_leave_holes() {
        let data: Vec<u8> = (0..3 * PAGE + 500).map(|i| (i % 251) as u8 + 1).collect();
        let node = Inode {
            data: data.clone(),
            synced_len: 100,
            ..Inode::default()
        };
        let mut holes = 0;
        for seed in 0..64 {
            let mut rng = Rng::new(seed);
            let after = surviving_bytes(&node, CrashMode::PagesInAnyOrder, &mut rng);
            assert_eq!(&after[..100], &data[..100]);
            for (page, bytes) in after.chunks(PAGE).enumerate() {
                let start = (page * PAGE).max(100);
                let from = start - page * PAGE;
                let original = &data[start..page * PAGE + bytes.len()];
                let kept = &bytes[from..];
                assert!(
                    kept == original || kept.iter().all(|&b| b == 0),
                    "seed {seed}"
                );
            }
            let last = after.iter().rposition(|&b| b != 0).unwrap_or(0);
            holes += usize::from(after[..last].contains(&0));
        }
        assert!(holes > 0, "no seed left a hole before a page that landed");
    }
}
