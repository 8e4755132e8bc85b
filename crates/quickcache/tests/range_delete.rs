#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Range deletes through the public API: gets, both iteration directions and snapshots
//! honour them exactly, in the memtable, in tables and across a reopen; compaction
//! drops what they cover, and the tombstones themselves at the bottom.

use std::path::Path;

use quickcache::{Db, Options, WriteBatch};
use quickcache_sstable::Table;

fn options() -> Options {
    Options {
        flush_interval: None,
        ..Options::default()
    }
}

fn key(i: u32) -> String {
    format!("k{i:05}")
}

fn keys(iter: quickcache::Iter) -> Vec<String> {
    iter.map(|kv| String::from_utf8(kv.unwrap().0).unwrap())
        .collect()
}

fn keys_rev(iter: quickcache::Iter) -> Vec<String> {
    let mut out: Vec<String> = iter
        .rev()
        .map(|kv| String::from_utf8(kv.unwrap().0).unwrap())
        .collect();
    out.reverse();
    out
}

/// Every table file under `dir`: (point entries, range tombstones).
fn table_contents(dir: &Path) -> (u64, usize) {
    let mut totals = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let (e, r) = table_contents(&path);
            totals = (totals.0 + e, totals.1 + r);
        } else if path.extension().is_some_and(|e| e == "sst") {
            let table = Table::open_file(&path).unwrap();
            totals.0 += table.properties().entry_count;
            totals.1 += table.range_tombstones().len();
        }
    }
    totals
}

/// The keys `0..n` minus `dead`, as the model says.
fn expected(n: u32, dead: impl Fn(u32) -> bool) -> Vec<String> {
    (0..n).filter(|&i| !dead(i)).map(key).collect()
}

/// Checks gets, forward and backward scans against `want` (keys `0..n`).
fn check(db: &Db, n: u32, dead: impl Fn(u32) -> bool + Copy, when: &str) {
    let want = expected(n, dead);
    assert_eq!(keys(db.iter()), want, "{when}: forward");
    assert_eq!(keys_rev(db.iter()), want, "{when}: backward");
    for i in 0..n {
        assert_eq!(
            db.get(key(i)).unwrap().is_some(),
            !dead(i),
            "{when}: get {i}"
        );
    }
}

#[test]
fn range_deletes_read_exactly_in_memtables_tables_and_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), options()).unwrap();
    for i in 0..200 {
        db.put(key(i), "v1").unwrap();
    }
    db.flush().unwrap(); // the entries in a table, the tombstone in the memtable
    let before = db.snapshot();
    db.delete_range(key(50)..key(150)).unwrap();
    db.put(key(100), "v2").unwrap(); // newer than the tombstone: alive
    let dead = |i: u32| (50..150).contains(&i) && i != 100;
    check(&db, 200, dead, "memtable tombstone");
    assert_eq!(
        before.iter().count(),
        200,
        "the older snapshot sees everything"
    );
    assert!(before.get(key(60)).unwrap().is_some());
    db.flush().unwrap(); // the tombstone in an L0 table too
    check(&db, 200, dead, "table tombstone");
    assert_eq!(before.iter().count(), 200);
    drop(before);
    drop(db);
    let db = Db::open_with(dir.path(), options()).unwrap();
    check(&db, 200, dead, "after reopen");
    // A range given with other bounds: ..=k00010 and an excluded start.
    db.delete_range(..=key(10)).unwrap();
    let mut batch = WriteBatch::new();
    batch.delete_range((
        std::ops::Bound::Excluded(key(189)),
        std::ops::Bound::Excluded(key(195)),
    ));
    db.write(batch).unwrap();
    let dead2 = |i: u32| dead(i) || i <= 10 || (190..195).contains(&i);
    check(&db, 200, dead2, "more tombstones");
}

#[test]
fn compaction_drops_covered_entries_then_the_tombstone_at_the_bottom() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), options()).unwrap();
    for i in 0..1000 {
        db.put(key(i), [7u8; 100]).unwrap();
    }
    db.compact_range(..).unwrap();
    let snapshot = db.snapshot();
    db.delete_range(key(100)..key(900)).unwrap();
    db.compact_range(..).unwrap();
    // The snapshot predates the tombstone: the entries stay for it.
    assert_eq!(snapshot.iter().count(), 1000);
    check(&db, 1000, |i| (100..900).contains(&i), "under a snapshot");
    assert_eq!(
        table_contents(dir.path()).0,
        1000,
        "the snapshot keeps the entries"
    );
    drop(snapshot);
    db.compact_range(..).unwrap();
    check(&db, 1000, |i| (100..900).contains(&i), "compacted");
    let (entries, tombstones) = table_contents(dir.path());
    assert_eq!(entries, 200, "covered entries are gone");
    assert_eq!(tombstones, 0, "the tombstone is gone at the bottom");
    assert_eq!(db.range(key(100)..key(900)).count(), 0);
}

