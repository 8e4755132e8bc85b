//! `Options` and `WriteOptions`: what a database is opened with, and per-write choices.

use std::sync::Arc;
use std::time::Duration;

use quickcache_compaction::LEVELS;
use quickcache_compaction::{
    CompactionOptions, DynClock, Hooks, SharedFilter, SyncPoints, SystemClock,
};
use quickcache_fs::{DynFs, RealFs};
use quickcache_sstable::{Compression, TableOptions};
use quickcache_wal::{Durability, RecoveryMode, WalOptions};

/// Settings of a database, given to [`crate::Db::open_with`].
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use quickcache::{Db, Durability, Options};
/// use quickcache::fs::SimFs;
///
/// let options = Options {
///     memtable_size: 1 << 20,
///     durability: Durability::Synced,
///     fs: Arc::new(SimFs::new(1)),
///     ..Options::default()
/// };
/// let db = Db::open_with("/db", options)?;
/// db.put("k", "v")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    /// Bytes a memtable may hold before it is frozen and flushed. Default 32 MiB.
    pub memtable_size: usize,
    /// Frozen memtables waiting for their flush at which writers stop until one is
    /// flushed; memory stays within `(1 + this) * memtable_size`. From 3 on, writes
    /// are also slowed (1 ms each) at one frozen memtable fewer; with 2 or fewer one
    /// frozen memtable is every flush's normal state, so there is no slowdown stage.
    /// Default 2.
    pub max_frozen_memtables: usize,
    /// Durability of writes that ask for nothing else. Default [`Durability::Os`].
    pub durability: Durability,
    /// How often buffered WAL records are handed to the OS; `None` only on the next
    /// non-buffered write, sync or close. Default 5 ms.
    pub flush_interval: Option<Duration>,
    /// A WAL segment is rotated once it reaches this size. Default 64 MiB.
    pub wal_segment_size: u64,
    /// How WAL damage is treated on open. Default [`RecoveryMode::TolerateCorruptTail`].
    pub recovery_mode: RecoveryMode,
    /// L0 is compacted once it holds this many tables. Default 4. While L0 holds
    /// less than 1.25 times the base level's bytes it waits for up to 2 tables more
    /// (never reaching `l0_slowdown`), so each L0 compaction, which rewrites the whole
    /// base level, carries a bigger batch.
    pub l0_compaction_trigger: usize,
    /// Writes are slowed (1 ms each) from this many L0 tables. Default 8.
    pub l0_slowdown: usize,
    /// Writes stop until compaction catches up at this many L0 tables. Default 12.
    pub l0_stop: usize,
    /// Writes are slowed while compaction is this many bytes behind. Default 256 MiB.
    pub pending_compaction_slowdown_bytes: u64,
    /// Writes stop while compaction is this many bytes behind. Default 1 GiB.
    pub pending_compaction_stop_bytes: u64,
    /// Target size of the level L0 is compacted into. Default 256 MiB (RocksDB's
    /// `max_bytes_for_level_base`): a tree whose bottom level is smaller has only L0
    /// and the bottom level, so it keeps no second copy of its keys in between.
    pub base_level_size: u64,
    /// Size ratio between adjacent levels. Default 10.
    pub level_multiplier: u64,
    /// Tables written by compaction are cut at this size. Default 8 MiB.
    pub table_size: u64,
    /// Target size of a data block. Default 4096.
    pub block_size: usize,
    /// Bloom filter bits per key; 0 writes no filter. Default 10.
    pub bloom_bits_per_key: usize,
    /// Compaction threads. Default 1.
    pub background_threads: usize,
    /// Heap bytes the table readers may spend on block summaries, all tables together.
    /// A summary (about 3.6% of its block) lets a lookup find its entry in the block
    /// with fewer cache misses; blocks first read once the budget is spent get none
    /// and are binary-searched instead (present-key lookups about 1.7 times slower on
    /// the sstable benchmark). Summaries are kept until their table is compacted away,
    /// never evicted. Default 32 MiB, as much as one default memtable: every block of
    /// about 900 MB of tables (4 KiB blocks, 16-byte keys, 100-byte values), so a
    /// 1M-key benchmark database (120 MB, 4.4 MB of summaries) is fully summarized.
    pub reader_summary_budget: u64,
    /// How the data blocks of the tables written to each level (index 0 = L0, which
    /// flushes write; the last = the bottom level) are compressed. A block that does
    /// not shrink by an eighth is stored uncompressed, and so read in place from the
    /// mapped file; a compressed one is decompressed into the block cache on use.
    /// Default: none on L0 and L1, lz4 below, zstd on the bottom level, as RocksDB
    /// recommends (L0 and L1 are rewritten soon and read most; the bottom level holds
    /// most of the data).
    ///
    /// ```
    /// use quickcache::{Compression, Options};
    /// // lz4 everywhere.
    /// let options = Options { compression: [Compression::Lz4; 7], ..Options::default() };
    /// ```
    pub compression: [Compression; LEVELS],
    /// Heap bytes of decompressed blocks kept for reuse, all tables together (a
    /// sharded cache, see [`quickcache_sstable::BlockCache`]); counted in
    /// [`crate::Stats::block_cache_bytes`]. Uncompressed blocks never take any.
    /// Default 32 MiB.
    pub block_cache_size: usize,
    /// Whether closing (or dropping) the database flushes the memtables to a table,
    /// so that the next open has no WAL to replay. It makes a clean close slower by
    /// one flush and the next open faster by one replay; a crash replays either way.
    /// Default true.
    pub flush_on_close: bool,
    /// WAL bytes past which the keyspaces holding the oldest segment are flushed
    /// (RocksDB's `max_total_wal_size`): a keyspace written rarely would otherwise
    /// keep every segment since its last write. `None`: four times `memtable_size`.
    pub max_total_wal_size: Option<u64>,
    /// Whether opening a directory that holds no database creates one (and the
    /// directory, with any missing parents). With `false`, such an open fails with
    /// [`crate::Error::NoDatabase`] and creates nothing, so a mistyped path is an
    /// error rather than a new, empty database. Default true, as in fjall and sled.
    ///
    /// # Examples
    /// ```
    /// use quickcache::{Db, Options};
    /// let dir = tempfile::tempdir()?;
    /// let typo = dir.path().join("prodcution");
    /// let strict = Options { create_if_missing: false, ..Options::default() };
    /// let err = Db::open_with(&typo, strict.clone()).unwrap_err();
    /// assert!(err.is_no_database(), "{err}");
    /// assert!(!typo.exists());
    ///
    /// let path = dir.path().join("production");
    /// Db::open(&path)?.close()?; // created here, with the default options
    /// Db::open_with(&path, strict)?.close()?; // an existing database opens
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub create_if_missing: bool,
    /// Bytes of recently written keys kept to validate open transactions
    /// ([`crate::Transaction`]): each entry costs twice its key plus 64 bytes. Only
    /// writes made while a transaction is open are kept, and only until no open
    /// transaction began before them. A transaction open so long that the history
    /// passes this limit loses its oldest entries and then fails to commit with a
    /// conflict ([`crate::Error::is_conflict`]). Default 64 MiB.
    pub transaction_history_bytes: usize,
    /// The file system: [`RealFs`] by default, [`quickcache_fs::SimFs`] in tests.
    pub fs: DynFs,
    /// The clock that decides when values written with a time to live expire
    /// ([`crate::Db::put_with_ttl`]): reads and compactions ask it. Default
    /// [`SystemClock`]; tests pass a [`crate::ManualClock`] and move time by hand.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use quickcache::{Db, ManualClock, Options, Timestamp};
    ///
    /// let clock = Arc::new(ManualClock::new(Timestamp::from_millis(0)));
    /// let dir = tempfile::tempdir()?;
    /// let db = Db::open_with(dir.path(), Options { clock: clock.clone(), ..Options::default() })?;
    /// db.put_with_ttl("session", "s1", Duration::from_secs(60))?;
    /// assert!(db.get("session")?.is_some());
    /// clock.advance(Duration::from_secs(60));
    /// assert!(db.get("session")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub clock: DynClock,
    /// The default keyspace's compaction filter: offered the entries compactions
    /// rewrite, it keeps, removes or changes each ([`crate::CompactionFilter`] states
    /// which entries it sees; snapshots never see its decisions). Other keyspaces
    /// take theirs from [`crate::KeyspaceOptions::compaction_filter`]. Default none.
    ///
    /// # Examples
    /// ```
    /// use quickcache::{Db, FilterDecision, FilterEntry, Options, SharedFilter};
    ///
    /// // Drops every key under "tmp/" as compaction meets it.
    /// let drop_tmp = |entry: &FilterEntry<'_>| match entry.key.starts_with(b"tmp/") {
    ///     true => FilterDecision::Remove,
    ///     false => FilterDecision::Keep,
    /// };
    /// let options = Options { compaction_filter: Some(SharedFilter::new(drop_tmp)), ..Options::default() };
    /// let dir = tempfile::tempdir()?;
    /// let db = Db::open_with(dir.path(), options)?;
    /// db.put("tmp/1", "scratch")?;
    /// db.put("keep", "me")?;
    /// db.compact_range(..)?;
    /// assert!(db.get("tmp/1")?.is_none());
    /// assert!(db.get("keep")?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub compaction_filter: Option<SharedFilter>,
    /// Tests' callbacks at named points of background work, to force one
    /// interleaving of threads (see [`quickcache_compaction::SyncPoints`]). Not for
    /// production use; none by default.
    #[doc(hidden)]
    pub sync_points: SyncPoints,
}

