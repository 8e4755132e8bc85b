#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! `verify` reads every keyspace of a manifest: the tables of a keyspace other than
//! the default are checked too, and the WAL from the oldest segment any keyspace needs.

use std::collections::BTreeMap;
use std::sync::Arc;

use quickcache::fs::{DynFs, RealFs};
use quickcache::{Db, verify};
use quickcache_compaction::{CompactionOptions, KeyspaceDef, TreeOptions, VersionSet};
use quickcache_sstable::conformance::VecCursor;
use quickcache_sstable::{InternalKey, SeqNo, ValueKind};

#[test]
fn verify_checks_the_tables_of_every_keyspace() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.put("k", "v").unwrap();
    db.close().unwrap();
    let fs: DynFs = Arc::new(RealFs::new());
    let set = VersionSet::open(fs, dir.path(), CompactionOptions::default()).unwrap();
    let def = KeyspaceDef {
        name: "index".to_owned(),
        options: TreeOptions {
            memtable_size: 1 << 20,
            table_size: 8 << 20,
            block_size: 4096,
            bloom_bits_per_key: 10,
            base_level_size: 64 << 20,
            level_multiplier: 10,
            compression: quickcache_compaction::DEFAULT_COMPRESSION,
        },
    };
    let log = set.log_number();
    let id = set.create_keyspace(def, log).unwrap();
    let mut entries = BTreeMap::new();
    for i in 0..50u64 {
        let key = InternalKey::new(
            format!("i{i:03}"),
            SeqNo::new(i + 10).unwrap(),
            ValueKind::Value,
        );
        entries.insert(key, b"value".to_vec());
    }
    let info = set
        .flush_keyspace(id, &mut VecCursor::from_model(&entries), log, &[])
        .unwrap()
        .unwrap();
    let table = dir.path().join(format!("{:06}.sst", info.id.0));
    drop(set);

    let report = verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(
        report.tables, 2,
        "the default keyspace's table and the index's"
    );

    // Damage the keyspace's table: verify names it.
    let mut bytes = std::fs::read(&table).unwrap();
    bytes[40] ^= 0x20;
    std::fs::write(&table, &bytes).unwrap();
    let report = verify(dir.path()).unwrap();
    assert!(!report.is_ok());
    assert!(report.damaged.iter().any(|p| p.path == table), "{report:?}");
}
