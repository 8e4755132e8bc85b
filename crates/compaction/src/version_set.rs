//! `VersionSet`: the live tree. Holds the current version, hands out file numbers,
//! and installs edits: each is made durable in the manifest before readers see it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use quickcache_fs::DynFs;
use quickcache_sstable::{KeyspaceId, SeqNo, SummaryBudget};

use crate::catalogue::{Catalogue, KeyspaceTree};
use crate::edit::InvalidEdit;
use crate::error::EditRefusedSnafu;
use crate::filter::KeyspaceFilters;
use crate::manifest::ManifestWriter;

mod fresh;
mod frozen;
mod read_only;
use crate::{
    CompactionOptions, KeyspaceDef, Result, SharedFilter, Stats, TableHandle, TableId, TableInfo,
    Version, VersionEdit,
};
pub use frozen::FrozenTree;

/// The next file number after `n`, if a manifest can record it: `u64::MAX` cannot be
/// (recovery refuses it, as no number would be left after it), so the last number
/// handed out is `u64::MAX - 2`.
pub fn file_number_after(n: u64) -> Option<u64> {
    n.checked_add(1).filter(|&next| next < u64::MAX)
}

/// The error for a counter at `next` that [`file_number_after`] cannot advance.
pub(crate) fn exhausted(dir: &Path, next: u64) -> crate::Error {
    crate::error::FileNumbersExhaustedSnafu { dir, next }.build()
}

