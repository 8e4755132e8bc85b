#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Values written with a time to live: they read as absent from their expiry on, in
//! every kind of read and wherever they are stored (memtable, tables, after a reopen),
//! hide the older values of their key as a delete would, and compactions remove them.
//! The clock is a `ManualClock`: no test sleeps.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use quickcache::fs::{FileSystem, SimFs};
use quickcache::{Db, ManualClock, Options, Timestamp, WriteBatch, WriteOptions};

const SECOND: Duration = Duration::from_secs(1);

fn setup() -> (Arc<SimFs>, Arc<ManualClock>, Options) {
    let fs = Arc::new(SimFs::new(7));
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_000_000)));
    let options = Options {
        fs: fs.clone(),
        clock: clock.clone(),
        flush_interval: None,
        ..Options::default()
    };
    (fs, clock, options)
}

fn keys(
    iter: impl Iterator<Item = quickcache::Result<(Vec<u8>, quickcache::Value)>>,
) -> Vec<Vec<u8>> {
    iter.map(|kv| kv.unwrap().0).collect()
}

/// Entries in the tables of the default keyspace, all levels.
fn table_entries(db: &Db) -> u64 {
    let levels = db.stats().levels;
    levels
        .iter()
        .flat_map(|l| &l.tables)
        .map(|t| t.entries)
        .sum()
}

/// Every read of `key` agrees that it holds `want`: get, contains_key, both scan
/// directions, and a snapshot taken now.
fn reads(db: &Db, key: &str, want: Option<&str>) {
    let got = db.get(key).unwrap().map(|v| v.to_vec());
    assert_eq!(got.as_deref(), want.map(str::as_bytes), "get {key}");
    assert_eq!(
        db.contains_key(key).unwrap(),
        want.is_some(),
        "contains {key}"
    );
    let forward = keys(db.iter()).iter().any(|k| k == key.as_bytes());
    assert_eq!(forward, want.is_some(), "forward scan {key}");
    let backward = keys(db.range(..).rev()).iter().any(|k| k == key.as_bytes());
    assert_eq!(backward, want.is_some(), "backward scan {key}");
    let snap = db.snapshot();
    let got = snap.get(key).unwrap().map(|v| v.to_vec());
    assert_eq!(got.as_deref(), want.map(str::as_bytes), "snapshot {key}");
}

/// Where a value lives while it expires: the memtable, a table in L0, the bottom
/// level. It reads in all of them until its expiry and as absent from then on.
#[test]
fn a_value_expires_at_its_instant_wherever_it_is_stored() {
    for stage in ["memtable", "flushed", "compacted"] {
        let (_fs, clock, options) = setup();
        let db = Db::open_with("/db", options).unwrap();
        db.put_with_ttl("session", "s1", 10 * SECOND).unwrap();
        db.put("user", "ann").unwrap();
        match stage {
            "flushed" => db.flush().unwrap(),
            "compacted" => db.compact_range(..).unwrap(),
            _ => {}
        }
        reads(&db, "session", Some("s1"));
        clock.advance(10 * SECOND - Duration::from_millis(1));
        reads(&db, "session", Some("s1"));
        clock.advance(Duration::from_millis(1));
        reads(&db, "session", None);
        reads(&db, "user", Some("ann"));
    }
}

#[test]
fn an_expired_value_hides_the_older_values_of_its_key() {
    let (_fs, clock, options) = setup();
    let db = Db::open_with("/db", options).unwrap();
    db.put("k", "old").unwrap();
    db.flush().unwrap();
    let before = db.snapshot();
    db.put_with_ttl("k", "new", SECOND).unwrap();
    let after = db.snapshot();
    clock.advance(SECOND);
    // Expired: as if deleted at its expiry. The snapshot from before the write still
    // sees the old value, the one from after sees the key expired.
    reads(&db, "k", None);
    assert_eq!(before.get("k").unwrap().unwrap(), b"old");
    assert!(after.get("k").unwrap().is_none());
    for _ in 0..2 {
        db.compact_range(..).unwrap();
        reads(&db, "k", None);
        assert_eq!(before.get("k").unwrap().unwrap(), b"old");
        assert_eq!(keys(before.iter()), [b"k".to_vec()]);
        assert!(after.get("k").unwrap().is_none());
    }
    drop((before, after));
    db.compact_range(..).unwrap();
    reads(&db, "k", None);
    assert_eq!(table_entries(&db), 0, "both versions compacted away");
}

