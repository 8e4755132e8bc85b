//! `TableHandle`: one live table file, shared by every version that lists it, deleted
//! when the last version holding it goes away after an edit made it obsolete.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use quickcache_fs::DynFs;

use crate::TableInfo;

/// A table of the tree, held by versions through `Arc<TableHandle>`.
///
/// Thread-safety: shared between readers and the compaction threads; the only mutable
/// state is the obsolete flag (atomic).
///
/// Lifetime of the file: a table is marked obsolete once the manifest edit that removes
/// it from the tree is durable (CRASH-SAFETY rule 2); its file is removed when the last
/// handle drops, that is when no live version (and so no reader) lists it any more. A
/// removal that fails only leaks the file, which [`crate::remove_unreferenced`] deletes
/// at the next open.
pub struct TableHandle {
    info: TableInfo,
    path: PathBuf,
    fs: DynFs,
    obsolete: AtomicBool,
}

impl TableHandle {
    /// A handle for the table `info` describes, whose file lies in `dir`.
    pub fn new(fs: DynFs, dir: &Path, info: TableInfo) -> TableHandle {
        TableHandle {
            path: info.id.path(dir),
            info,
            fs,
            obsolete: AtomicBool::new(false),
        }
    }

    /// What the manifest records about the table.
    pub fn info(&self) -> &TableInfo {
        &self.info
    }

    /// The table file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file system holding the table.
    pub fn fs(&self) -> &DynFs {
        &self.fs
    }

    /// Marks the file for deletion once the last handle drops. Call only after the
    /// edit removing the table from the tree is durable.
    pub(crate) fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }

    /// Whether the file will be deleted when the last handle drops.
    pub fn is_obsolete(&self) -> bool {
        self.obsolete.load(Ordering::Acquire)
    }
}

impl Drop for TableHandle {
    fn drop(&mut self) {
        if self.is_obsolete() {
            // Failure only leaks the file; the next open removes unreferenced tables.
            let _ = self.fs.remove(&self.path);
        }
    }
}

impl fmt::Debug for TableHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableHandle")
            .field("id", &self.info.id)
            .field("size", &self.info.size)
            .field("obsolete", &self.is_obsolete())
            .finish()
    }
}
