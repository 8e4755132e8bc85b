#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! Keyspaces through the public API: each an ordered map of its own, written
//! atomically together, surviving reopens and crashes, dropped with its files.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{
    Compression, Db, Durability, Error, KeyspaceOptions, Options, WriteBatch, WriteOptions,
};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn small(fs: &Arc<SimFs>) -> Options {
    Options {
        memtable_size: 32 << 10,
        l0_compaction_trigger: 2,
        table_size: 8 << 10,
        base_level_size: 32 << 10,
        wal_segment_size: 64 << 10,
        flush_interval: None,
        fs: fs.clone(),
        ..Options::default()
    }
}

fn contents(iter: quickcache::Iter) -> Model {
    iter.map(|kv| kv.map(|(k, v)| (k, v.to_vec())).unwrap())
        .collect()
}

fn tables(fs: &SimFs) -> usize {
    use quickcache::fs::FileSystem;
    let names = fs.list(Path::new("/db")).unwrap();
    names.iter().filter(|n| n.ends_with(".sst")).count()
}

#[test]
fn a_keyspace_is_an_ordered_map_of_its_own() {
    let fs = Arc::new(SimFs::new(1));
    let db = Db::open_with("/db", small(&fs)).unwrap();
    let users = db.keyspace("users").unwrap();
    let orders = db.keyspace("orders").unwrap();
    users.put("ann", "1").unwrap();
    users.put("bob", "2").unwrap();
    users.put("cid", "3").unwrap();
    users.delete("bob").unwrap();
    orders.put("ann", "order").unwrap();
    db.put("ann", "default").unwrap();
    assert_eq!(users.get("ann").unwrap().unwrap(), b"1");
    assert_eq!(orders.get("ann").unwrap().unwrap(), b"order");
    assert_eq!(db.get("ann").unwrap().unwrap(), b"default");
    assert!(!users.contains_key("bob").unwrap());
    assert_eq!(orders.get("cid").unwrap(), None);
    let keys: Vec<_> = users.iter().map(|kv| kv.unwrap().0).collect();
    assert_eq!(keys, [b"ann".to_vec(), b"cid".to_vec()]);
    let back: Vec<_> = users.iter().rev().map(|kv| kv.unwrap().0).collect();
    assert_eq!(back, [b"cid".to_vec(), b"ann".to_vec()]);
    assert_eq!(users.prefix("c").count(), 1);
    assert_eq!(users.range("b".."z").count(), 1);
    assert_eq!(db.keyspaces(), ["default", "users", "orders"]);
    // The same name gives the same keyspace; a clone is the same handle.
    let again = db.keyspace("users").unwrap();
    assert_eq!(again.get("cid").unwrap().unwrap(), b"3");
    let clone = users.clone();
    std::thread::spawn(move || clone.put("dan", "4").unwrap())
        .join()
        .unwrap();
    assert_eq!(users.get("dan").unwrap().unwrap(), b"4");
    db.close().unwrap();
}

#[test]
fn keyspaces_survive_a_clean_close_and_a_replay_of_the_wal() {
    for flush_on_close in [true, false] {
        let fs = Arc::new(SimFs::new(2));
        let options = Options {
            flush_on_close,
            ..small(&fs)
        };
        let db = Db::open_with("/db", options.clone()).unwrap();
        let log = db.keyspace("log").unwrap();
        let mut want = Model::new();
        for i in 0..300u32 {
            let (k, v) = (
                format!("{i:05}"),
                format!("entry {i} {}", "x".repeat(i as usize % 50)),
            );
            log.put(&k, &v).unwrap();
            want.insert(k.into_bytes(), v.into_bytes());
        }
        log.delete("00007").unwrap();
        want.remove(b"00007".as_slice());
        db.put("default-key", "d").unwrap();
        db.close().unwrap();
        let db = Db::open_with("/db", options).unwrap();
        assert_eq!(db.keyspaces(), ["default", "log"]);
        let log = db.keyspace("log").unwrap();
        assert_eq!(
            contents(log.iter()),
            want,
            "flush_on_close {flush_on_close}"
        );
        assert_eq!(db.get("default-key").unwrap().unwrap(), b"d");
        assert_eq!(
            db.iter().count(),
            1,
            "the default keyspace holds only its own"
        );
        db.close().unwrap();
    }
}

