#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! Transactions, one thread at a time: own writes seen by reads and scans in both
//! directions, conflicts on reads, writes and scanned ranges (phantoms) from plain
//! writes and other transactions, write skew, rollback, and bad input.

use quickcache::{Db, Options, Transaction, WriteOptions};

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

#[test]
fn reads_see_the_snapshot_overlaid_with_own_writes_in_both_directions() {
    let (_dir, db) = open();
    for k in ["a", "c", "e", "g"] {
        db.put(k, k).unwrap();
    }
    let mut tx = db.transaction();
    tx.put("b", "B")
        .put("c", "C")
        .delete("e")
        .put("h", "H")
        .delete("zz");
    db.put("d", "later").unwrap(); // after the snapshot: unseen
    assert_eq!(keys(tx.iter()), ["a", "b", "c", "g", "h"]);
    assert_eq!(keys(tx.iter().rev()), ["h", "g", "c", "b", "a"]);
    assert_eq!(keys(tx.range("b".."g")), ["b", "c"]);
    assert_eq!(keys(tx.range("b"..="g").rev()), ["g", "c", "b"]);
    assert_eq!(tx.get("c").unwrap().unwrap(), b"C");
    assert_eq!(tx.get("e").unwrap(), None);
    assert_eq!(tx.get("d").unwrap(), None);
    // Both ends of one iterator meet without repeating a key.
    let mut both = tx.iter();
    let mut seen = Vec::new();
    loop {
        let Some(front) = both.next() else { break };
        seen.push(front.unwrap().0);
        let Some(back) = both.next_back() else { break };
        seen.push(back.unwrap().0);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            b"a".to_vec(),
            b"b".to_vec(),
            b"c".to_vec(),
            b"g".to_vec(),
            b"h".to_vec()
        ]
    );
    let values: Vec<_> = tx.prefix("c").map(|kv| kv.unwrap().1.to_vec()).collect();
    assert_eq!(values, [b"C".to_vec()]);
    // It scanned the range "d" was written into: a phantom.
    assert!(tx.commit().unwrap_err().is_conflict());
    assert_eq!(keys(db.iter()), ["a", "c", "d", "e", "g"]);
}

#[test]
fn empty_and_reversed_ranges_hold_nothing_and_do_not_panic() {
    let (_dir, db) = open();
    db.put("m", "1").unwrap();
    let mut tx = db.transaction();
    tx.put("m", "2");
    assert_eq!(tx.range("z".."a").count(), 0);
    assert_eq!(tx.range("m".."m").count(), 0);
    use std::ops::Bound::Excluded;
    assert_eq!(tx.range((Excluded("m"), Excluded("m"))).count(), 0);
    db.put("m", "3").unwrap();
    // The key itself was written: a conflict, whatever the empty ranges.
    assert!(tx.commit().unwrap_err().is_conflict());
}

#[test]
fn a_plain_write_to_a_key_read_is_a_conflict_naming_the_key() {
    let (_dir, db) = open();
    db.put("balance", "10").unwrap();
    let mut tx = db.transaction();
    assert_eq!(tx.get("balance").unwrap().unwrap(), b"10");
    tx.put("balance", "11");
    db.put("balance", "20").unwrap();
    let err = tx.commit().unwrap_err();
    assert!(err.is_conflict());
    assert!(err.to_string().contains("\"balance\""), "{err}");
    assert_eq!(db.get("balance").unwrap().unwrap(), b"20");
}

#[test]
fn a_write_to_a_key_only_written_is_a_conflict_too() {
    let (_dir, db) = open();
    let mut tx = db.transaction();
    tx.put("k", "tx");
    db.put("k", "plain").unwrap();
    assert!(tx.commit().unwrap_err().is_conflict());
    assert_eq!(db.get("k").unwrap().unwrap(), b"plain");
}

#[test]
fn writes_to_other_keys_do_not_conflict() {
    let (_dir, db) = open();
    let mut tx = db.transaction();
    tx.get("a").unwrap();
    let _ = tx.range("m".."p").count();
    tx.put("a", "1");
    db.put("b", "x").unwrap();
    db.put("p", "x").unwrap(); // just past the range's end
    tx.commit().unwrap();
}

#[test]
fn a_key_inserted_into_a_scanned_range_is_a_phantom_conflict() {
    let (_dir, db) = open();
    db.put("job:1", "x").unwrap();
    let mut tx = db.transaction();
    assert_eq!(tx.prefix("job:").count(), 1);
    tx.put("job-count", "1");
    db.put("job:2", "y").unwrap();
    let err = tx.commit().unwrap_err();
    assert!(err.is_conflict());
    assert!(err.to_string().contains("job:2"), "{err}");
}

