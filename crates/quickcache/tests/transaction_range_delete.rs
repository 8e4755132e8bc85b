#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! `Transaction::delete_range`: the transaction's reads see the range deleted and
//! its later writes over it, the commit applies both in one batch, and the range
//! conflicts with writes by others into it after the transaction began (and only
//! those), in the default keyspace and a named one.

use std::time::Duration;

use quickcache::{Db, Options};

fn open() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    (dir, db)
}

fn keys(
    iter: impl Iterator<Item = quickcache::Result<(Vec<u8>, quickcache::Value)>>,
) -> Vec<String> {
    iter.map(|kv| String::from_utf8(kv.unwrap().0).unwrap())
        .collect()
}

fn fill(db: &Db) {
    for k in ["a", "b", "c", "d", "e", "f"] {
        db.put(k, k).unwrap();
    }
}

#[test]
fn reads_see_the_range_deleted_and_later_writes_over_it_in_both_directions() {
    let (_dir, db) = open();
    fill(&db);
    db.flush().unwrap(); // some of the snapshot in a table, some in the memtable
    db.put("cc", "cc").unwrap();
    let mut tx = db.transaction();
    tx.put("bb", "mine").put("d", "D"); // earlier writes inside the range: deleted
    tx.delete_range("b"..="d");
    tx.put("c", "again"); // a later write: kept
    assert_eq!(tx.get("b").unwrap(), None);
    assert_eq!(tx.get("bb").unwrap(), None);
    assert_eq!(tx.get("cc").unwrap(), None);
    assert_eq!(tx.get("d").unwrap(), None);
    assert_eq!(tx.get("c").unwrap().unwrap(), b"again");
    assert_eq!(tx.get("e").unwrap().unwrap(), b"e"); // the end is included, not past it
    assert_eq!(keys(tx.iter()), ["a", "c", "e", "f"]);
    assert_eq!(keys(tx.iter().rev()), ["f", "e", "c", "a"]);
    assert_eq!(keys(tx.range("b".."e")), ["c"]);
    assert_eq!(keys(tx.prefix("c").rev()), ["c"]);
    let before = db.snapshot();
    tx.commit().unwrap();
    assert_eq!(keys(db.iter()), ["a", "c", "e", "f"]);
    assert_eq!(db.get("c").unwrap().unwrap(), b"again");
    assert_eq!(keys(before.iter()).len(), 7); // one batch: all or nothing
    db.flush().unwrap();
    db.compact_range(..).unwrap();
    assert_eq!(keys(db.iter().rev()), ["f", "e", "c", "a"]);
}

#[test]
fn a_range_delete_drops_an_earlier_time_to_live_and_an_empty_range_does_nothing() {
    let (_dir, db) = open();
    let mut tx = db.transaction();
    tx.put_with_ttl("k", "short", Duration::from_secs(1));
    tx.delete_range("k"..="k");
    tx.delete_range("z".."a"); // empty: nothing
    assert_eq!(tx.get("k").unwrap(), None);
    tx.put("k", "forever");
    tx.commit().unwrap();
    assert_eq!(db.get("k").unwrap().unwrap(), b"forever");
    let mut tx = db.transaction();
    tx.delete_range("z".."a");
    tx.commit().unwrap();
    assert_eq!(db.get("k").unwrap().unwrap(), b"forever");
}

#[test]
fn an_unbounded_end_fails_the_commit_writing_nothing() {
    let (_dir, db) = open();
    fill(&db);
    let mut tx = db.transaction();
    tx.put("z", "z").delete_range("b"..);
    let err = tx.commit().unwrap_err();
    assert!(!err.is_conflict(), "{err}");
    assert_eq!(keys(db.iter()).len(), 6);
    assert_eq!(db.get("z").unwrap(), None);
}

#[test]
fn a_write_into_the_range_after_the_start_conflicts() {
    let (_dir, db) = open();
    fill(&db);
    // A put of a new key, a put over an old key, a delete, and an overlapping range
    // delete: each is a write into the range.
    let writes: [&dyn Fn(&Db); 4] = [
        &|db| db.put("bb", "new").unwrap(),
        &|db| db.put("c", "new").unwrap(),
        &|db| db.delete("d").unwrap(),
        &|db| db.delete_range("a".."b0").unwrap(),
    ];
    for write in writes {
        let mut tx = db.transaction();
        tx.delete_range("b".."e");
        write(&db);
        let err = tx.commit().unwrap_err();
        assert!(err.is_conflict(), "{err}");
    }
    assert_eq!(db.get("c").unwrap().unwrap(), b"new"); // the loser wrote nothing
}

#[test]
fn writes_outside_the_range_or_before_the_start_do_not_conflict() {
    let (_dir, db) = open();
    fill(&db);
    db.put("c", "before").unwrap();
    let mut tx = db.transaction();
    tx.delete_range("b".."e");
    db.put("a", "A").unwrap(); // below
    db.put("e", "E").unwrap(); // the excluded end
    db.delete_range("e".."g").unwrap(); // a range that only touches the end
    db.keyspace("other").unwrap().put("c", "x").unwrap(); // another keyspace
    tx.commit().unwrap();
    assert_eq!(keys(db.iter()), ["a"]);
}

#[test]
fn another_transaction_reading_inside_a_committed_range_delete_conflicts() {
    let (_dir, db) = open();
    fill(&db);
    let mut reader = db.transaction();
    assert_eq!(reader.get("c").unwrap().unwrap(), b"c");
    reader.put("log", "saw c");
    let mut scanner = db.transaction();
    assert_eq!(keys(scanner.range("e"..)), ["e", "f"]);
    scanner.put("total", "2"); // outside the range too
    let mut tx = db.transaction();
    tx.delete_range("b".."d");
    tx.commit().unwrap();
    assert!(reader.commit().unwrap_err().is_conflict());
    scanner.commit().unwrap(); // it scanned outside the range
}

#[test]
fn in_a_keyspace_the_range_is_deleted_there_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), Options::default()).unwrap();
    let log = db.keyspace("log").unwrap();
    for i in 0..10 {
        log.put(format!("{i:02}"), "entry").unwrap();
        db.put(format!("{i:02}"), "default").unwrap();
    }
    let mut tx = db.transaction();
    tx.delete_range_in(&log, "02".."08");
    tx.put_in(&log, "05", "kept");
    assert_eq!(tx.get_in(&log, "03").unwrap(), None);
    assert_eq!(tx.get("03").unwrap().unwrap(), b"default");
    let got = keys(tx.range_in(&log, "00".."99").rev());
    assert_eq!(got, ["09", "08", "05", "01", "00"]);
    tx.commit().unwrap();
    assert_eq!(keys(log.iter()), ["00", "01", "05", "08", "09"]);
    assert_eq!(keys(db.iter()).len(), 10);

    let mut tx = db.transaction();
    tx.delete_range_in(&log, ..);
    log.put("07", "new").unwrap();
    let err = tx.commit().unwrap_err(); // unbounded: refused before validation
    assert!(!err.is_conflict(), "{err}");
    let mut tx = db.transaction();
    tx.delete_range_in(&log, .."99");
    log.put("07", "newer").unwrap();
    let err = tx.commit().unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(err.to_string().contains("log"), "{err}");
}
