//! The engine side of keyspaces other than the default: each one's memtables and the
//! write path, freeze and flush that serve them, sharing the database's WAL, sequence
//! numbers, flush thread and compaction pool with the default keyspace (whose own
//! write path is `write.rs`, left unchanged for speed).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};

use quickcache_compaction::{Compactor, VersionEdit};
use quickcache_memtable::{Memtable, WriteBatch};
use quickcache_sstable::KeyspaceId;
use quickcache_wal::{Durability, SegmentId};

use crate::error::{Error, Result};
use crate::inner::{Inner, lock};
use crate::state::{Frozen, Memtables, SuperVersion};
use crate::tx::history::Validation;

/// One keyspace other than the default, as the open database serves it.
///
/// Thread safety: as the default keyspace's parts of `Inner`: writers hold `gate`
/// shared across their WAL append and memtable insert, a freeze takes it exclusively,
/// readers clone `memtables` under its short lock.
#[derive(Debug)]
pub(crate) struct KsState {
    pub(crate) id: KeyspaceId,
    pub(crate) name: String,
    /// The size at which its memtable is frozen (its stored option).
    pub(crate) memtable_size: usize,
    pub(crate) mem: Memtables,
    /// Set (under `gate`, exclusively) when the keyspace is dropped: writes through a
    /// handle fail from then on.
    pub(crate) dropped: AtomicBool,
}

impl KsState {
    pub(crate) fn new(
        id: KeyspaceId,
        name: String,
        memtable_size: usize,
        active: Memtable,
    ) -> Self {
        KsState {
            id,
            name,
            memtable_size,
            mem: Memtables::new(Arc::new(active)),
            dropped: AtomicBool::new(false),
        }
    }

    pub(crate) fn current_memtables(&self) -> Arc<SuperVersion> {
        self.mem.current()
    }

    pub(crate) fn check_live(&self) -> Result<()> {
        if self.dropped.load(Ordering::Acquire) {
            return Err(Error::KeyspaceDropped {
                name: self.name.clone(),
            });
        }
        Ok(())
    }
}

