//! `TableHandle`: one live table file, shared by every version that lists it, deleted
//! when the last version holding it goes away after an edit made it obsolete.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use quickcache_fs::DynFs;
use quickcache_sstable::{Entry, SeqNo, SummaryBudget, Table, TableCursor};
use snafu::ResultExt;

use crate::error::TableSnafu;
use crate::{LevelTable, Result, TableInfo};

/// A table of the tree, held by versions through `Arc<TableHandle>`.
///
/// The sstable reader is opened on first use and cached; its block summaries take
/// their bytes from the handle's [`SummaryBudget`], which the tree's handles share.
///
/// Thread-safety: shared between readers and the compaction threads; the mutable state
/// is the obsolete flag (atomic) and the cached reader (set once).
///
/// Lifetime of the file: a table is marked obsolete once the manifest edit that removes
/// it from the tree is durable (`docs/crash-safety.md` rule 4); its file is removed when the last
/// handle drops, that is when no live version (and so no reader) lists it any more. A
/// removal that fails only leaks the file, which
/// [`crate::VersionSet::remove_unreferenced`] deletes at the next open.
pub struct TableHandle {
    info: TableInfo,
    path: PathBuf,
    fs: DynFs,
    budget: SummaryBudget,
    table: OnceLock<Table>,
    obsolete: AtomicBool,
}

impl TableHandle {
    /// A handle for the table `info` describes, whose file lies in `dir`; no limit on
    /// its reader's block summaries.
    pub fn new(fs: DynFs, dir: &Path, info: TableInfo) -> TableHandle {
        TableHandle::with_budget(fs, dir, info, SummaryBudget::unlimited())
    }

    /// A handle whose reader's block summaries take their bytes from `budget`.
    pub fn with_budget(
        fs: DynFs,
        dir: &Path,
        info: TableInfo,
        budget: SummaryBudget,
    ) -> TableHandle {
        TableHandle {
            path: info.id.path(dir),
            info,
            fs,
            budget,
            table: OnceLock::new(),
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

    /// The table's reader, opened on first use.
    pub fn table(&self) -> Result<Table> {
        self.open_table().context(TableSnafu {
            id: self.info.id,
            path: &self.path,
        })
    }

    fn open_table(&self) -> quickcache_sstable::Result<Table> {
        self.opened().cloned()
    }

    /// Opens the reader on `map`, the table file's bytes mapped by the caller (who
    /// maps every table of a version first, and parses them after: see
    /// [`crate::VersionSet::open_read_only`]). Does nothing if the reader is open.
    pub(crate) fn open_mapped(&self, map: quickcache_fs::Mapping) -> Result<()> {
        if self.table.get().is_some() {
            return Ok(());
        }
        let table =
            Table::from_mapping_with(map, &self.path, self.budget.clone()).context(TableSnafu {
                id: self.info.id,
                path: &self.path,
            })?;
        let _set = self.table.set(table);
        Ok(())
    }

    /// The reader, borrowed: a point lookup needs no clone of it (cloning is an atomic
    /// increment and decrement of a count every reader thread shares, per table per get).
    /// Inline, the check that it is open: every point lookup makes it, per table.
    #[inline]
    fn opened(&self) -> quickcache_sstable::Result<&Table> {
        match self.table.get() {
            Some(table) => Ok(table),
            None => self.open_now(),
        }
    }

    /// [`TableHandle::opened`] for a reader not open yet.
    #[cold]
    #[inline(never)]
    fn open_now(&self) -> quickcache_sstable::Result<&Table> {
        let mut table = Table::open_with(self.fs.as_ref(), &self.path, self.budget.clone())?;
        if let Some(seqno) = self.info.global_seqno {
            table = table.with_global_seqno(seqno);
        }
        Ok(self.table.get_or_init(|| table))
    }

    /// The newest entry of `user_key` visible at `snapshot` in this table, tombstones
    /// included.
    pub fn get(&self, user_key: &[u8], snapshot: SeqNo) -> Result<Option<Entry>> {
        let table = self.opened().context(TableSnafu {
            id: self.info.id,
            path: &self.path,
        })?;
        table.get(user_key, snapshot).context(TableSnafu {
            id: self.info.id,
            path: &self.path,
        })
    }

    /// Heap bytes of the table's reader (its decoded index and the block summaries its
    /// budget admitted), or 0 while no read has opened it yet.
    pub fn reader_memory(&self) -> usize {
        self.table.get().map_or(0, Table::memory_usage)
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

impl LevelTable for std::sync::Arc<TableHandle> {
    type Cursor = TableCursor;

    fn largest(&self) -> quickcache_sstable::KeyRef<'_> {
        self.info.largest.as_ref()
    }

    fn open_cursor(&self) -> quickcache_sstable::Result<TableCursor> {
        Ok(self.open_table()?.cursor())
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
