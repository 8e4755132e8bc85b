//! Writing the tables a flush or compaction produces: one builder at a time, cut on
//! request, every file synced by its builder and the directory synced at the end.

use std::sync::atomic::AtomicU64;

use quickcache_sstable::{KeyRef, RangeTombstone, TableBuilder, TableMeta, TableOptions};
use snafu::ResultExt;

use crate::error::{FsSnafu, TableSnafu};
use crate::{Result, Stats, TableId, TableInfo, VersionSet};

/// The output tables of one job.
#[derive(Debug)]
pub(crate) struct Outputs<'a> {
    set: &'a VersionSet,
    table: TableOptions,
    current: Option<(TableId, TableBuilder)>,
    done: Vec<TableInfo>,
    /// Every file this job created, finished or not: removed if the job fails.
    created: Vec<TableId>,
    counter: &'a AtomicU64,
}

impl<'a> Outputs<'a> {
    /// Outputs laid out (and compressed) as `table` says, whose written bytes are
    /// added to `counter`.
    pub(crate) fn new(set: &'a VersionSet, table: TableOptions, counter: &'a AtomicU64) -> Self {
        Outputs {
            set,
            table,
            current: None,
            done: Vec::new(),
            created: Vec::new(),
            counter,
        }
    }

    /// Adds an entry to the open table, starting one if none is open.
    pub(crate) fn add(&mut self, key: KeyRef<'_>, value: &[u8]) -> Result<()> {
        self.open()?;
        match &mut self.current {
            // Lazily: the path is formatted only on failure, not once per entry.
            Some((id, builder)) => builder.add(key, value).with_context(|_| TableSnafu {
                id: *id,
                path: id.path(self.set.dir()),
            }),
            None => Ok(()),
        }
    }

    /// Adds a range tombstone to the open table, starting one if none is open.
    pub(crate) fn add_range_tombstone(&mut self, tombstone: RangeTombstone) -> Result<()> {
        self.open()?;
        match &mut self.current {
            Some((id, builder)) => {
                builder
                    .add_range_tombstone(tombstone)
                    .with_context(|_| TableSnafu {
                        id: *id,
                        path: id.path(self.set.dir()),
                    })
            }
            None => Ok(()),
        }
    }

    /// Starts a table unless one is open.
    fn open(&mut self) -> Result<()> {
        if self.current.is_none() {
            let id = self.set.new_table_id()?;
            let path = id.path(self.set.dir());
            self.created.push(id);
            let builder = TableBuilder::new(self.set.fs.as_ref(), &path, self.table.clone())
                .context(TableSnafu { id, path: &path })?;
            self.current = Some((id, builder));
        }
        Ok(())
    }

    /// Bytes in the open table so far (0 if none is open).
    pub(crate) fn open_size(&self) -> u64 {
        self.current
            .as_ref()
            .map_or(0, |(_, b)| b.estimated_file_size())
    }

    /// Whether a table is open.
    pub(crate) fn is_open(&self) -> bool {
        self.current.is_some()
    }

    /// Finishes the open table (written and synced by the builder).
    pub(crate) fn cut(&mut self) -> Result<()> {
        let Some((id, builder)) = self.current.take() else {
            return Ok(());
        };
        let path = id.path(self.set.dir());
        let meta = builder.finish().context(TableSnafu { id, path: &path })?;
        Stats::add(self.counter, meta.file_size);
        if let Some(info) = info_of(id, meta) {
            self.done.push(info);
        }
        Ok(())
    }

    /// Finishes the open table and syncs the directory: every output is durable.
    pub(crate) fn finish(&mut self) -> Result<Vec<TableInfo>> {
        self.cut()?;
        if !self.created.is_empty() {
            let dir = self.set.dir();
            self.set.fs.sync_dir(dir).context(FsSnafu { path: dir })?;
        }
        Ok(std::mem::take(&mut self.done))
    }

    /// Removes every file this job created: for a job that failed before its edit
    /// reached the manifest. Failures only leak files the next open removes.
    pub(crate) fn abandon(&mut self) {
        self.current = None;
        for id in self.created.drain(..) {
            let _ = self.set.fs.remove(&id.path(self.set.dir()));
        }
    }
}

/// The manifest's view of a finished table; `None` for an empty one. Its key and
/// sequence-number ranges cover its range tombstones too.
fn info_of(id: TableId, meta: TableMeta) -> Option<TableInfo> {
    let (min_seqno, max_seqno) = meta.seqno_range()?;
    Some(TableInfo {
        id,
        size: meta.file_size,
        smallest: meta.smallest()?,
        largest: meta.largest()?,
        min_seqno,
        max_seqno,
        entries: meta.properties.entry_count,
        tombstones: meta.properties.tombstone_count,
        global_seqno: None,
    })
}
