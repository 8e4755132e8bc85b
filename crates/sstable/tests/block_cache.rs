//! Compressed tables and the block cache: lookups cache the blocks they decompress,
//! scans do not (a compaction's scan would only push out what lookups reuse), and a
//! dropped table leaves nothing behind.

#![allow(clippy::unwrap_used, reason = "test helpers fail the test loudly")]

mod common;

use std::path::Path;

use common::*;
use quickcache_fs::{FileSystem, SimFs};
use quickcache_sstable::conformance::check_cursor;
use quickcache_sstable::{BlockCache, Compression, SummaryBudget, Table, TableOptions};

fn compressed_table(fs: &SimFs, kind: Compression) -> quickcache_sstable::conformance::Model {
    let model = sample_model(400);
    fs.create_dir_all(Path::new("/c")).unwrap();
    let options = TableOptions {
        compression: kind,
        ..small_blocks()
    };
    build(fs, Path::new("/c/t.sst"), &model, options);
    model
}

#[test]
fn lookups_fill_the_cache_and_scans_do_not() {
    for kind in [Compression::Lz4, Compression::Zstd] {
        let fs = SimFs::new(2);
        let model = compressed_table(&fs, kind);
        let cache = BlockCache::new(1 << 20);
        let budget = SummaryBudget::new(1 << 20).with_block_cache(cache.clone());
        let table = Table::open_with(&fs, Path::new("/c/t.sst"), budget.clone()).unwrap();
        let blocks = table.data_block_compression().unwrap();
        assert!(blocks.iter().filter(|&&b| b == kind).count() * 2 > blocks.len());

        let mut seen = 0;
        for kv in table.iter() {
            kv.unwrap();
            seen += 1;
        }
        assert_eq!(seen, model.len());
        assert!(cache.is_empty(), "{kind}: a scan filled the cache");
        check_gets(&table, &model);
        assert!(!cache.is_empty(), "{kind}: gets cached nothing");
        check_cursor(&mut table.cursor(), &model);
        assert!(cache.usage() <= cache.capacity());
        // Compressed blocks get summaries too, positions in their decompressed bytes.
        assert!(budget.used() > 0, "{kind}: no summaries");
        drop(table);
        assert_eq!(
            cache.len(),
            0,
            "{kind}: a dropped table leaves blocks behind"
        );
        assert_eq!(cache.usage(), 0);
    }
}

#[test]
fn a_pure_scan_caches_nothing() {
    let fs = SimFs::new(3);
    let model = compressed_table(&fs, Compression::Lz4);
    let cache = BlockCache::new(1 << 20);
    let budget = SummaryBudget::unlimited().with_block_cache(cache.clone());
    let table = Table::open_with(&fs, Path::new("/c/t.sst"), budget).unwrap();
    assert_eq!(table.iter().count(), model.len());
    assert_eq!(table.iter().rev().count(), model.len());
    assert!(cache.is_empty());
}

#[test]
fn a_tiny_cache_still_answers_everything() {
    let fs = SimFs::new(4);
    let model = compressed_table(&fs, Compression::Zstd);
    // Room for about one block per shard: constant eviction.
    let cache = BlockCache::new(16 * 400);
    let budget = SummaryBudget::new(0).with_block_cache(cache.clone());
    let table = Table::open_with(&fs, Path::new("/c/t.sst"), budget).unwrap();
    check_gets(&table, &model);
    check_cursor(&mut table.cursor(), &model);
    assert!(cache.usage() <= cache.capacity());
}