#[test]
fn a_tombstone_above_older_data_survives_compaction_of_its_level() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), options()).unwrap();
    for i in 0..100 {
        db.put(key(i), "old").unwrap();
    }
    db.compact_range(..).unwrap();
    let snapshot = db.snapshot();
    db.delete_range(key(20)..key(40)).unwrap();
    db.flush().unwrap();
    db.compact_range(..).unwrap();
    let (_, tombstones) = table_contents(dir.path());
    assert!(tombstones > 0, "the snapshot still needs what lies below");
    check(&db, 100, |i| (20..40).contains(&i), "tombstone kept");
    assert_eq!(snapshot.range(key(20)..key(40)).count(), 20);
}

#[test]
fn an_unbounded_end_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), options()).unwrap();
    db.put("a", "1").unwrap();
    assert!(db.delete_range("a"..).is_err());
    assert!(db.delete_range(..).is_err());
    let mut batch = WriteBatch::new();
    batch.put("b", "2").delete_range(..);
    assert!(db.write(batch).is_err());
    assert_eq!(keys(db.iter()), ["a"]);
    db.delete_range("b".."a").unwrap(); // empty: nothing
    assert_eq!(keys(db.iter()), ["a"]);
}

#[test]
fn keyspaces_delete_ranges_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), options()).unwrap();
    let log = db.keyspace("log").unwrap();
    for i in 0..50 {
        db.put(key(i), "d").unwrap();
        log.put(key(i), "l").unwrap();
    }
    let mut batch = WriteBatch::new();
    batch.delete_range_in(&log, key(0)..key(25));
    db.write(batch).unwrap();
    assert_eq!(log.iter().count(), 25);
    assert_eq!(db.iter().count(), 50);
    log.flush().unwrap();
    log.compact_range(..).unwrap();
    assert_eq!(log.iter().rev().count(), 25);
    assert!(log.get(key(3)).unwrap().is_none());
    assert!(db.get(key(3)).unwrap().is_some());
}

#[test]
fn a_range_delete_conflicts_with_transactions_that_read_or_scan_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), options()).unwrap();
    for i in 0..10 {
        db.put(key(i), "v").unwrap();
    }
    let mut reader = db.transaction();
    assert!(reader.get(key(5)).unwrap().is_some());
    reader.put("elsewhere", "x");
    let mut scanner = db.transaction();
    assert_eq!(scanner.range(key(7)..key(9)).count(), 2);
    scanner.put("elsewhere2", "x");
    let mut outside = db.transaction();
    assert!(outside.get(key(0)).unwrap().is_some());
    outside.put("elsewhere3", "x");
    db.delete_range(key(4)..key(8)).unwrap();
    let err = reader.commit().unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let err = scanner.commit().unwrap_err();
    assert!(err.is_conflict(), "{err}");
    outside.commit().unwrap();
}

/// A put with a time to live written after a range delete over its key reads, from
/// the memtable, from a table and after compaction: the memtable's lookup once let the
/// range tombstone hide every expiring value, newer or not (found by the model test).
#[test]
fn an_expiring_put_after_a_range_delete_reads() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.put(key(5), "old").unwrap();
    db.delete_range(key(0)..key(10)).unwrap();
    let day = std::time::Duration::from_secs(24 * 3600);
    db.put_with_ttl(key(5), "new", day).unwrap();
    let check = |when: &str| {
        assert_eq!(db.get(key(5)).unwrap().unwrap(), b"new", "{when}");
        assert_eq!(keys(db.range(key(0)..key(10))), [key(5)], "{when}");
        assert_eq!(keys_rev(db.range(key(0)..key(10))), [key(5)], "{when}");
    };
    check("in the memtable");
    db.flush().unwrap();
    check("in a table");
    db.compact_range(..).unwrap();
    check("after compaction");
}