/// The open database's keyspaces besides the default, by id.
pub(crate) type Registry = RwLock<BTreeMap<KeyspaceId, Arc<KsState>>>;

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Inner {
    /// The live keyspaces besides the default.
    pub(crate) fn keyspace_states(&self) -> Vec<Arc<KsState>> {
        read(&self.keyspaces).values().cloned().collect()
    }

    /// Writes a batch whose entries name `targets` (keyspaces other than the default,
    /// ascending by id, each once) and perhaps the default keyspace: one WAL record,
    /// one range of sequence numbers, every memtable before publication, so the batch
    /// is atomic across keyspaces at every durability and seen whole by a snapshot.
    pub(crate) fn write_in(
        &self,
        batch: &mut WriteBatch,
        durability: Durability,
        targets: &[Arc<KsState>],
        has_default: bool,
        tx: Option<&Validation<'_>>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.check_writable()?;
        self.throttle()?;
        let full = self.apply_in(batch, durability, targets, has_default, tx)?;
        let bytes = batch.encoded().len();
        self.writes
            .counters
            .user_bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        self.writes.counters.writes.fetch_add(1, Ordering::Relaxed);
        if let Some(memtable) = full.default {
            self.freeze(Some(&memtable))?;
        }
        for (ks, memtable) in full.keyspaces {
            self.freeze_keyspace(&ks, Some(&memtable))?;
        }
        // The budget is summed over every memtable only after an eighth of it was
        // written since the last sum: a write costs one atomic add here.
        let since = self
            .writes
            .budget_written
            .fetch_add(bytes, Ordering::Relaxed)
            + bytes;
        if since >= self.options.memtable_size / 8 {
            self.writes.budget_written.store(0, Ordering::Relaxed);
            self.enforce_write_buffer()?;
        }
        Ok(())
    }

    /// Appends and inserts holding every target's gate (and the default keyspace's
    /// when the batch has entries for it), shared, the default first then in id order
    /// (a freeze takes one gate at a time under `freeze_lock`, so the order cannot
    /// deadlock). Returns the memtables that are now full.
    fn apply_in(
        &self,
        batch: &mut WriteBatch,
        durability: Durability,
        targets: &[Arc<KsState>],
        has_default: bool,
        tx: Option<&Validation<'_>>,
    ) -> Result<Full> {
        let default = has_default.then(|| read(&self.mem.gate));
        let gates: Vec<_> = targets.iter().map(|k| read(&k.mem.gate)).collect();
        for ks in targets {
            ks.check_live()?;
        }
        // Numbered (and a transaction validated) under the WAL's lock, as the default
        // keyspace's writes are (`Inner::number`).
        let appended = self
            .wal()?
            .append_with(durability, || self.number(batch, tx));
        let reservation = match appended {
            Err(e) => return Err(e),
            Ok((reservation, Err(source))) => {
                // From here every path publishes the reservation.
                reservation.publish();
                return Err(self.append_error(source));
            }
            Ok((reservation, Ok(_position))) => reservation,
        };
        let mut memtables: Vec<(KeyspaceId, &Memtable)> = Vec::with_capacity(targets.len() + 1);
        if let Some(default) = &default {
            memtables.push((KeyspaceId::DEFAULT, default));
        }
        for (ks, gate) in targets.iter().zip(&gates) {
            memtables.push((ks.id, gate));
        }
        // One pass over the batch, each entry to its keyspace's memtable.
        let applied = Memtable::apply_split(batch, &memtables);
        drop(memtables);
        let last = reservation.last();
        reservation.publish();
        applied.map_err(|e| batch_error("inserting", e))?;
        let full_default = default
            .as_ref()
            .filter(|d| d.approximate_memory() >= self.options.memtable_size);
        let mut full = Full {
            default: full_default.map(|d| Arc::clone(d)),
            keyspaces: Vec::new(),
        };
        for (ks, gate) in targets.iter().zip(&gates) {
            if gate.approximate_memory() >= ks.memtable_size {
                full.keyspaces.push((Arc::clone(ks), Arc::clone(gate)));
            }
        }
        drop(gates);
        drop(default);
        if let Some(last) = last
            && self.writes.visibility.visible() < last
        {
            self.writes
                .visibility
                .wait_visible(last)
                .map_err(|e| batch_error("publishing", e))?;
        }
        Ok(full)
    }

    /// Freezes `ks`'s active memtable (only if it is still `only` when given), starts
    /// a new WAL segment, and hands the frozen memtable to the flush thread. The
    /// keyspace's writers are out of the gate meanwhile, so every entry of it in the
    /// segments before the new one is in the frozen memtable or older ones.
    pub(crate) fn freeze_keyspace(
        &self,
        ks: &KsState,
        only: Option<&Arc<Memtable>>,
    ) -> Result<bool> {
        let _one = lock(&self.writes.freeze_lock);
        let mut gate = ks
            .mem
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stale = only.is_some_and(|m| !Arc::ptr_eq(m, &gate));
        if stale || gate.is_empty() || ks.dropped.load(Ordering::Acquire) {
            return Ok(false);
        }
        ks.mem.debug_assert_agree(&gate);
        self.check_writable()?;
        let next = self
            .wal()?
            .rotate()
            .map_err(|source| self.fail(self.wal_error("starting a new segment", source)))?;
        // Before the frozen memtable is published: its flush edit then follows the
        // record in the manifest, so a damaged last edit is still one that matters.
        self.record_wal_segment(next)?;
        let fresh = Arc::new(Memtable::with_capacity(ks.memtable_size));
        let old = std::mem::replace(&mut *gate, fresh);
        {
            let mut memtables = lock(&ks.mem.current);
            let frozen = Frozen {
                mem: old.freeze(),
                log_number: next.0,
            };
            *memtables = Arc::new(memtables.after_freeze(Arc::clone(&gate), frozen));
        }
        self.writes.frozen_count.fetch_add(1, Ordering::Relaxed);
        drop(gate);
        self.notify();
        Ok(true)
    }

    /// The write-buffer budget: the active memtables of all keyspaces together hold at
    /// most `Options::memtable_size` (plus the last batch); past it the largest one is
    /// frozen. So a database with many keyspaces uses about the memtable memory of one
    /// (RocksDB's WriteBufferManager), and the frozen-memtable stall bounds the rest.
    pub(crate) fn enforce_write_buffer(&self) -> Result<()> {
        let keyspaces = self.keyspace_states();
        if keyspaces.is_empty() {
            return Ok(());
        }
        let default = read(&self.mem.gate).approximate_memory();
        let sizes: Vec<usize> = keyspaces
            .iter()
            .map(|k| read(&k.mem.gate).approximate_memory())
            .collect();
        if default + sizes.iter().sum::<usize>() < self.options.memtable_size {
            return Ok(());
        }
        let largest = sizes.iter().enumerate().max_by_key(|(_, s)| **s);
        match largest {
            Some((i, &size)) if size > default => {
                self.freeze_keyspace(&keyspaces[i], None).map(|_| ())
            }
            _ => self.freeze(None).map(|_| ()),
        }
    }

    /// The oldest frozen memtable of some keyspace besides the default, unless the
    /// database is in the error state.
    pub(crate) fn next_keyspace_flush(&self) -> Option<(Arc<KsState>, Arc<Frozen>)> {
        if self.life.has_failed() {
            return None;
        }
        self.keyspace_states().into_iter().find_map(|ks| {
            let job = lock(&ks.mem.current).frozen.last().cloned()?;
            Some((ks, job))
        })
    }

    /// Writes `job` of `ks` to an L0 table of its tree, drops it from the memtables
    /// readers see, and deletes the WAL segments no keyspace needs any more. A keyspace
    /// dropped meanwhile just loses the job (its drop already let go of it).
    pub(crate) fn flush_keyspace_one(&self, ks: &KsState, job: &Arc<Frozen>) {
        let snapshots = self.snapshots.list();
        let mut cursor = job.mem.cursor();
        let ranges = job.mem.range_tombstones();
        let flushed = self.set.flush_with_range_tombstones(
            ks.id,
            &mut cursor,
            &ranges,
            job.log_number,
            &snapshots,
        );
        match flushed {
            Ok(_) | Err(quickcache_compaction::Error::NoSuchKeyspace { .. }) => {}
            Err(source) => {
                self.flush_failed("flushing a keyspace's memtable", source);
                return;
            }
        }
        self.flush_succeeded();
        let removed = {
            let mut memtables = lock(&ks.mem.current);
            let had = memtables.frozen.len();
            let frozen: Vec<_> = memtables
                .frozen
                .iter()
                .filter(|f| !Arc::ptr_eq(f, job))
                .cloned()
                .collect();
            let removed = frozen.len() < had;
            *memtables = Arc::new(SuperVersion::new(Arc::clone(&memtables.active), frozen));
            removed
        };
        self.trim_wal();
        if removed {
            self.writes.frozen_count.fetch_sub(1, Ordering::AcqRel);
        }
        self.refresh_backlog();
        self.with_pool(Compactor::schedule);
        self.notify();
    }

    /// Deletes the WAL segments below the oldest log number any keyspace needs, after
    /// moving forward the log numbers of keyspaces that hold nothing unflushed (a
    /// keyspace written long ago must not pin the segments written since).
    pub(crate) fn trim_wal(&self) {
        if let Err(e) = self.advance_idle_logs() {
            // After a full disk the segments just stay until the next trim.
            let _reported = self.fail_unless_no_space(e);
            return;
        }
        if let Err(e) = self.flush_for_wal_size() {
            let _reported = self.fail(e);
            return;
        }
        let holds = lock(&self.background.wal_holds);
        if *holds > 0 {
            return; // a checkpoint copies them; the trim after the next flush deletes them
        }
        let obsolete = SegmentId(self.set.min_log_number());
        let Some(wal) = self.writes.wal.as_ref() else {
            return; // read-only: nothing is ever deleted
        };
        if let Err(source) = wal.delete_segments_below(obsolete) {
            let _reported = self.fail(self.wal_error("deleting obsolete segments", source));
        }
        drop(holds);
    }

    /// Past [`crate::Options::max_total_wal_size`], freezes the keyspaces (the
    /// default one too) whose log number is the oldest live segment: their flushes
    /// let it go. Only when other keyspaces exist; with one the memtable size bounds
    /// the WAL already.
    fn flush_for_wal_size(&self) -> Result<()> {
        let keyspaces = self.keyspace_states();
        if keyspaces.is_empty() {
            return Ok(());
        }
        let bytes = self
            .wal()?
            .log_bytes()
            .map_err(|source| self.wal_error("measuring the log", source))?;
        if bytes <= self.options.wal_size_limit() {
            return Ok(());
        }
        let oldest = self.set.min_log_number();
        if self.set.log_number() == oldest {
            self.freeze(None)?;
        }
        let logs: BTreeMap<KeyspaceId, u64> = self
            .set
            .keyspaces()
            .into_iter()
            .map(|(id, tree)| (id, tree.log_number))
            .collect();
        for ks in keyspaces {
            if logs.get(&ks.id) == Some(&oldest) {
                self.freeze_keyspace(&ks, None)?;
            }
        }
        Ok(())
    }

    /// Records the current WAL segment as the log number of every keyspace (the
    /// default one too) whose memtables are empty. Each keyspace's gate is held
    /// exclusively while it is found empty and the segment read, so no write of it
    /// is between its WAL append and its memtable then; later writes go to that
    /// segment or newer ones. The other keyspaces' new log numbers take one manifest
    /// append and sync together.
    fn advance_idle_logs(&self) -> Result<()> {
        if read(&self.keyspaces).is_empty() {
            return Ok(());
        }
        let wal = self.wal()?;
        let tree_error = |source| Error::Tree {
            operation: "recording an idle keyspace's log number",
            path: self.dir.clone(),
            source: Box::new(source),
        };
        let default_idle = {
            let gate = self
                .mem
                .gate
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let idle = gate.is_empty() && self.current_memtables().frozen.is_empty();
            idle.then(|| wal.current_segment().0)
        };
        if let Some(segment) = default_idle
            && self.set.log_number() < segment
        {
            let edit = VersionEdit {
                log_number: Some(segment),
                ..VersionEdit::default()
            };
            self.set.log_and_apply(edit).map_err(tree_error)?;
        }
        let mut logs = Vec::new();
        for ks in self.keyspace_states() {
            let gate = ks
                .mem
                .gate
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let idle = gate.is_empty() && ks.current_memtables().frozen.is_empty();
            if idle && !ks.dropped.load(Ordering::Acquire) {
                logs.push((ks.id, wal.current_segment().0));
            }
        }
        self.set.advance_log_numbers(&logs).map_err(tree_error)
    }

    /// Freezes every keyspace's memtable (the default one too) and waits until every
    /// frozen one is in a table.
    pub(crate) fn flush_everything(&self) -> Result<()> {
        self.check_writable()?;
        self.freeze(None)?;
        for ks in self.keyspace_states() {
            self.freeze_keyspace(&ks, None)?;
        }
        self.wait_flushed()
    }
}

/// The memtables a write filled.
struct Full {
    default: Option<Arc<Memtable>>,
    keyspaces: Vec<(Arc<KsState>, Arc<Memtable>)>,
}

fn batch_error(operation: &'static str, source: quickcache_memtable::Error) -> Error {
    Error::Batch {
        operation,
        source: Box::new(source),
    }
}