#[test]
fn a_keyspace_flushes_and_compacts_with_its_own_options() {
    let fs = Arc::new(SimFs::new(3));
    let db = Db::open_with("/db", small(&fs)).unwrap();
    let options = KeyspaceOptions {
        memtable_size: 16 << 10,
        table_size: 4 << 10,
        block_size: 512,
        bloom_bits_per_key: 5,
        base_level_size: 16 << 10,
        level_multiplier: 4,
        compression: [Compression::Lz4; 7],
        compaction_filter: None,
    };
    let index = db.keyspace_with("index", options.clone()).unwrap();
    let mut want = Model::new();
    for i in 0..3000u32 {
        let k = format!("k{:05}", (i * 7919) % 2000);
        let v = format!("v{i}");
        index.put(&k, &v).unwrap();
        want.insert(k.into_bytes(), v.into_bytes());
    }
    db.flush().unwrap();
    db.wait_for_compactions().unwrap();
    assert!(tables(&fs) > 2, "the keyspace was flushed to tables");
    assert_eq!(contents(index.iter()), want);
    assert_eq!(db.iter().count(), 0);
    // Reopening with the stored options is fine, with others refused.
    assert!(db.keyspace_with("index", options.clone()).is_ok());
    let other = KeyspaceOptions {
        block_size: 4096,
        ..options.clone()
    };
    let err = db.keyspace_with("index", other).unwrap_err();
    assert!(
        matches!(err, Error::KeyspaceOptionsConflict { .. }),
        "{err}"
    );
    db.close().unwrap();
    let db = Db::open_with("/db", small(&fs)).unwrap();
    let index = db.keyspace("index").unwrap();
    assert_eq!(contents(index.iter()), want);
    assert!(
        db.keyspace_with("index", options).is_ok(),
        "stored options survive"
    );
}

#[test]
fn a_batch_across_keyspaces_is_atomic_and_a_snapshot_sees_one_instant() {
    let fs = Arc::new(SimFs::new(4));
    let db = Db::open_with("/db", small(&fs)).unwrap();
    let (log, state) = (db.keyspace("log").unwrap(), db.keyspace("state").unwrap());
    let mut batch = WriteBatch::new();
    batch
        .put_in(&log, "0001", "x=1")
        .put_in(&state, "x", "1")
        .put("applied", "0001");
    db.write(batch).unwrap();
    let snapshot = db.snapshot();
    let mut batch = WriteBatch::new();
    batch
        .put_in(&log, "0002", "x=2")
        .put_in(&state, "x", "2")
        .put("applied", "0002");
    db.write_with(batch, &WriteOptions::synced()).unwrap();
    assert_eq!(snapshot.get_in(&state, "x").unwrap().unwrap(), b"1");
    assert_eq!(snapshot.iter_in(&log).count(), 1);
    assert_eq!(snapshot.get("applied").unwrap().unwrap(), b"0001");
    assert_eq!(state.get("x").unwrap().unwrap(), b"2");
    assert_eq!(log.iter().count(), 2);
    db.close().unwrap();
}