/// The largest `memtable_size` accepted: 64 GiB. A memtable's key filter is
/// allocated up front at 1/64 of it.
const MAX_MEMTABLE_SIZE: usize = 1 << 36;

impl Options {
    /// Checks that the options make sense together, as [`crate::Db::open_with`] does
    /// before it touches the directory: sizes, triggers and ratios that are zero (or
    /// one, for `level_multiplier`), a `memtable_size` over 64 GiB, a slowdown
    /// threshold above its stop threshold. The lower crates would otherwise clamp such
    /// values silently.
    ///
    /// # Examples
    /// ```
    /// let mut options = quickcache::Options::default();
    /// assert!(options.validate().is_ok());
    /// options.l0_slowdown = options.l0_stop + 1;
    /// let err = options.validate().unwrap_err();
    /// assert!(err.to_string().contains("l0_slowdown"));
    /// ```
    pub fn validate(&self) -> crate::Result<()> {
        let checks: [(bool, &str); 12] = [
            (self.memtable_size > 0, "memtable_size is 0"),
            (
                self.memtable_size <= MAX_MEMTABLE_SIZE,
                "memtable_size is over 64 GiB",
            ),
            (self.wal_segment_size > 0, "wal_segment_size is 0"),
            (self.l0_compaction_trigger > 0, "l0_compaction_trigger is 0"),
            (
                self.l0_slowdown <= self.l0_stop,
                "l0_slowdown is above l0_stop",
            ),
            (
                self.pending_compaction_slowdown_bytes <= self.pending_compaction_stop_bytes,
                "pending_compaction_slowdown_bytes is above pending_compaction_stop_bytes",
            ),
            (self.base_level_size > 0, "base_level_size is 0"),
            (self.level_multiplier >= 2, "level_multiplier is below 2"),
            (self.table_size > 0, "table_size is 0"),
            (self.block_size > 0, "block_size is 0"),
            (self.background_threads > 0, "background_threads is 0"),
            (
                self.max_total_wal_size != Some(0),
                "max_total_wal_size is 0",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, reason)) => Err(crate::Error::InvalidOptions {
                reason: (*reason).to_string(),
            }),
            None => Ok(()),
        }
    }
}

