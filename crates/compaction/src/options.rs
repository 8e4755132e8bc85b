//! `CompactionOptions`: the knobs of leveled compaction, and the level targets they
//! give for a version (RocksDB's "dynamic level bytes").

use quickcache_sstable::{BlockCache, Compression, SummaryBudget};

use crate::{LEVELS, Level, Version};

/// The compression RocksDB recommends per level: none on L0 and L1, which are
/// rewritten soon and read most, lz4 below, zstd on the bottom level, which holds
/// most of the data and is rewritten least.
pub const DEFAULT_COMPRESSION: [Compression; LEVELS] = [
    Compression::None,
    Compression::None,
    Compression::Lz4,
    Compression::Lz4,
    Compression::Lz4,
    Compression::Lz4,
    Compression::Zstd,
];

/// Tuning of flushes and compactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactionOptions {
    /// L0 is compacted once it holds this many tables. Default 4.
    pub l0_compaction_trigger: usize,
    /// Tables past `l0_compaction_trigger` that L0 may wait for while it holds less than
    /// [`crate::L0_BATCH`] times the base level's bytes: every L0 compaction rewrites
    /// the whole base level, so bigger batches rewrite it less often. Never while the
    /// base level is the bottom one (the tree is under `base_level_size`), whose disk
    /// the waiting tables would swell. 0 turns the wait off. Default 2. An engine that slows writes at some L0 table count keeps
    /// `l0_compaction_trigger + l0_batch_extra` below it.
    pub l0_batch_extra: usize,
    /// Target size of the base level (the level L0 is compacted into), in bytes.
    /// Default 256 MiB, RocksDB's `max_bytes_for_level_base`: until the bottom level
    /// passes it, L0 goes straight to the bottom and no level above holds a second
    /// copy of the keys (a 1M-key store with 64 MiB kept up to 0.7 times the bottom
    /// level again in L5).
    pub base_level_size: u64,
    /// Size ratio between adjacent levels. Default 10.
    pub level_multiplier: u64,
    /// Output tables are cut at this size, in bytes. Default 8 MiB.
    pub table_size: u64,
    /// An output table is also cut before it would overlap more than this many bytes
    /// of the level below its own, which bounds the cost of compacting it later.
    /// Default 10 × `table_size`.
    pub max_grandparent_overlap: u64,
    /// A manifest larger than this is replaced by a fresh snapshot. Default 4 MiB.
    pub max_manifest_size: u64,
    /// Number of background compaction threads. Default 1.
    pub background_threads: usize,
    /// The layout of the tables flushes and compactions write; its `compression` is
    /// replaced by the output level's entry of `compression`.
    pub table: quickcache_sstable::TableOptions,
    /// How the data blocks of tables written to each level are compressed (flushes
    /// write L0). A table moved down without being rewritten keeps its blocks as they
    /// are. Default [`DEFAULT_COMPRESSION`].
    pub compression: [Compression; LEVELS],
    /// Bytes of decompressed blocks the tree's table readers may cache together
    /// (see [`quickcache_sstable::BlockCache`]). Default 32 MiB.
    pub block_cache_size: usize,
    /// Whether the previous run ended with the manifest synced and nothing written
    /// since (an engine knows it from a marker its clean close leaves). Opening then
    /// continues the manifest without first syncing it and its directory, the syncs
    /// that make a crashed run's unsynced edits durable before anything is built on
    /// them. A wrong `true` can let a later power loss undo an edit that deleted files
    /// relied on. Default false.
    pub previous_run_synced: bool,
    /// Bytes the block summaries of all the tree's table readers may take together
    /// (see [`quickcache_sstable::SummaryBudget`]); lookups in blocks left without one
    /// binary-search the block's restart keys. Default 32 MiB.
    pub reader_summary_budget: u64,
    /// The clock expiry is judged by and the default keyspace's compaction filter.
    /// Default: the system clock, no filter.
    pub hooks: crate::Hooks,
}