/// The bookkeeping recorded with the tables: the default keyspace's log number, the
/// database's last sequence number, and the other keyspaces.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogState {
    pub(crate) log_number: u64,
    pub(crate) last_seqno: SeqNo,
    pub(crate) catalogue: Catalogue,
    /// The newest WAL segment recorded as durably created (0: none yet).
    pub(crate) wal_segment: u64,
    /// The global sequence number of the newest ingest applied (0: none).
    pub(crate) ingest_seqno: SeqNo,
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
    /// The other keyspaces as of the last installed edit: a copy of the manifest
    /// state's catalogue that readers and the compaction picker clone under a short
    /// lock, never waiting for a manifest append.
    catalogue: Mutex<Arc<Catalogue>>,
    manifest: Mutex<(ManifestWriter, LogState)>,
    next_file: AtomicU64,
    pub(crate) stats: Stats,
    /// Set by the open that dropped a damaged manifest tail (see `tail.rs`).
    pub(crate) dropped_tail: Option<crate::DroppedTail>,
    /// Shared by every table handle of the tree (`options.reader_summary_budget`).
    budget: SummaryBudget,
    /// The compaction filters of keyspaces other than the default (whose filter is
    /// in `options.hooks`), set by whoever opens them; not persisted.
    filters: Mutex<KeyspaceFilters>,
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
            catalogue: Mutex::new(Arc::new(state.catalogue.clone())),
            manifest: Mutex::new((writer, state)),
            next_file: AtomicU64::new(next_file),
            stats: Stats::default(),
            dropped_tail: None,
            budget,
            filters: Mutex::new(KeyspaceFilters::default()),
        }
    }

    /// Sets (or with `None` clears) the compaction filter of `keyspace`; compactions
    /// that start from now on use it. The default keyspace's filter is
    /// [`crate::Hooks::filter`] in the options, and cannot be changed here.
    pub fn set_filter(&self, keyspace: KeyspaceId, filter: Option<SharedFilter>) {
        let mut filters = guard(&self.filters);
        match filter {
            Some(f) => filters.0.insert(keyspace, f),
            None => filters.0.remove(&keyspace),
        };
    }

    /// The compaction filter of `keyspace` and its name, for a compaction of it.
    pub(crate) fn filter_of(&self, keyspace: KeyspaceId) -> (Option<SharedFilter>, String) {
        if keyspace.is_default() {
            let name = crate::DEFAULT_KEYSPACE_NAME.to_owned();
            return (self.options.hooks.filter.clone(), name);
        }
        let name = (self.catalogue().keyspaces.get(&keyspace))
            .map_or_else(String::new, |tree| tree.def.name.clone());
        (guard(&self.filters).0.get(&keyspace).cloned(), name)
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

    /// Tables in the fullest L0 of all keyspaces now: the facade slows writes down
    /// as this nears a limit (writes to every keyspace share the WAL and the write
    /// path, so the keyspace furthest behind sets the pace).
    pub fn l0_count(&self) -> usize {
        let others = self
            .keyspace_trees()
            .into_iter()
            .map(|(_, v, _)| v.l0_count());
        others.fold(self.current().l0_count(), usize::max)
    }

    /// Bytes compaction still has to rewrite to bring every level of every keyspace
    /// under its target: the other write-stall signal.
    pub fn pending_compaction_bytes(&self) -> u64 {
        let mut pending = crate::pending_compaction_bytes(&self.current(), &self.options);
        for (_, version, options) in self.keyspace_trees() {
            let more = crate::pending_compaction_bytes(&version, &options);
            pending = pending.saturating_add(more);
        }
        pending
    }

    /// The current version of `keyspace`'s tree, or `None` if it does not exist.
    pub fn current_of(&self, keyspace: KeyspaceId) -> Option<Arc<Version>> {
        if keyspace.is_default() {
            return Some(self.current());
        }
        let catalogue = self.catalogue();
        let tree = catalogue.keyspaces.get(&keyspace)?;
        Some(Arc::clone(&tree.version))
    }

    /// The options `keyspace`'s flushes and compactions use: the tree's own with its
    /// stored options applied ([`CompactionOptions::for_tree`]); the tree's own for the
    /// default keyspace, or for one that does not exist.
    pub fn options_of(&self, keyspace: KeyspaceId) -> CompactionOptions {
        if keyspace.is_default() {
            return self.options.clone();
        }
        match self.catalogue().keyspaces.get(&keyspace) {
            Some(tree) => self.options.for_tree(&tree.def.options),
            None => self.options.clone(),
        }
    }

    /// Each keyspace besides the default: id, current version, options.
    fn keyspace_trees(&self) -> Vec<(KeyspaceId, Arc<Version>, CompactionOptions)> {
        let catalogue = self.catalogue();
        let all = catalogue.keyspaces.iter();
        all.map(|(&id, tree)| {
            let options = self.options.for_tree(&tree.def.options);
            (id, Arc::clone(&tree.version), options)
        })
        .collect()
    }

    /// The most urgent due compaction of any keyspace (the highest score; the default
    /// keyspace first on a tie), avoiding `busy` tables and output ranges, with its
    /// [`crate::CompactionPlan::keyspace`] set. `busy` is shared by all keyspaces:
    /// table ids are unique across them, and a range busy in one keyspace only makes
    /// another wait, never overlap.
    pub fn pick_any(&self, busy: &crate::Busy) -> Option<crate::CompactionPlan> {
        let default = (KeyspaceId::DEFAULT, self.current(), self.options.clone());
        let mut best: Option<crate::CompactionPlan> = None;
        for (id, version, options) in std::iter::once(default).chain(self.keyspace_trees()) {
            if let Some(mut plan) = crate::pick(&version, &options, busy)
                && best.as_ref().is_none_or(|b| plan.score > b.score)
            {
                plan.keyspace = id;
                best = Some(plan);
            }
        }
        best
    }

    /// A fresh file number, never handed out before (also across restarts: the
    /// counter is recorded with every edit).
    ///
    /// Fails with [`crate::Error::FileNumbersExhausted`] rather than hand out a number
    /// whose successor, recorded as the next file number, would be `u64::MAX`:
    /// recovery refuses that, so the database would not open again.
    pub fn new_file_number(&self) -> Result<u64> {
        self.next_file
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, file_number_after)
            .map_err(|next| exhausted(&self.dir, next))
    }

    /// A fresh table id (see [`VersionSet::new_file_number`]).
    pub fn new_table_id(&self) -> Result<TableId> {
        self.new_file_number().map(TableId)
    }

    /// WAL segments numbered below this are contained in tables: recovery replays only
    /// the segments at or above it (`docs/crash-safety.md` rule 8), and the older ones may go.
    pub fn log_number(&self) -> u64 {
        guard(&self.manifest).1.log_number
    }

    /// The oldest WAL segment any keyspace still needs: the smallest log number of
    /// the default keyspace and every other live keyspace. Recovery replays from it,
    /// and segments below it may go (the oldest-log rule).
    pub fn min_log_number(&self) -> u64 {
        let manifest = guard(&self.manifest);
        let state = &manifest.1;
        let others = state.catalogue.keyspaces.values().map(|k| k.log_number);
        others.fold(state.log_number, u64::min)
    }

    /// The largest keyspace id ever handed out (0 if none): ids are never reused, so
    /// a WAL entry naming an id at or below it and not live is of a dropped keyspace.
    pub fn last_keyspace(&self) -> KeyspaceId {
        self.catalogue().last
    }

    /// The installed catalogue (see the field).
    fn catalogue(&self) -> Arc<Catalogue> {
        Arc::clone(&guard(&self.catalogue))
    }

    /// The keyspaces besides the default, by id: name, stored options, tables and log
    /// number of each.
    pub fn keyspaces(&self) -> Vec<(KeyspaceId, KeyspaceTree)> {
        let catalogue = self.catalogue();
        let all = catalogue.keyspaces.iter();
        all.map(|(&id, tree)| (id, tree.clone())).collect()
    }

    /// Creates a keyspace, durably: one manifest edit naming a new id (above every id
    /// handed out before, never reused), its name and options, and `log_number`, the
    /// WAL segment from which its writes will be logged. Refused
    /// ([`crate::Error::EditRefused`]) when the name is in use or invalid.
    pub fn create_keyspace(&self, def: KeyspaceDef, log_number: u64) -> Result<KeyspaceId> {
        let mut manifest = guard(&self.manifest);
        let last = manifest.1.catalogue.last;
        let refuse = |reason: String| {
            EditRefusedSnafu {
                path: manifest.0.path(),
                reason,
            }
            .build()
        };
        if let Err(problem) = crate::check_keyspace_name(def.name.as_bytes()) {
            return Err(refuse(format!("keyspace name {:?} {problem}", def.name)));
        }
        let id = last.0.checked_add(1).map(KeyspaceId);
        let id = id.ok_or_else(|| refuse("every keyspace id was handed out".to_owned()))?;
        let edit = VersionEdit {
            keyspace: id,
            create: Some(def),
            last_keyspace: Some(id),
            log_number: Some(log_number),
            ..VersionEdit::default()
        };
        self.log_keyspace_edit(&mut manifest, edit)?;
        Ok(id)
    }

    /// Drops keyspace `id`, durably. Its tables are removed once no reader holds
    /// them; an open after a crash removes those it finds unreferenced.
    pub fn drop_keyspace(&self, id: KeyspaceId) -> Result<()> {
        let mut manifest = guard(&self.manifest);
        let edit = VersionEdit {
            keyspace: id,
            drop: true,
            ..VersionEdit::default()
        };
        self.log_keyspace_edit(&mut manifest, edit)
    }

    /// The ids of the tables of every keyspace besides the default.
    pub(crate) fn catalogue_table_ids(&self) -> Vec<TableId> {
        self.catalogue().table_ids().into_keys().collect()
    }

    /// The largest sequence number recorded in the manifest.
    pub fn last_seqno(&self) -> SeqNo {
        guard(&self.manifest).1.last_seqno
    }

    /// The global sequence number of the newest ingest the manifest records as
    /// applied (0 if none; see [`VersionEdit::ingest_seqno`]). An ingest numbered
    /// above it is not in the tree.
    pub fn ingest_seqno(&self) -> SeqNo {
        guard(&self.manifest).1.ingest_seqno
    }

    /// The newest WAL segment the manifest records as durably created (0 if none):
    /// every segment from the oldest live one up to it must exist.
    pub fn wal_segment(&self) -> u64 {
        guard(&self.manifest).1.wal_segment
    }

    /// Records that WAL segment `segment` exists durably (its file and directory
    /// entry are synced), with one synced manifest append, unless a segment at least
    /// as new is recorded already. From then on an open that does not find it fails
    /// instead of serving the state before it.
    pub fn record_wal_segment(&self, segment: u64) -> Result<()> {
        let mut manifest = guard(&self.manifest);
        if manifest.1.wal_segment >= segment {
            return Ok(());
        }
        self.replace_if_poisoned_by_full_disk(&mut manifest)?;
        let (writer, state) = &mut *manifest;
        let edit = VersionEdit {
            wal_segment: Some(segment),
            next_file: Some(self.next_file.load(Ordering::SeqCst)),
            ..VersionEdit::default()
        };
        writer.append(&edit)?;
        merge_state(state, &edit);
        self.rotate_if_large(&mut manifest);
        Ok(())
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
    /// write poisons the set: later edits fail with [`crate::Error::Poisoned`] until
    /// the tree is reopened; unless the write failed for a full disk
    /// ([`crate::Error::is_retryable_no_space`]): then the next edit first replaces
    /// the manifest by a fresh one (see `version_set/fresh.rs`), and fails with the
    /// same kind of error while the disk is still full.
    pub fn log_and_apply(&self, mut edit: VersionEdit) -> Result<Arc<Version>> {
        let mut manifest = guard(&self.manifest);
        self.replace_if_poisoned_by_full_disk(&mut manifest)?;
        if !edit.keyspace.is_default() || edit.create.is_some() || edit.drop {
            self.log_keyspace_edit(&mut manifest, edit)?;
            return Ok(self.current());
        }
        let (writer, state) = &mut *manifest;
        let base = self.current();
        let next = self.next_file.load(Ordering::SeqCst);
        edit.next_file = Some(next);
        let mut open = |info: &TableInfo| self.open_table(info);
        let applied = edit
            .apply(&base, &mut open)
            .map_err(|e| refused(writer, &e))?;
        writer.append(&edit)?;
        merge_state(state, &edit);
        if edit.last_keyspace.is_some() {
            *guard(&self.catalogue) = Arc::new(state.catalogue.clone());
        }
        let version = Arc::new(applied.version);
        *guard(&self.current) = Arc::clone(&version);
        // Durable: the removed tables may go once the last reader lets go of them.
        for table in &applied.dropped {
            table.mark_obsolete();
        }
        drop(applied.dropped);
        self.rotate_if_large(&mut manifest);
        Ok(version)
    }

    /// [`VersionSet::log_and_apply`] for an edit of the catalogue: a keyspace other
    /// than the default, its creation or its drop.
    fn log_keyspace_edit(
        &self,
        manifest: &mut (ManifestWriter, LogState),
        mut edit: VersionEdit,
    ) -> Result<()> {
        self.replace_if_poisoned_by_full_disk(manifest)?;
        let (writer, state) = &mut *manifest;
        let id = edit.keyspace;
        if !id.is_default() && edit.create.is_none() && !state.catalogue.keyspaces.contains_key(&id)
        {
            return Err(crate::Error::NoSuchKeyspace { keyspace: id });
        }
        edit.next_file = Some(self.next_file.load(Ordering::SeqCst));
        let mut open = |info: &TableInfo| self.open_table(info);
        let applied = (state.catalogue)
            .apply(&edit, &mut open)
            .map_err(|e| refused(writer, &e))?;
        writer.append(&edit)?;
        merge_state(state, &edit);
        state.catalogue = applied.catalogue;
        *guard(&self.catalogue) = Arc::new(state.catalogue.clone());
        for table in &applied.dropped {
            table.mark_obsolete();
        }
        drop(applied.dropped);
        self.rotate_if_large(manifest);
        Ok(())
    }

    /// Records new log numbers for several keyspaces other than the default (those
    /// that hold nothing unflushed), with one manifest append and one sync however
    /// many there are; each only if it moves forward. Keyspaces that no longer exist
    /// are skipped.
    pub fn advance_log_numbers(&self, logs: &[(KeyspaceId, u64)]) -> Result<()> {
        let mut manifest = guard(&self.manifest);
        self.replace_if_poisoned_by_full_disk(&mut manifest)?;
        let (writer, state) = &mut *manifest;
        let next_file = self.next_file.load(Ordering::SeqCst);
        let mut catalogue = state.catalogue.clone();
        let mut edits = Vec::new();
        for &(id, log_number) in logs {
            let behind = catalogue
                .keyspaces
                .get(&id)
                .is_some_and(|t| t.log_number < log_number);
            if id.is_default() || !behind {
                continue;
            }
            let edit = VersionEdit {
                keyspace: id,
                log_number: Some(log_number),
                next_file: Some(next_file),
                ..VersionEdit::default()
            };
            let mut open = |info: &TableInfo| self.open_table(info);
            catalogue = catalogue
                .apply(&edit, &mut open)
                .map_err(|e| refused(writer, &e))?
                .catalogue;
            edits.push(edit);
        }
        if edits.is_empty() {
            return Ok(());
        }
        writer.append_all(&edits)?;
        for edit in &edits {
            merge_state(state, edit);
        }
        state.catalogue = catalogue;
        *guard(&self.catalogue) = Arc::new(state.catalogue.clone());
        self.rotate_if_large(&mut manifest);
        Ok(())
    }

    fn open_table(&self, info: &TableInfo) -> Arc<TableHandle> {
        Arc::new(TableHandle::with_budget(
            Arc::clone(&self.fs),
            &self.dir,
            info.clone(),
            self.budget.clone(),
        ))
    }
}