impl Default for Options {
    /// Every knob the lower crates also have takes their default, so each default is
    /// set in one place (`WalOptions`, `CompactionOptions`, `TableOptions`); the
    /// test `tests/option_defaults.rs` holds the figures the field docs above state.
    fn default() -> Self {
        let wal = WalOptions::default();
        let compaction = CompactionOptions::default();
        let table = TableOptions::default();
        Options {
            memtable_size: 32 << 20,
            max_frozen_memtables: 2,
            durability: Durability::Os,
            flush_interval: wal.flush_interval,
            wal_segment_size: wal.wal_segment_size,
            recovery_mode: wal.recovery_mode,
            l0_compaction_trigger: compaction.l0_compaction_trigger,
            l0_slowdown: 8,
            l0_stop: 12,
            pending_compaction_slowdown_bytes: 256 << 20,
            pending_compaction_stop_bytes: 1 << 30,
            base_level_size: compaction.base_level_size,
            level_multiplier: compaction.level_multiplier,
            table_size: compaction.table_size,
            block_size: table.block_size,
            bloom_bits_per_key: table.bloom_bits_per_key,
            background_threads: compaction.background_threads,
            reader_summary_budget: compaction.reader_summary_budget,
            compression: compaction.compression,
            block_cache_size: compaction.block_cache_size,
            flush_on_close: true,
            max_total_wal_size: None,
            create_if_missing: true,
            transaction_history_bytes: 64 << 20,
            fs: Arc::new(RealFs::new()),
            clock: Arc::new(SystemClock),
            compaction_filter: None,
            sync_points: SyncPoints::default(),
        }
    }
}

