#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Compression is chosen per keyspace as well as per level: `KeyspaceOptions::compression`
//! reaches the tables of that keyspace's flushes and compactions, whatever the
//! database's `Options::compression`, and is stored with the keyspace, so a reopen
//! without options keeps it.

mod support;

use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{Compression, Db, Error, Keyspace, KeyspaceOptions, Options};

/// A JSON record, the same for every key but for its id: what compresses well.
fn record(i: u32) -> String {
    format!(
        r#"{{"id":{i},"user":"someone@example.com","tags":["alpha","beta","gamma"],"active":true,"notes":"the same notes every time, the same notes every time"}}"#
    )
}

fn options(fs: &SimFs) -> Options {
    Options {
        memtable_size: 256 << 10,
        // The default keyspace stores everything uncompressed.
        compression: [Compression::None; 7],
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

fn with(db: &Db, compression: [Compression; 7]) -> KeyspaceOptions {
    KeyspaceOptions {
        compression,
        ..KeyspaceOptions::from(db.options())
    }
}

/// Writes records `from..to`, compacts the keyspace to its bottom level, reads every
/// record back; the bytes of the keyspace's tables then.
fn fill_and_compact(db: &Db, ks: &Keyspace, from: u32, to: u32) -> u64 {
    for i in from..to {
        ks.put(format!("doc{i:06}"), record(i)).unwrap();
    }
    ks.compact_range(..).unwrap();
    for i in 0..to {
        let got = ks.get(format!("doc{i:06}")).unwrap().unwrap();
        assert_eq!(got, record(i).as_bytes(), "{} doc{i:06}", ks.name());
    }
    let stats = db.stats();
    let tree = stats
        .keyspaces
        .iter()
        .find(|k| k.name == ks.name())
        .unwrap();
    tree.levels.iter().map(|l| l.bytes).sum()
}

#[test]
fn each_keyspace_compresses_as_its_options_say() {
    let _dog = support::watchdog("each_keyspace_compresses_as_its_options_say");
    let fs = SimFs::new(31);
    let db = Db::open_with("/db", options(&fs)).unwrap();
    // `Db::keyspace` takes the database's options, compression (none) included.
    let plain = db.keyspace("plain").unwrap();
    let lz4 = db
        .keyspace_with("lz4", with(&db, [Compression::Lz4; 7]))
        .unwrap();
    let per_level = with(&db, quickcache_compaction::DEFAULT_COMPRESSION);
    let zstd = db.keyspace_with("zstd", per_level).unwrap();
    let none = fill_and_compact(&db, &plain, 0, 5000);
    let lz4 = fill_and_compact(&db, &lz4, 0, 5000);
    let zstd_bytes = fill_and_compact(&db, &zstd, 0, 5000);
    assert!(lz4 * 3 < none, "lz4 {lz4} bytes, none {none}");
    // All of it is at the bottom level: zstd in the default per-level choice.
    assert!(
        zstd_bytes * 5 < none,
        "zstd {zstd_bytes} bytes, none {none}"
    );
    assert!(db.stats().block_cache_bytes > 0);
}

#[test]
fn a_keyspace_keeps_its_stored_compression_across_reopens() {
    let _dog = support::watchdog("a_keyspace_keeps_its_stored_compression_across_reopens");
    let fs = SimFs::new(32);
    let db = Db::open_with("/db", options(&fs)).unwrap();
    let zstd = with(&db, [Compression::Zstd; 7]);
    let ks = db.keyspace_with("docs", zstd.clone()).unwrap();
    let first = fill_and_compact(&db, &ks, 0, 2500);
    db.close().unwrap();

    // Reopened with the database uncompressed; the keyspace without options.
    let db = Db::open_with("/db", options(&fs)).unwrap();
    let ks = db.keyspace("docs").unwrap();
    let both = fill_and_compact(&db, &ks, 2500, 5000);
    assert!(
        both < first * 5 / 2,
        "first half {first} bytes, both {both}"
    );
    let plain = db
        .keyspace_with("plain", with(&db, [Compression::None; 7]))
        .unwrap();
    let none = fill_and_compact(&db, &plain, 0, 5000);
    assert!(both * 5 < none, "zstd {both} bytes, none {none}");
    // Other compression for the existing keyspace is refused, as other options are.
    let lz4 = with(&db, [Compression::Lz4; 7]);
    let err = db.keyspace_with("docs", lz4).unwrap_err();
    assert!(
        matches!(err, Error::KeyspaceOptionsConflict { .. }),
        "{err}"
    );
    assert!(db.keyspace_with("docs", zstd).is_ok());
}