#[test]
fn compaction_removes_expired_values_and_keeps_live_ones() {
    let (_fs, clock, options) = setup();
    let db = Db::open_with("/db", options).unwrap();
    for i in 0..100 {
        let ttl = if i % 2 == 0 { SECOND } else { 100 * SECOND };
        db.put_with_ttl(format!("k{i:03}"), "v", ttl).unwrap();
    }
    db.compact_range(..).unwrap();
    assert_eq!(table_entries(&db), 100);
    clock.advance(SECOND);
    assert_eq!(db.iter().count(), 50);
    db.compact_range(..).unwrap();
    assert_eq!(table_entries(&db), 50, "the expired half is gone");
    assert_eq!(db.stats().compaction.expired, 50);
    assert_eq!(db.iter().rev().count(), 50);
    clock.advance(100 * SECOND);
    db.compact_range(..).unwrap();
    assert_eq!(table_entries(&db), 0);
}

#[test]
fn expiry_survives_wal_replay_and_flushes_at_close() {
    for flush_on_close in [false, true] {
        let (_fs, clock, options) = setup();
        let options = Options {
            flush_on_close,
            ..options
        };
        let db = Db::open_with("/db", options.clone()).unwrap();
        db.put_with_ttl("a", "1", 5 * SECOND).unwrap();
        let mut batch = WriteBatch::new();
        batch.put_with_ttl("b", "2", 20 * SECOND).put("c", "3");
        db.write(batch).unwrap();
        db.close().unwrap();
        let db = Db::open_with("/db", options).unwrap();
        assert_eq!(
            keys(db.iter()),
            [b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        clock.advance(5 * SECOND);
        assert_eq!(keys(db.iter()), [b"b".to_vec(), b"c".to_vec()]);
        clock.advance(15 * SECOND);
        reads(&db, "b", None);
        reads(&db, "c", Some("3"));
    }
}

#[test]
fn write_options_carry_a_ttl_for_single_puts_only() {
    let (_fs, clock, options) = setup();
    let db = Db::open_with("/db", options).unwrap();
    let ks = db.keyspace("sessions").unwrap();
    let ttl = WriteOptions {
        ttl: Some(SECOND),
        ..WriteOptions::default()
    };
    db.put_with("a", "1", &ttl).unwrap();
    ks.put_with("a", "1", &ttl).unwrap();
    ks.put_with_ttl("b", "2", 2 * SECOND).unwrap();
    let mut batch = WriteBatch::new();
    batch.put_in_with_ttl(&ks, "c", "3", 3 * SECOND);
    db.write(batch).unwrap();
    assert!(
        db.delete_with("a", &ttl)
            .unwrap_err()
            .to_string()
            .contains("ttl")
    );
    assert!(ks.delete_with("a", &ttl).is_err());
    assert!(db.write_with(WriteBatch::new(), &ttl).is_err());
    assert_eq!(ks.iter().count(), 3);
    clock.advance(SECOND);
    assert!(db.get("a").unwrap().is_none());
    assert_eq!(keys(ks.iter()), [b"b".to_vec(), b"c".to_vec()]);
    clock.advance(SECOND);
    ks.compact_range(..).unwrap();
    assert_eq!(keys(ks.range(..).rev()), [b"c".to_vec()]);
    clock.advance(SECOND);
    assert!(ks.iter().next().is_none());
}

/// A time to live starts when the batch is written, not when it is built.
#[test]
fn a_batch_ttl_counts_from_the_write() {
    let (_fs, clock, options) = setup();
    let db = Db::open_with("/db", options).unwrap();
    let mut batch = WriteBatch::new();
    batch.put_with_ttl("k", "v", 10 * SECOND);
    clock.advance(60 * SECOND);
    db.write(batch).unwrap();
    clock.advance(9 * SECOND);
    reads(&db, "k", Some("v"));
    clock.advance(SECOND);
    reads(&db, "k", None);
}

/// Flipping any byte of a table's data blocks that hold expiring values gives a
/// corruption error or the right answer, never a wrong value and never a key that
/// expired (or one that has not) read the other way.
#[test]
fn a_flipped_byte_in_an_expiring_entry_is_corruption_not_a_wrong_answer() {
    let (fs, clock, options) = setup();
    let options = Options {
        bloom_bits_per_key: 0,
        ..options
    };
    let db = Db::open_with("/db", options.clone()).unwrap();
    for i in 0..20 {
        let ttl = if i % 2 == 0 { SECOND } else { 100 * SECOND };
        db.put_with_ttl(format!("k{i:02}"), format!("value {i}"), ttl)
            .unwrap();
    }
    db.flush().unwrap();
    db.close().unwrap();
    clock.advance(SECOND);
    let table = table_path(&fs);
    let bytes = fs.read_file(&table).unwrap();
    let want = |i: usize| (i % 2 == 1).then(|| format!("value {i}").into_bytes());
    let mut caught = 0;
    // The data block comes first; its entries hold the expiries.
    for at in 0..bytes.len().min(400) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        write(&fs, &table, &damaged);
        let Ok(db) = Db::open_with("/db", options.clone()) else {
            caught += 1;
            continue;
        };
        for i in 0..20 {
            match db.get(format!("k{i:02}")) {
                Ok(got) => assert_eq!(got.map(|v| v.to_vec()), want(i), "byte {at}, key {i}"),
                Err(e) => {
                    assert!(e.is_corruption(), "byte {at}: {e}");
                    caught += 1;
                }
            }
        }
        drop(db);
    }
    write(&fs, &table, &bytes);
    assert!(caught > 0, "some flips were caught");
}

fn table_path(fs: &SimFs) -> std::path::PathBuf {
    let names = fs.list(Path::new("/db")).unwrap();
    let name = names.iter().find(|n| n.ends_with(".sst")).unwrap();
    Path::new("/db").join(name)
}

fn write(fs: &SimFs, path: &Path, bytes: &[u8]) {
    let _ = fs.remove(path);
    let mut file = fs.create(path).unwrap();
    file.append(bytes).unwrap();
    file.sync_all().unwrap();
}

/// A transaction's puts with a time to live expire counting from the commit; a later
/// plain put of the same key in the transaction drops the time to live.
#[test]
fn a_transaction_put_expires_from_its_commit() {
    let (_fs, clock, options) = setup();
    let db = Db::open_with("/db", options).unwrap();
    let ks = db.keyspace("locks").unwrap();
    let mut tx = db.transaction();
    tx.put_with_ttl("a", "1", SECOND)
        .put_in_with_ttl(&ks, "b", "2", 2 * SECOND)
        .put_with_ttl("c", "3", SECOND)
        .put("c", "plain");
    assert_eq!(tx.get("a").unwrap().unwrap(), b"1");
    clock.advance(10 * SECOND);
    tx.commit().unwrap();
    reads(&db, "a", Some("1"));
    clock.advance(SECOND);
    reads(&db, "a", None);
    reads(&db, "c", Some("plain"));
    assert_eq!(ks.get("b").unwrap().unwrap(), b"2");
    clock.advance(SECOND);
    assert!(ks.get("b").unwrap().is_none());
}