impl Options {
    /// [`Options::max_total_wal_size`], or its default.
    pub(crate) fn wal_size_limit(&self) -> u64 {
        let default = (self.memtable_size as u64).saturating_mul(4);
        self.max_total_wal_size.unwrap_or(default)
    }

    pub(crate) fn wal(&self) -> WalOptions {
        WalOptions {
            wal_segment_size: self.wal_segment_size,
            flush_interval: self.flush_interval,
            recovery_mode: self.recovery_mode,
            ..WalOptions::default()
        }
    }

    pub(crate) fn compaction(&self) -> CompactionOptions {
        let defaults = CompactionOptions::default();
        CompactionOptions {
            l0_compaction_trigger: self.l0_compaction_trigger.max(1),
            // Waiting for a bigger L0 batch must not reach the slowdown.
            l0_batch_extra: defaults.l0_batch_extra.min(
                self.l0_slowdown
                    .saturating_sub(self.l0_compaction_trigger.max(1) + 1),
            ),
            base_level_size: self.base_level_size,
            level_multiplier: self.level_multiplier,
            table_size: self.table_size,
            max_grandparent_overlap: self.table_size.saturating_mul(10),
            background_threads: self.background_threads.max(1),
            reader_summary_budget: self.reader_summary_budget,
            compression: self.compression,
            block_cache_size: self.block_cache_size,
            table: TableOptions {
                block_size: self.block_size,
                bloom_bits_per_key: self.bloom_bits_per_key,
                ..TableOptions::default()
            },
            hooks: Hooks {
                clock: Arc::clone(&self.clock),
                filter: self.compaction_filter.clone(),
            },
            ..defaults
        }
    }
}

/// Per-write choices for [`crate::Db::write_with`] and [`crate::Db::put_with`].
///
/// # Examples
/// ```
/// use quickcache::{Db, Durability, WriteOptions};
///
/// let dir = tempfile::tempdir()?;
/// let db = Db::open(dir.path())?;
/// // This one write survives a power loss when put_with returns.
/// db.put_with("balance", "42", &WriteOptions::synced())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// The durability of this write; `None` uses [`Options::durability`].
    pub durability: Option<Durability>,
    /// For [`crate::Db::put_with`] and [`crate::Keyspace::put_with`]: the value
    /// expires this long after the write (by [`Options::clock`]) and then reads as
    /// absent, as [`crate::Db::put_with_ttl`] says. `None`: it never expires. Writes of
    /// other kinds refuse a time to live ([`crate::Error::InvalidOptions`]): a delete
    /// has nothing to expire, and the puts of a batch or a transaction carry their own
    /// ([`crate::WriteBatch::put_with_ttl`], [`crate::Transaction::put_with_ttl`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use quickcache::WriteOptions;
    /// let options = WriteOptions { ttl: Some(Duration::from_secs(30)), ..WriteOptions::default() };
    /// ```
    pub ttl: Option<Duration>,
}

impl WriteOptions {
    /// Options asking for [`Durability::Synced`].
    ///
    /// # Examples
    /// ```
    /// use quickcache::{Durability, WriteOptions};
    /// assert_eq!(WriteOptions::synced().durability, Some(Durability::Synced));
    /// ```
    pub fn synced() -> WriteOptions {
        WriteOptions {
            durability: Some(Durability::Synced),
            ..WriteOptions::default()
        }
    }
}
