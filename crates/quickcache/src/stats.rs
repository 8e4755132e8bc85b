//! `Stats`: figures about an open database, gathered on request.

use std::sync::atomic::Ordering;
use std::time::Duration;

use quickcache_compaction::{CompactionOptions, Level, LevelTargets, StatsSnapshot};

use crate::inner::Inner;

/// One table of the tree.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("a", "1")?;
/// db.put("z", "2")?;
/// db.flush()?;
/// let table = &db.stats().levels[0].tables[0];
/// assert_eq!((table.smallest.as_slice(), table.largest.as_slice()), (&b"a"[..], &b"z"[..]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStats {
    /// The table's id (its file is `<id>.sst`, six digits at least).
    pub id: u64,
    /// File size in bytes.
    pub size: u64,
    /// Smallest user key.
    pub smallest: Vec<u8>,
    /// Largest user key.
    pub largest: Vec<u8>,
    /// Entries, tombstones included.
    pub entries: u64,
}

/// One level of the tree.
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// assert_eq!(db.stats().levels[0].files, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelStats {
    /// Level number, 0 = L0.
    pub level: usize,
    /// Number of tables.
    pub files: usize,
    /// Total file bytes.
    pub bytes: u64,
    /// The size compaction keeps the level under, derived from the largest level as
    /// RocksDB's dynamic level sizes are; 0 for L0 (which is kept under a table count,
    /// [`crate::Options::l0_compaction_trigger`]) and for the empty levels above the
    /// one L0 is compacted into.
    pub target_bytes: u64,
    /// The tables, in level order (L0 newest first, deeper levels by key).
    pub tables: Vec<TableStats>,
}

/// Figures about an open database; see [`crate::Db::stats`].
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.put("k", "v")?;
/// let stats = db.stats();
/// assert_eq!(stats.writes, 1);
/// assert!(stats.wal_bytes > 0);
/// println!("{stats:#?}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Stats {
    /// Per level, L0 first.
    pub levels: Vec<LevelStats>,
    /// Bytes held by the active and frozen memtables.
    pub memtable_bytes: u64,
    /// Frozen memtables waiting for their flush.
    pub frozen_memtables: usize,
    /// Bytes of WAL segment files on disk.
    pub wal_bytes: u64,
    /// Write batches applied since open.
    pub writes: u64,
    /// Bytes of write batches applied since open (the user's data, encoded).
    pub user_bytes: u64,
    /// Table bytes written by flushes and compactions per user byte.
    pub write_amplification: f64,
    /// Sources a point read may consult at worst: memtables, L0 tables, deeper levels.
    pub read_amplification: usize,
    /// Total table bytes divided by the bottom-most non-empty level's bytes (1.0 when
    /// the tree is empty).
    pub space_amplification: f64,
    /// Writes slowed down because frozen memtables (from 3 allowed), L0 tables or
    /// pending compaction bytes piled up.
    pub slowdowns: u64,
    /// Writes stopped until flushes or compactions caught up.
    pub stops: u64,
    /// Total time writers spent slowed or stopped.
    pub stall_time: Duration,
    /// Heap bytes held by open table readers: their decoded indexes and the block
    /// summaries their budget admitted (`table_summary_bytes`). Filters and data
    /// blocks are read in place from mapped files and are not counted here.
    pub table_reader_bytes: u64,
    /// Of `table_reader_bytes`, the block summaries (and their slot arrays): at most
    /// `table_summary_budget`.
    pub table_summary_bytes: u64,
    /// The limit on `table_summary_bytes`: [`crate::Options::reader_summary_budget`].
    pub table_summary_budget: u64,
    /// Heap bytes of decompressed blocks the table readers cache (not part of
    /// `table_reader_bytes`): at most `block_cache_capacity`.
    pub block_cache_bytes: u64,
    /// The limit on `block_cache_bytes`: [`crate::Options::block_cache_size`].
    pub block_cache_capacity: u64,
    /// Live snapshots (an open transaction holds one).
    pub snapshots: usize,
    /// Open transactions.
    pub transactions: usize,
    /// Keys held in the conflict history for open transactions
    /// ([`crate::Options::transaction_history_bytes`]); 0 when none is open.
    pub conflict_history_keys: usize,
    /// Flush and compaction counters.
    pub compaction: StatsSnapshot,
    /// The error that put the database in its read-only state, if any.
    pub background_error: Option<String>,
    /// Whether flushes or compactions wait for space after a full disk, and their
    /// retries so far: they resume by themselves once the disk has room.
    pub no_space: crate::NoSpaceStats,
    /// The keyspaces besides the default, by creation: each one's tree and memtables.
    /// The figures above are the default keyspace's, except `memtable_bytes` and
    /// `frozen_memtables`, which count every keyspace (they share one budget), and
    /// the summary and block cache figures, whose budget and cache every keyspace's
    /// tables share.
    pub keyspaces: Vec<KeyspaceStats>,
}