#[test]
fn a_key_deleted_from_a_scanned_range_is_a_phantom_conflict() {
    let (_dir, db) = open();
    db.put("job:1", "x").unwrap();
    let mut tx = db.transaction();
    assert_eq!(tx.range("job:".."job;").rev().count(), 1);
    tx.put("summary", "1 job");
    db.delete("job:1").unwrap();
    assert!(tx.commit().unwrap_err().is_conflict());
}

#[test]
fn the_first_committer_wins_and_the_loser_writes_nothing() {
    let (_dir, db) = open();
    let mut first = db.transaction();
    let mut second = db.transaction();
    first.get("k").unwrap();
    second.get("k").unwrap();
    first.put("k", "1").put("a", "1");
    second.put("k", "2").put("b", "2");
    first.commit().unwrap();
    assert!(second.commit().unwrap_err().is_conflict());
    assert_eq!(db.get("k").unwrap().unwrap(), b"1");
    assert_eq!(db.get("b").unwrap(), None);
}

/// Two doctors on call; each goes off call if the other is still on. Under snapshot
/// isolation both succeed and nobody is on call; serializable: one conflicts.
#[test]
fn write_skew_of_two_doctors_going_off_call_is_prevented() {
    let (_dir, db) = open();
    db.put("oncall:alice", "yes").unwrap();
    db.put("oncall:bob", "yes").unwrap();
    let go_off = |tx: &mut Transaction, me: &str, other: &str| {
        let on = |v: Option<quickcache::Value>| v.is_some_and(|v| v == b"yes");
        let me_on = on(tx.get(format!("oncall:{me}")).unwrap());
        let other_on = on(tx.get(format!("oncall:{other}")).unwrap());
        if me_on && other_on {
            tx.put(format!("oncall:{me}"), "no");
        }
    };
    let mut alice = db.transaction();
    let mut bob = db.transaction();
    go_off(&mut alice, "alice", "bob");
    go_off(&mut bob, "bob", "alice");
    alice.commit().unwrap();
    let err = bob.commit().unwrap_err();
    assert!(err.is_conflict());
    assert!(err.to_string().contains("oncall:alice"), "{err}");
    let on_call = db
        .prefix("oncall:")
        .filter(|kv| kv.as_ref().unwrap().1 == b"yes")
        .count();
    assert_eq!(on_call, 1);
}

#[test]
fn rollback_and_drop_discard_writes_and_release_the_history() {
    let (_dir, db) = open();
    let mut tx = db.transaction();
    tx.put("k", "v");
    tx.rollback();
    {
        let mut dropped = db.transaction();
        dropped.put("k", "v");
        db.put("other", "x").unwrap();
        assert_eq!(db.stats().transactions, 1);
        assert_eq!(db.stats().conflict_history_keys, 1);
    }
    assert_eq!(db.get("k").unwrap(), None);
    let stats = db.stats();
    assert_eq!(
        (
            stats.transactions,
            stats.conflict_history_keys,
            stats.snapshots
        ),
        (0, 0, 0)
    );
}

#[test]
fn writes_span_keyspaces_atomically_and_conflicts_name_the_keyspace() {
    let (_dir, db) = open();
    let (orders, stock) = (
        db.keyspace("orders").unwrap(),
        db.keyspace("stock").unwrap(),
    );
    stock.put("widget", "5").unwrap();
    let mut tx = db.transaction();
    assert_eq!(tx.get_in(&stock, "widget").unwrap().unwrap(), b"5");
    tx.put_in(&stock, "widget", "4")
        .put_in(&orders, "o-1", "widget")
        .put("last", "o-1");
    assert_eq!(keys(tx.iter_in(&orders)), ["o-1"]);
    assert_eq!(keys(tx.prefix_in(&stock, "w").rev()), ["widget"]);
    let snapshot = db.snapshot();
    tx.commit_with(&WriteOptions::synced()).unwrap();
    assert_eq!(snapshot.get_in(&orders, "o-1").unwrap(), None);
    let after = db.snapshot();
    assert_eq!(after.get_in(&orders, "o-1").unwrap().unwrap(), b"widget");
    assert_eq!(after.get_in(&stock, "widget").unwrap().unwrap(), b"4");

    let mut tx = db.transaction();
    tx.get_in(&stock, "widget").unwrap();
    tx.put_in(&orders, "o-2", "widget");
    stock.put("widget", "0").unwrap();
    let err = tx.commit().unwrap_err();
    assert!(err.is_conflict());
    assert!(err.to_string().contains("\"stock\""), "{err}");
    assert_eq!(orders.get("o-2").unwrap(), None);
}