impl CompactionOptions {
    /// These options with a keyspace's stored ones in place of the tree-shaping knobs
    /// (table and block size, bloom bits, level targets, compression per level); the
    /// rest (threads, manifest size, L0 trigger, block cache) are the database's.
    ///
    /// # Examples
    /// ```
    /// use quickcache_compaction::{CompactionOptions, LEVELS, Level, TreeOptions};
    /// use quickcache_sstable::Compression;
    /// let tree = TreeOptions {
    ///     memtable_size: 1 << 20,
    ///     table_size: 2 << 20,
    ///     block_size: 1024,
    ///     bloom_bits_per_key: 0,
    ///     base_level_size: 16 << 20,
    ///     level_multiplier: 8,
    ///     compression: [Compression::Lz4; LEVELS],
    /// };
    /// let options = CompactionOptions::default().for_tree(&tree);
    /// assert_eq!(options.table_options(Level::L0).compression, Compression::Lz4);
    /// assert_eq!(options.table_size, 2 << 20);
    /// assert_eq!(options.max_grandparent_overlap, 20 << 20);
    /// assert_eq!((options.table.block_size, options.table.bloom_bits_per_key), (1024, 0));
    /// ```
    pub fn for_tree(&self, tree: &crate::TreeOptions) -> CompactionOptions {
        let size = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        let table_size = tree.table_size.max(1);
        CompactionOptions {
            base_level_size: tree.base_level_size.max(1),
            level_multiplier: tree.level_multiplier.max(2),
            table_size,
            max_grandparent_overlap: table_size.saturating_mul(10),
            compression: tree.compression,
            table: quickcache_sstable::TableOptions {
                block_size: size(tree.block_size).max(1),
                bloom_bits_per_key: size(tree.bloom_bits_per_key),
                ..self.table.clone()
            },
            ..self.clone()
        }
    }
}

impl Default for CompactionOptions {
    fn default() -> Self {
        let table_size = 8 << 20;
        CompactionOptions {
            l0_compaction_trigger: 4,
            l0_batch_extra: 2,
            base_level_size: 256 << 20,
            level_multiplier: 10,
            table_size,
            max_grandparent_overlap: 10 * table_size,
            max_manifest_size: 4 << 20,
            background_threads: 1,
            table: quickcache_sstable::TableOptions::default(),
            previous_run_synced: false,
            reader_summary_budget: 32 << 20,
            compression: DEFAULT_COMPRESSION,
            block_cache_size: 32 << 20,
            hooks: crate::Hooks::default(),
        }
    }
}

impl CompactionOptions {
    /// The options of a table written to `level`.
    pub fn table_options(&self, level: Level) -> quickcache_sstable::TableOptions {
        quickcache_sstable::TableOptions {
            compression: self.compression[level.index()],
            ..self.table.clone()
        }
    }

    /// The budget the tree's table readers share: `reader_summary_budget` bytes of
    /// block summaries and a block cache of `block_cache_size` bytes.
    pub fn reader_budget(&self) -> SummaryBudget {
        SummaryBudget::new(self.reader_summary_budget)
            .with_block_cache(BlockCache::new(self.block_cache_size))
    }
}

/// Where L0 goes and how large each level may grow, for one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelTargets {
    /// The level L0 is compacted into: the shallowest level with a target. Levels
    /// between L0 and it stay empty.
    pub base: Level,
    /// Target size per level in bytes; 0 above the base level (and for L0, which is
    /// scored by table count).
    pub bytes: [u64; LEVELS],
}

impl LevelTargets {
    /// Derives the targets from the largest level, as RocksDB's dynamic level bytes
    /// does: the largest level's target is its size, each level above gets a
    /// `level_multiplier`-th of the one below, and the base level is the deepest one whose
    /// target would not exceed `base_level_size`. So the levels above the largest
    /// hold about 1/9 of it and space amplification stays near 1.11.
    ///
    /// No target falls below `base_level_size` (RocksDB does the same): a level
    /// just above a bottom of a few hundred MiB would otherwise get a target of a few
    /// dozen, and every byte pushed out of it would rewrite ten bytes of the bottom
    /// instead of about six. Measured on `examples/fill.rs -- 64 8`: write
    /// amplification 6.58 without the floor, 6.03 with it.
    pub fn of(version: &Version, options: &CompactionOptions) -> LevelTargets {
        let level_multiplier = options.level_multiplier.max(2);
        let base_max = options.base_level_size.max(1);
        let largest = Level::all()
            .skip(1)
            .map(|l| version.level_size(l))
            .max()
            .unwrap_or(0);
        let mut base = Level::BOTTOM;
        let mut size = largest;
        while size > base_max && base.index() > 1 {
            size /= level_multiplier;
            base = Level::new(base.index() - 1).unwrap_or(Level::BOTTOM);
        }
        // The base target never drops below a level_multiplier-th of its maximum, so a
        // freshly opened base level is not compacted away in tiny pieces.
        let mut target = size.clamp(base_max / level_multiplier, base_max).max(1);
        let mut bytes = [0; LEVELS];
        for slot in bytes.iter_mut().skip(base.index()) {
            *slot = target.max(base_max);
            target = target.saturating_mul(level_multiplier);
        }
        bytes[Level::BOTTOM.index()] = bytes[Level::BOTTOM.index()].max(largest);
        LevelTargets { base, bytes }
    }

    /// The target of `level` in bytes (0 above the base level and for L0).
    pub fn target(&self, level: Level) -> u64 {
        self.bytes[level.index()]
    }
}