/// One keyspace's tree, in [`Stats::keyspaces`].
///
/// # Examples
/// ```
/// let dir = tempfile::tempdir()?;
/// let db = quickcache::Db::open(dir.path())?;
/// db.keyspace("log")?.put("k", "v")?;
/// db.flush()?;
/// let stats = db.stats();
/// assert_eq!(stats.keyspaces[0].name, "log");
/// assert_eq!(stats.keyspaces[0].levels[0].files, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeyspaceStats {
    /// Its name.
    pub name: String,
    /// Per level, L0 first.
    pub levels: Vec<LevelStats>,
    /// Bytes held by its active and frozen memtables.
    pub memtable_bytes: u64,
    /// Its frozen memtables waiting for their flush.
    pub frozen_memtables: usize,
}

impl Stats {
    pub(crate) fn gather(inner: &Inner) -> Stats {
        let memtables = inner.current_memtables();
        let version = inner.set.current();
        let levels = level_stats(&version, inner.set.options());
        let keyspaces = keyspace_stats(inner);
        let compaction = inner.set.stats().snapshot();
        let (transactions, conflict_history_keys) = inner.writes.history.sizes();
        let user_bytes = inner.writes.counters.user_bytes.load(Ordering::Relaxed);
        let total: u64 = levels.iter().map(|l| l.bytes).sum();
        let bottom = levels
            .iter()
            .rev()
            .find(|l| l.bytes > 0)
            .map_or(0, |l| l.bytes);
        let deeper = levels.iter().skip(1).filter(|l| l.files > 0).count();
        Stats {
            read_amplification: 1 + memtables.frozen.len() + levels[0].files + deeper,
            levels,
            memtable_bytes: memtables.memory() as u64
                + keyspaces.iter().map(|k| k.memtable_bytes).sum::<u64>(),
            table_reader_bytes: version
                .tables()
                .map(|(_, t)| t.reader_memory() as u64)
                .sum(),
            table_summary_bytes: inner.set.summary_budget().used(),
            table_summary_budget: inner.set.summary_budget().limit(),
            block_cache_bytes: inner.set.summary_budget().block_cache().usage() as u64,
            block_cache_capacity: inner.set.summary_budget().block_cache().capacity() as u64,
            frozen_memtables: memtables.frozen.len()
                + keyspaces.iter().map(|k| k.frozen_memtables).sum::<usize>(),
            wal_bytes: wal_bytes(inner),
            writes: inner.writes.counters.writes.load(Ordering::Relaxed),
            user_bytes,
            write_amplification: compaction.write_amplification(user_bytes),
            space_amplification: if bottom == 0 {
                1.0
            } else {
                total as f64 / bottom as f64
            },
            slowdowns: inner.writes.counters.slowdowns.load(Ordering::Relaxed),
            stops: inner.writes.counters.stops.load(Ordering::Relaxed),
            stall_time: Duration::from_nanos(
                inner.writes.counters.stall_nanos.load(Ordering::Relaxed),
            ),
            snapshots: inner.snapshots.len(),
            transactions,
            conflict_history_keys,
            compaction,
            background_error: inner.background_error().map(|e| e.to_string()),
            no_space: inner.no_space_stats(),
            keyspaces,
        }
    }
}

/// Every keyspace but the default, by id (creation order).
fn keyspace_stats(inner: &Inner) -> Vec<KeyspaceStats> {
    let versions = inner.set.keyspaces();
    let stats = inner.keyspace_states().into_iter().filter_map(|ks| {
        let (_, tree) = versions.iter().find(|(id, _)| *id == ks.id)?;
        let memtables = ks.current_memtables();
        Some(KeyspaceStats {
            name: ks.name.clone(),
            levels: level_stats(&tree.version, &inner.set.options_of(ks.id)),
            memtable_bytes: memtables.memory() as u64,
            frozen_memtables: memtables.frozen.len(),
        })
    });
    stats.collect()
}

fn level_stats(
    version: &quickcache_compaction::Version,
    options: &CompactionOptions,
) -> Vec<LevelStats> {
    let targets = LevelTargets::of(version, options);
    Level::all()
        .map(|level| {
            let tables: Vec<TableStats> = version
                .infos(level)
                .map(|t| TableStats {
                    id: t.id.0,
                    size: t.size,
                    smallest: t.smallest_user().to_vec(),
                    largest: t.largest_user().to_vec(),
                    entries: t.entries,
                })
                .collect();
            LevelStats {
                level: level.index(),
                files: tables.len(),
                bytes: tables.iter().map(|t| t.size).sum(),
                target_bytes: targets.target(level),
                tables,
            }
        })
        .collect()
}

/// The log's bytes as written: the open segment is preallocated, so its file size
/// says nothing about what it holds.
///
/// 0 when the segments cannot be listed or sized: `stats()` cannot fail, and the
/// figure is only reported, never used to decide anything.
fn wal_bytes(inner: &Inner) -> u64 {
    let bytes = inner
        .writes
        .wal
        .as_ref()
        .map(quickcache_wal::Wal::log_bytes);
    bytes.and_then(std::result::Result::ok).unwrap_or_default()
}
