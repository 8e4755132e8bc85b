#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! `Options::compression` reaches the tables flushes and compactions write,
//! `Options::block_cache_size` bounds the decompressed blocks readers keep, and
//! `Stats` reports them. Databases whose levels change compression read on.

mod support;

use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{Compression, Db, Options};

/// A JSON record, the same for every key but for its id: what compresses well.
fn record(i: u32) -> String {
    format!(
        r#"{{"id":{i},"user":"someone@example.com","tags":["alpha","beta","gamma"],"active":true,"score":12.5,"notes":"the same notes every time, the same notes every time"}}"#
    )
}

fn options(fs: &SimFs, compression: [Compression; 7], cache: usize) -> Options {
    Options {
        memtable_size: 256 << 10,
        block_cache_size: cache,
        compression,
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

/// Writes 5000 records, compacts everything to the bottom level, reads them all back;
/// the bytes of the tables then.
fn fill_and_compact(db: &Db) -> u64 {
    for i in 0..5000 {
        db.put(format!("doc{i:06}"), record(i)).unwrap();
    }
    db.compact_range(..).unwrap();
    check(db);
    db.stats().levels.iter().map(|l| l.bytes).sum()
}

fn check(db: &Db) {
    for i in 0..5000 {
        let got = db.get(format!("doc{i:06}")).unwrap().unwrap();
        assert_eq!(got, record(i).as_bytes(), "doc{i:06}");
    }
    let mut scanned = 0;
    for (i, kv) in db.iter().enumerate() {
        let (key, value) = kv.unwrap();
        assert_eq!(key, format!("doc{i:06}").as_bytes());
        assert_eq!(value, record(i as u32).as_bytes());
        scanned += 1;
    }
    assert_eq!(scanned, 5000);
}

#[test]
fn compressed_levels_are_smaller_and_read_the_same() {
    let _dog = support::watchdog("compressed_levels_are_smaller_and_read_the_same");
    let mut sizes = Vec::new();
    for kind in [Compression::None, Compression::Lz4, Compression::Zstd] {
        let fs = SimFs::new(5);
        let db = Db::open_with("/db", options(&fs, [kind; 7], 1 << 20)).unwrap();
        sizes.push(fill_and_compact(&db));
        let stats = db.stats();
        assert_eq!(stats.block_cache_capacity, 1 << 20);
        assert!(stats.block_cache_bytes <= stats.block_cache_capacity);
        // Only decompressed blocks take cache bytes.
        assert_eq!(
            stats.block_cache_bytes > 0,
            kind != Compression::None,
            "{kind}"
        );
    }
    let [none, lz4, zstd] = sizes[..] else {
        unreachable!()
    };
    assert!(lz4 * 3 < none, "lz4 {lz4} bytes, none {none}");
    assert!(zstd < lz4, "zstd {zstd} bytes, lz4 {lz4}");
}

#[test]
fn the_default_compresses_the_bottom_level_with_zstd() {
    let _dog = support::watchdog("the_default_compresses_the_bottom_level_with_zstd");
    let fs = SimFs::new(6);
    let defaults = Options::default().compression;
    assert_eq!(defaults[0], Compression::None);
    assert_eq!(defaults[1], Compression::None);
    assert!(defaults[2..6].iter().all(|&c| c == Compression::Lz4));
    assert_eq!(defaults[6], Compression::Zstd);
    let db = Db::open_with("/db", options(&fs, defaults, 32 << 20)).unwrap();
    let compressed = fill_and_compact(&db);
    let fs = SimFs::new(6);
    let plain = Db::open_with("/db", options(&fs, [Compression::None; 7], 32 << 20)).unwrap();
    let uncompressed = fill_and_compact(&plain);
    assert!(
        compressed * 5 < uncompressed,
        "default {compressed} bytes, none {uncompressed}"
    );
}

#[test]
fn a_database_reopened_with_other_compression_reads_every_table() {
    let _dog = support::watchdog("a_database_reopened_with_other_compression_reads_every_table");
    let fs = SimFs::new(8);
    let db = Db::open_with("/db", options(&fs, [Compression::Zstd; 7], 0)).unwrap();
    fill_and_compact(&db);
    drop(db);
    // No block cache at all: every read decompresses, and still reads right.
    let db = Db::open_with("/db", options(&fs, [Compression::None; 7], 0)).unwrap();
    check(&db);
    assert_eq!(db.stats().block_cache_bytes, 0);
    for i in (0..5000).step_by(7) {
        db.put(format!("doc{i:06}"), record(i)).unwrap();
    }
    db.compact_range(..).unwrap();
    check(&db);
}