/// The refusal of an edit that does not fit, naming the manifest.
fn refused(writer: &ManifestWriter, e: &InvalidEdit) -> crate::Error {
    EditRefusedSnafu {
        path: writer.path(),
        reason: e.to_string(),
    }
    .build()
}

/// Keeps the largest log and sequence numbers an edit records (the log number only
/// for the default keyspace; the catalogue keeps the others') and the last keyspace id.
pub(crate) fn merge_state(state: &mut LogState, edit: &VersionEdit) {
    if let Some(n) = edit.log_number
        && edit.keyspace.is_default()
    {
        state.log_number = state.log_number.max(n);
    }
    if let Some(s) = edit.last_seqno {
        state.last_seqno = state.last_seqno.max(s);
    }
    if let Some(n) = edit.wal_segment {
        state.wal_segment = state.wal_segment.max(n);
    }
    if let Some(s) = edit.ingest_seqno {
        state.ingest_seqno = state.ingest_seqno.max(s);
    }
    state.catalogue.note_last(edit);
}

/// The edits that rebuild `version` (the default keyspace's), `state` and the other
/// keyspaces from nothing: a new manifest's first records. The other keyspaces come
/// first (see [`Catalogue::snapshot_edits`]), then the default keyspace's edit.
pub(crate) fn snapshot_edits(
    version: &Version,
    state: &LogState,
    next_file: u64,
) -> Vec<VersionEdit> {
    let mut edits = state.catalogue.snapshot_edits();
    let last = state.catalogue.last;
    edits.push(VersionEdit {
        log_number: Some(state.log_number),
        next_file: Some(next_file),
        last_seqno: Some(state.last_seqno),
        last_keyspace: (!last.is_default()).then_some(last),
        wal_segment: (state.wal_segment > 0).then_some(state.wal_segment),
        ingest_seqno: (state.ingest_seqno > SeqNo::ZERO).then_some(state.ingest_seqno),
        ..tree_snapshot(version)
    });
    edits
}

/// An edit that adds every table of `version` at its level, with its compaction
/// pointers.
pub(crate) fn tree_snapshot(version: &Version) -> VersionEdit {
    let mut edit = VersionEdit::default();
    for level in crate::Level::all() {
        if let Some(p) = version.compaction_pointer(level) {
            edit.pointers.push((level, p.clone()));
        }
        edit.added
            .extend(version.infos(level).map(|t| (level, t.clone())));
    }
    edit
}