#[test]
fn after_a_power_loss_every_cross_keyspace_batch_is_whole_or_absent() {
    for seed in 0..8u64 {
        let fs = Arc::new(SimFs::new(seed));
        let db = Db::open_with("/db", small(&fs)).unwrap();
        let (a, b) = (db.keyspace("a").unwrap(), db.keyspace("b").unwrap());
        let mut synced = 0;
        for i in 0..200u32 {
            let mut batch = WriteBatch::new();
            let value = format!("{i}-{}", "v".repeat((i % 40) as usize));
            batch
                .put_in(&a, format!("k{}", i % 37), &value)
                .put_in(&b, format!("k{}", i % 37), &value)
                .put("last", &value);
            let durability = if i % 10 == 0 {
                Durability::Synced
            } else {
                Durability::Os
            };
            let options = WriteOptions {
                durability: Some(durability),
                ..WriteOptions::default()
            };
            db.write_with(batch, &options).unwrap();
            if durability == Durability::Synced {
                synced = i;
            }
        }
        let after = Arc::new(fs.crash());
        drop(db);
        let db = Db::open_with("/db", small(&after)).unwrap();
        let (a, b) = (db.keyspace("a").unwrap(), db.keyspace("b").unwrap());
        assert_eq!(
            contents(a.iter()),
            contents(b.iter()),
            "seed {seed}: a batch was split"
        );
        let last = db.get("last").unwrap().unwrap();
        let n: u32 = String::from_utf8_lossy(&last)
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            n >= synced,
            "seed {seed}: lost synced batch {synced}, found {n}"
        );
        let key = format!("k{}", n % 37);
        assert_eq!(a.get(&key).unwrap().unwrap(), last, "seed {seed}");
    }
}

#[test]
fn a_dropped_keyspace_is_gone_with_its_files_and_its_handles_fail_cleanly() {
    let fs = Arc::new(SimFs::new(5));
    let db = Db::open_with("/db", small(&fs)).unwrap();
    let gone = db.keyspace("gone").unwrap();
    for i in 0..2000u32 {
        gone.put(format!("k{i:05}"), "v".repeat(20)).unwrap();
    }
    db.put("kept", "yes").unwrap();
    db.flush().unwrap();
    assert!(tables(&fs) > 0);
    let iter = gone.iter();
    db.drop_keyspace("gone").unwrap();
    assert_eq!(iter.count(), 2000, "an iterator made before keeps reading");
    assert!(matches!(
        gone.get("k00001"),
        Err(Error::KeyspaceDropped { .. })
    ));
    assert!(matches!(
        gone.put("k", "v"),
        Err(Error::KeyspaceDropped { .. })
    ));
    let mut batch = WriteBatch::new();
    batch.put_in(&gone, "k", "v");
    assert!(matches!(
        db.write(batch),
        Err(Error::KeyspaceDropped { .. })
    ));
    assert!(gone.iter().next().unwrap().is_err());
    assert_eq!(db.keyspaces(), ["default"]);
    db.flush().unwrap();
    assert_eq!(tables(&fs), 1, "only the default keyspace's table is left");
    db.close().unwrap();
    let db = Db::open_with("/db", small(&fs)).unwrap();
    assert_eq!(db.keyspaces(), ["default"]);
    let fresh = db.keyspace("gone").unwrap();
    assert_eq!(
        fresh.iter().count(),
        0,
        "a new keyspace of the same name is empty"
    );
    assert_eq!(db.get("kept").unwrap().unwrap(), b"yes");
}

#[test]
fn bad_names_and_the_default_keyspace_are_refused_with_clear_errors() {
    let fs = Arc::new(SimFs::new(6));
    let db = Db::open_with("/db", small(&fs)).unwrap();
    for name in ["", "default", &"x".repeat(256)] {
        let err = db.keyspace(name).unwrap_err();
        assert!(
            matches!(err, Error::InvalidKeyspaceName { .. }),
            "{name:?}: {err}"
        );
    }
    assert!(db.keyspace(&"x".repeat(255)).is_ok());
    let err = db.drop_keyspace("default").unwrap_err();
    assert!(err.to_string().contains("cannot be dropped"), "{err}");
    let err = db.drop_keyspace("nothing").unwrap_err();
    assert!(err.to_string().contains("names no keyspace"), "{err}");
    let bad = KeyspaceOptions {
        level_multiplier: 1,
        ..KeyspaceOptions::from(db.options())
    };
    let err = db.keyspace_with("k", bad).unwrap_err();
    assert!(err.to_string().contains("level_multiplier"), "{err}");
    assert_eq!(db.keyspaces().len(), 2);
}

