//! The defaults the docs of `Options` state, held against `Options::default()`: the
//! values come from the lower crates' own defaults (one place each), so a change
//! there that the facade's docs do not follow fails here.

use std::time::Duration;

use quickcache::{Compression, Durability, KeyspaceOptions, Options, RecoveryMode};

#[test]
fn options_defaults_are_the_documented_ones() {
    let o = Options::default();
    assert_eq!(o.memtable_size, 32 << 20);
    assert_eq!(o.max_frozen_memtables, 2);
    assert_eq!(o.durability, Durability::Os);
    assert_eq!(o.flush_interval, Some(Duration::from_millis(5)));
    assert_eq!(o.wal_segment_size, 64 << 20);
    assert_eq!(o.recovery_mode, RecoveryMode::TolerateCorruptTail);
    assert_eq!(o.l0_compaction_trigger, 4);
    assert_eq!((o.l0_slowdown, o.l0_stop), (8, 12));
    assert_eq!(o.pending_compaction_slowdown_bytes, 256 << 20);
    assert_eq!(o.pending_compaction_stop_bytes, 1 << 30);
    assert_eq!(o.base_level_size, 256 << 20);
    assert_eq!(o.level_multiplier, 10);
    assert_eq!(o.table_size, 8 << 20);
    assert_eq!(o.block_size, 4096);
    assert_eq!(o.bloom_bits_per_key, 10);
    assert_eq!(o.background_threads, 1);
    assert_eq!(o.reader_summary_budget, 32 << 20);
    assert_eq!(o.block_cache_size, 32 << 20);
    assert_eq!(o.transaction_history_bytes, 64 << 20);
    assert!(o.flush_on_close && o.create_if_missing);
    assert_eq!(o.max_total_wal_size, None);
    // None on L0 and L1, lz4 below, zstd at the bottom.
    let mut levels = [Compression::Lz4; 7];
    levels[..2].fill(Compression::None);
    levels[6] = Compression::Zstd;
    assert_eq!(o.compression, levels);
}

#[test]
fn a_keyspace_takes_the_database_defaults() {
    let o = Options::default();
    let k = KeyspaceOptions::from(&o);
    assert_eq!(
        (
            k.memtable_size,
            k.table_size,
            k.block_size,
            k.bloom_bits_per_key
        ),
        (
            o.memtable_size,
            o.table_size,
            o.block_size,
            o.bloom_bits_per_key
        )
    );
    assert_eq!(
        (k.base_level_size, k.level_multiplier),
        (o.base_level_size, o.level_multiplier)
    );
    assert_eq!(k.compression, o.compression);
}
