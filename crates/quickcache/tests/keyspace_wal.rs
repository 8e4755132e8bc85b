#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! How the database treats keyspaces in its WAL (`docs/format/manifest.md`,
//! "Keyspaces"): a write naming a keyspace it does not have is refused whole, a WAL
//! record naming a keyspace the manifest never created is corruption, and a keyspace
//! whose log number is behind keeps the WAL segments it needs (the oldest-log rule),
//! until it flushes.

use std::path::Path;
use std::sync::Arc;

use quickcache::fs::{DynFs, RealFs};
use quickcache::{Db, Options, WAL_DIR, WriteBatch};
use quickcache_compaction::{CompactionOptions, KeyspaceDef, TreeOptions, VersionSet};
use quickcache_memtable::WriteBatch as MemBatch;
use quickcache_sstable::{KeyspaceId, SeqNo};
use quickcache_wal::{Durability, Wal, WalOptions, list_segments};

fn options() -> Options {
    Options {
        wal_segment_size: 64 << 10,
        flush_on_close: false,
        ..Options::default()
    }
}

fn fs() -> DynFs {
    Arc::new(RealFs::new())
}

fn segments(dir: &Path) -> Vec<u64> {
    let all = list_segments(&RealFs::new(), &dir.join(WAL_DIR)).unwrap();
    all.into_iter().map(|s| s.0).collect()
}

/// Appends one sequenced batch to the closed database's WAL, as a writer of a build
/// that serves keyspaces would have logged it.
fn append_record(dir: &Path, batch: &mut MemBatch, seqno: u64) {
    batch.set_base_seqno(SeqNo::new(seqno).unwrap()).unwrap();
    let wal_options = WalOptions {
        wal_segment_size: 64 << 10,
        ..WalOptions::default()
    };
    let (wal, _) = Wal::open(fs(), dir.join(WAL_DIR), wal_options).unwrap();
    wal.append(batch.encoded(), Durability::Synced).unwrap();
    wal.close().unwrap();
}

fn tree_options() -> TreeOptions {
    TreeOptions {
        memtable_size: 1 << 20,
        table_size: 8 << 20,
        block_size: 4096,
        bloom_bits_per_key: 10,
        base_level_size: 64 << 20,
        level_multiplier: 10,
        compression: quickcache_compaction::DEFAULT_COMPRESSION,
    }
}

#[test]
fn a_write_naming_a_keyspace_the_database_lacks_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), options()).unwrap();
    let mut batch = MemBatch::new();
    batch.put(b"default-key", b"v").unwrap();
    batch.put_in(KeyspaceId(1), b"other", b"v").unwrap();
    let err = db.write(WriteBatch::from(batch)).unwrap_err();
    assert!(
        matches!(err, quickcache::Error::NoSuchKeyspace { keyspace: 1 }),
        "{err}"
    );
    assert_eq!(db.get("default-key").unwrap(), None, "nothing was written");
    assert_eq!(db.stats().writes, 0);
}

#[test]
fn a_wal_record_naming_a_keyspace_never_created_is_corruption_naming_segment_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    Db::open_with(dir.path(), options())
        .unwrap()
        .close()
        .unwrap();
    let mut batch = MemBatch::new();
    batch.put(b"a", b"1").unwrap();
    batch.put_in(KeyspaceId(7), b"b", b"2").unwrap();
    append_record(dir.path(), &mut batch, 1);
    let err = Db::open_with(dir.path(), options()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("000001.log") && message.contains("offset 32"),
        "{message}"
    );
    assert!(message.contains("keyspace 7"), "{message}");
}

#[test]
fn a_keyspace_behind_keeps_its_wal_segments_until_it_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let options = Options {
        memtable_size: 64 << 10,
        ..options()
    };
    let db = Db::open_with(path, options.clone()).unwrap();
    db.put("before", "0").unwrap();
    db.close().unwrap();
    let pinned = *segments(path).last().unwrap();

    // A keyspace created at the current segment, with one entry logged for it there,
    // as a crashed run of a writer would have left it.
    let set = VersionSet::open(fs(), path, CompactionOptions::default()).unwrap();
    let def = KeyspaceDef {
        name: "log".to_owned(),
        options: tree_options(),
    };
    let id = set.create_keyspace(def, pinned).unwrap();
    drop(set);
    let mut batch = MemBatch::new();
    batch.put_in(id, b"entry", b"for the keyspace").unwrap();
    batch.put(b"shared", b"same batch").unwrap();
    append_record(path, &mut batch, 2);

    // Replayed into its own keyspace; the default one flushes past the segment by
    // itself (its memtable fills), but the keyspace still needs the segment.
    let db = Db::open_with(path, options.clone()).unwrap();
    let log = db.keyspace("log").unwrap();
    assert_eq!(log.get("entry").unwrap().unwrap(), b"for the keyspace");
    assert_eq!(db.get("entry").unwrap(), None);
    assert_eq!(db.get("shared").unwrap().unwrap(), b"same batch");
    for i in 0..400 {
        db.put(format!("k{i:03}"), "x".repeat(500)).unwrap();
    }
    db.wait_for_compactions().unwrap();
    assert!(
        db.stats().levels.iter().any(|l| l.files > 0),
        "the default flushed"
    );
    assert!(segments(path).contains(&pinned), "{:?}", segments(path));
    assert!(*segments(path).last().unwrap() > pinned);
    // Once the keyspace flushes too, nothing pins the segment.
    db.flush().unwrap();
    assert!(!segments(path).contains(&pinned), "{:?}", segments(path));
    assert_eq!(log.get("entry").unwrap().unwrap(), b"for the keyspace");
    db.close().unwrap();
    let db = Db::open_with(path, options).unwrap();
    assert_eq!(db.get("before").unwrap().unwrap(), b"0");
    assert_eq!(db.get("k399").unwrap().unwrap(), "x".repeat(500).as_bytes());
    let log = db.keyspace("log").unwrap();
    assert_eq!(log.get("entry").unwrap().unwrap(), b"for the keyspace");
    db.close().unwrap();
}