#[test]
fn a_read_only_transaction_commits_even_after_its_keys_changed() {
    let (_dir, db) = open();
    let mut tx = db.transaction();
    tx.get("k").unwrap();
    db.put("k", "v").unwrap();
    // It read one consistent snapshot: serializable at that point.
    tx.commit().unwrap();
}

#[test]
fn a_transaction_too_large_for_one_wal_record_fails_naming_the_limit() {
    let (_dir, db) = open();
    let mut tx = db.transaction();
    let value = vec![7u8; 1 << 20];
    for i in 0..65u32 {
        tx.put(i.to_be_bytes(), &value);
    }
    let err = tx.commit().unwrap_err();
    assert!(!err.is_conflict());
    assert!(
        err.to_string().contains(&(64u32 << 20).to_string()),
        "{err}"
    );
    assert_eq!(db.iter().count(), 0);
    db.put("after", "ok").unwrap(); // the database still writes
}

#[test]
fn a_transaction_outliving_the_history_limit_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        transaction_history_bytes: 4096,
        ..Options::default()
    };
    let db = Db::open_with(dir.path(), options).unwrap();
    let mut old = db.transaction();
    old.put("mine", "1");
    for i in 0..200u32 {
        db.put(format!("other{i}"), "x").unwrap();
    }
    assert!(
        db.stats().conflict_history_keys < 200,
        "the history is bounded"
    );
    let err = old.commit().unwrap_err();
    assert!(err.is_conflict());
    assert!(
        err.to_string().contains("transaction_history_bytes"),
        "{err}"
    );
    // A new transaction starts from a clean slate.
    let mut fresh = db.transaction();
    fresh.put("mine", "2");
    fresh.commit().unwrap();
}

#[test]
fn helpers_compare_and_swap_and_update_value() {
    let (_dir, db) = open();
    db.compare_and_swap("leader", None, Some(b"a"))
        .unwrap()
        .unwrap();
    let lost = db
        .compare_and_swap("leader", Some(b"b"), Some(b"c"))
        .unwrap()
        .unwrap_err();
    assert_eq!(lost.current.unwrap(), b"a");
    assert_eq!(lost.proposed.unwrap(), b"c");
    db.compare_and_swap("leader", Some(b"a"), None)
        .unwrap()
        .unwrap();
    assert_eq!(db.get("leader").unwrap(), None);
    let inc = |old: Option<&[u8]>| Some(vec![old.map_or(0, |v| v[0]) + 1]);
    assert_eq!(db.update_value("n", inc).unwrap().unwrap(), [1]);
    assert_eq!(db.update_value("n", inc).unwrap().unwrap(), [2]);
    assert_eq!(db.update_value("n", |_| None).unwrap(), None);
    assert_eq!(db.get("n").unwrap(), None);
}

#[test]
fn update_returns_the_closures_error_and_writes_nothing() {
    let (_dir, db) = open();
    let err = db
        .update(|tx| {
            tx.put("k", "v");
            Err::<(), _>(quickcache::Error::Closed)
        })
        .unwrap_err();
    assert!(matches!(err, quickcache::Error::Closed));
    assert_eq!(db.get("k").unwrap(), None);
}

#[test]
fn a_keyspace_of_another_database_is_refused() {
    let (_dir, db) = open();
    let (_dir2, other) = open();
    let foreign = other.keyspace("x").unwrap();
    let mut tx = db.transaction();
    assert!(tx.get_in(&foreign, "k").is_err());
    tx.put_in(&foreign, "k", "v");
    assert!(tx.commit().is_err());
    assert_eq!(foreign.get("k").unwrap(), None);
}

/// An open transaction holds no lock: another thread reads, writes, snapshots,
/// flushes and commits its own transactions meanwhile (a held lock would hang the
/// thread, which the watchdog reports).
#[test]
fn an_open_transaction_blocks_no_reader_writer_or_other_transaction() {
    let dog = quickcache_stress::watchdog::Watchdog::start(
        "an_open_transaction_blocks_no_reader_writer_or_other_transaction",
        std::time::Duration::from_secs(120),
    );
    let (_dir, db) = open();
    db.put("k", "0").unwrap();
    let mut open_tx = db.transaction();
    open_tx.get("k").unwrap();
    let _ = open_tx.iter().count();
    open_tx.put("k", "mine");
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..100u32 {
                db.put("k", i.to_string()).unwrap();
                assert!(db.get("k").unwrap().is_some());
                assert!(db.snapshot().iter().count() >= 1);
                db.update(|tx| {
                    tx.put(format!("other{i}"), "x");
                    Ok(())
                })
                .unwrap();
            }
            db.flush().unwrap();
        });
    });
    assert!(open_tx.commit().unwrap_err().is_conflict());
    dog.finish();
}
