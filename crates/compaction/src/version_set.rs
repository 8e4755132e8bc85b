//! `VersionSet`: the live tree. Holds the current version, hands out file numbers,
//! and installs edits: each is made durable in the manifest before readers see it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use quickcache_fs::DynFs;
use quickcache_sstable::{SeqNo, SummaryBudget};

use crate::error::EditRefusedSnafu;
use crate::manifest::ManifestWriter;
use crate::{
    CompactionOptions, Result, Stats, TableHandle, TableId, TableInfo, Version, VersionEdit,
};

/// The bookkeeping numbers recorded with the tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LogState {
    pub(crate) log_number: u64,
    pub(crate) last_seqno: SeqNo,
}

/// The tree's versions and manifest.
///
/// Thread-safety: shared by the facade's readers, its flush path and the compaction
/// threads. Edits are serialized by the manifest lock; readers only take the short
/// lock that clones the current `Arc<Version>`.
#[derive(Debug)]
pub struct VersionSet {
    pub(crate) fs: DynFs,
    pub(crate) dir: PathBuf,
    pub(crate) options: CompactionOptions,
    current: Mutex<Arc<Version>>,
    manifest: Mutex<(ManifestWriter, LogState)>,
    next_file: AtomicU64,
    pub(crate) stats: Stats,
    /// Set by the open that dropped a damaged manifest tail (see `tail.rs`).
    pub(crate) dropped_tail: Option<crate::DroppedTail>,
    /// Shared by every table handle of the tree (`options.reader_summary_budget`).
    budget: SummaryBudget,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl VersionSet {
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts an open gathered, moved in once"
    )]
    pub(crate) fn assemble(
        fs: DynFs,
        dir: &Path,
        options: CompactionOptions,
        version: Version,
        writer: ManifestWriter,
        state: LogState,
        next_file: u64,
        budget: SummaryBudget,
    ) -> VersionSet {
        VersionSet {
            fs,
            dir: dir.to_path_buf(),
            options,
            current: Mutex::new(Arc::new(version)),
            manifest: Mutex::new((writer, state)),
            next_file: AtomicU64::new(next_file),
            stats: Stats::default(),
            dropped_tail: None,
            budget,
        }
    }

    /// The current version. Hold it as long as needed: its tables stay readable.
    pub fn current(&self) -> Arc<Version> {
        Arc::clone(&guard(&self.current))
    }

    /// The tree's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options the tree was opened with.
    pub fn options(&self) -> &CompactionOptions {
        &self.options
    }

    /// Flush and compaction counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The budget the tables' block summaries share: its limit and the bytes in use.
    pub fn summary_budget(&self) -> &SummaryBudget {
        &self.budget
    }

    /// Tables in L0 now: the facade slows writes down as this nears a limit.
    pub fn l0_count(&self) -> usize {
        self.current().l0_count()
    }

    /// Bytes compaction still has to rewrite to bring every level under its target:
    /// the other write-stall signal.
    pub fn pending_compaction_bytes(&self) -> u64 {
        crate::pending_compaction_bytes(&self.current(), &self.options)
    }

    /// A fresh file number, never handed out before (also across restarts: the
    /// counter is recorded with every edit).
    pub fn new_file_number(&self) -> u64 {
        self.next_file.fetch_add(1, Ordering::SeqCst)
    }

    /// A fresh table id.
    pub fn new_table_id(&self) -> TableId {
        TableId(self.new_file_number())
    }

    /// WAL segments numbered below this are contained in tables: recovery replays only
    /// the segments at or above it (`docs/crash-safety.md` rule 8), and the older ones may go.
    pub fn log_number(&self) -> u64 {
        guard(&self.manifest).1.log_number
    }

    /// The largest sequence number recorded in the manifest.
    pub fn last_seqno(&self) -> SeqNo {
        guard(&self.manifest).1.last_seqno
    }

    /// Number of the manifest in use.
    pub fn manifest_number(&self) -> u64 {
        guard(&self.manifest).0.number()
    }

    /// Makes `edit` durable in the manifest, then installs the version it produces and
    /// returns it. Tables the edit removes are deleted once no version lists them.
    ///
    /// Fills in the next file number; keeps the largest log number and sequence number
    /// seen. An edit that does not fit the current version is refused
    /// ([`crate::Error::EditRefused`]) before anything is written. A failed manifest
    /// write poisons the set: later edits fail with
    /// [`crate::Error::Poisoned`] until the tree is reopened.
    pub fn log_and_apply(&self, mut edit: VersionEdit) -> Result<Arc<Version>> {
        let mut manifest = guard(&self.manifest);
        let (writer, state) = &mut *manifest;
        let base = self.current();
        let next = self.next_file.load(Ordering::SeqCst);
        edit.next_file = Some(next);
        let mut open = |info: &TableInfo| {
            Arc::new(TableHandle::with_budget(
                Arc::clone(&self.fs),
                &self.dir,
                info.clone(),
                self.budget.clone(),
            ))
        };
        let applied = edit.apply(&base, &mut open).map_err(|e| {
            EditRefusedSnafu {
                path: writer.path(),
                reason: e.to_string(),
            }
            .build()
        })?;
        writer.append(&edit)?;
        merge_state(state, &edit);
        let version = Arc::new(applied.version);
        *guard(&self.current) = Arc::clone(&version);
        // Durable: the removed tables may go once the last reader lets go of them.
        for table in &applied.dropped {
            table.mark_obsolete();
        }
        drop(applied.dropped);
        if manifest.0.len() > self.options.max_manifest_size
            && self.rotate(&mut manifest, &version).is_err()
        {
            // The edit is durable, so this call succeeded; but whether CURRENT names the
            // old manifest or the new one is unknown: append to neither.
            manifest.0.poison();
        }
        Ok(version)
    }

    /// Replaces the manifest by a new one holding a snapshot: new file synced, CURRENT
    /// switched, directory synced, then the old file removed (`docs/crash-safety.md` rules 3, 4).
    fn rotate(&self, manifest: &mut (ManifestWriter, LogState), version: &Version) -> Result<()> {
        let number = self.new_file_number();
        let snapshot = snapshot_edit(version, &manifest.1, self.next_file.load(Ordering::SeqCst));
        let writer = ManifestWriter::create(self.fs.as_ref(), &self.dir, number, &snapshot)?;
        crate::current::set_current(self.fs.as_ref(), &self.dir, number)?;
        let old = std::mem::replace(&mut manifest.0, writer);
        // The old manifest is garbage now; a failed removal is retried at the next open.
        let _ = self.fs.remove(old.path());
        Ok(())
    }
}

/// Keeps the largest log and sequence numbers an edit records.
pub(crate) fn merge_state(state: &mut LogState, edit: &VersionEdit) {
    if let Some(n) = edit.log_number {
        state.log_number = state.log_number.max(n);
    }
    if let Some(s) = edit.last_seqno {
        state.last_seqno = state.last_seqno.max(s);
    }
}

/// An edit that rebuilds `version` and `state` from nothing: a new manifest's first.
pub(crate) fn snapshot_edit(version: &Version, state: &LogState, next_file: u64) -> VersionEdit {
    let mut edit = VersionEdit {
        log_number: Some(state.log_number),
        next_file: Some(next_file),
        last_seqno: Some(state.last_seqno),
        ..VersionEdit::default()
    };
    for level in crate::Level::all() {
        if let Some(p) = version.compaction_pointer(level) {
            edit.pointers.push((level, p.clone()));
        }
        edit.added
            .extend(version.infos(level).map(|t| (level, t.clone())));
    }
    edit
}