#[test]
fn a_rarely_written_keyspace_does_not_pin_the_wal() {
    let fs = Arc::new(SimFs::new(7));
    let db = Db::open_with("/db", small(&fs)).unwrap();
    let rare = db.keyspace("rare").unwrap();
    rare.put("once", "1").unwrap();
    rare_flush(&db);
    for i in 0..4000u32 {
        db.put(format!("k{i:05}"), "v".repeat(40)).unwrap();
    }
    db.flush().unwrap();
    let wal = db.stats().wal_bytes;
    assert!(
        wal < 256 << 10,
        "the WAL holds {wal} bytes: old segments were pinned"
    );
    assert_eq!(rare.get("once").unwrap().unwrap(), b"1");
    db.close().unwrap();
    let db = Db::open_with("/db", small(&fs)).unwrap();
    assert_eq!(
        db.keyspace("rare").unwrap().get("once").unwrap().unwrap(),
        b"1"
    );
}

fn rare_flush(db: &Db) {
    db.flush().unwrap();
}

#[test]
fn many_keyspaces_share_one_write_buffer_budget() {
    let fs = Arc::new(SimFs::new(8));
    let db = Db::open_with("/db", small(&fs)).unwrap();
    let keyspaces: Vec<_> = (0..16)
        .map(|i| db.keyspace(&format!("ks{i:02}")).unwrap())
        .collect();
    // 16 x 12 KiB: each keyspace far below its own 32 KiB memtable, together 6 times
    // the database's 32 KiB budget.
    let mut peak = 0;
    for round in 0..120u32 {
        for ks in &keyspaces {
            ks.put(format!("r{round:04}"), "v".repeat(100)).unwrap();
        }
        peak = peak.max(db.stats().memtable_bytes);
    }
    // Without the budget the memtables would hold all ~290 KiB written; with it the
    // active ones stay near 32 KiB, plus the frozen ones waiting for their flush.
    assert!(peak < 128 << 10, "memtables peaked at {peak} bytes");
    db.wait_for_compactions().unwrap();
    assert!(
        tables(&fs) >= 4,
        "the budget froze memtables: {} tables",
        tables(&fs)
    );
    for ks in &keyspaces {
        assert_eq!(ks.iter().count(), 120);
    }
}

#[test]
fn past_max_total_wal_size_the_keyspace_holding_the_oldest_segment_is_flushed() {
    let fs = Arc::new(SimFs::new(9));
    let options = Options {
        max_total_wal_size: Some(192 << 10),
        ..small(&fs)
    };
    let db = Db::open_with("/db", options.clone()).unwrap();
    let slow = db.keyspace("slow").unwrap();
    // One write, never flushed by its own memtable (32 KiB): without the limit its
    // log number would keep every segment written after it.
    slow.put("first", "1").unwrap();
    let mut peak = 0;
    for i in 0..12000u32 {
        db.put(format!("k{i:05}"), "v".repeat(60)).unwrap();
        if i % 500 == 0 {
            db.wait_for_compactions().unwrap();
            peak = peak.max(db.stats().wal_bytes);
        }
    }
    assert!(peak < 512 << 10, "the WAL grew to {peak} bytes");
    assert_eq!(slow.get("first").unwrap().unwrap(), b"1");
    db.close().unwrap();
    let db = Db::open_with("/db", options).unwrap();
    assert_eq!(
        db.keyspace("slow").unwrap().get("first").unwrap().unwrap(),
        b"1"
    );
    assert!(
        Options {
            max_total_wal_size: Some(0),
            ..small(&fs)
        }
        .validate()
        .is_err()
    );
}
