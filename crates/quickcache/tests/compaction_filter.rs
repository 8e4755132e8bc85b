#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Compaction filters: keep, remove and change, what a filter is offered while
//! snapshots are open, per keyspace, with expiring values, and a panicking filter.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use quickcache::fs::SimFs;
use quickcache::{
    Db, FilterDecision, FilterEntry, KeyspaceOptions, ManualClock, Options, SharedFilter, Timestamp,
};

/// A filter that removes `rm/*` keys, appends "!" to `up/*` values, keeps the rest,
/// and records every key it is offered.
fn recording() -> (SharedFilter, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let filter = move |e: &FilterEntry<'_>| {
        let key = String::from_utf8_lossy(e.key).into_owned();
        log.lock().unwrap().push(format!("{}:{key}", e.keyspace));
        if e.key.starts_with(b"rm/") {
            FilterDecision::Remove
        } else if e.key.starts_with(b"up/") {
            FilterDecision::ChangeValue([e.value, b"!"].concat())
        } else {
            FilterDecision::Keep
        }
    };
    (SharedFilter::new(filter), seen)
}

fn options(filter: Option<SharedFilter>) -> Options {
    Options {
        fs: Arc::new(SimFs::new(3)),
        compaction_filter: filter,
        flush_interval: None,
        ..Options::default()
    }
}

fn value(db: &Db, key: &str) -> Option<Vec<u8>> {
    db.get(key).unwrap().map(|v| v.to_vec())
}

fn table_entries(levels: &[quickcache::LevelStats]) -> u64 {
    levels
        .iter()
        .flat_map(|l| &l.tables)
        .map(|t| t.entries)
        .sum()
}

#[test]
fn a_filter_keeps_removes_and_changes_values() {
    let (filter, seen) = recording();
    let db = Db::open_with("/db", options(Some(filter))).unwrap();
    for key in ["keep/1", "rm/1", "rm/2", "up/1"] {
        db.put(key, "v").unwrap();
    }
    db.flush().unwrap();
    assert!(seen.lock().unwrap().is_empty(), "flushes do not filter");
    assert_eq!(value(&db, "rm/1").unwrap(), b"v");
    db.compact_range(..).unwrap();
    assert_eq!(value(&db, "keep/1").unwrap(), b"v");
    assert_eq!(value(&db, "rm/1"), None);
    assert_eq!(value(&db, "up/1").unwrap(), b"v!");
    let keys: Vec<_> = db.iter().map(|kv| kv.unwrap().0).collect();
    assert_eq!(keys, [b"keep/1".to_vec(), b"up/1".to_vec()]);
    // Nothing was below: the removed keys left no tombstones.
    let stats = db.stats();
    assert_eq!(table_entries(&stats.levels), 2);
    let c = stats.compaction;
    assert_eq!((c.filter_removed, c.filter_changed, c.expired), (2, 1, 0));
    let mut offered = seen.lock().unwrap().clone();
    offered.sort();
    assert_eq!(
        offered,
        [
            "default:keep/1",
            "default:rm/1",
            "default:rm/2",
            "default:up/1"
        ]
    );
}

/// A snapshot protects what it sees: the filter is not offered the versions it sees,
/// and removing a newer version does not bring an older one back for newer readers.
#[test]
fn a_filter_never_sees_what_a_snapshot_protects() {
    let (filter, seen) = recording();
    let db = Db::open_with("/db", options(Some(filter))).unwrap();
    db.put("rm/a", "old").unwrap();
    db.put("rm/b", "only").unwrap();
    db.flush().unwrap();
    let snap = db.snapshot();
    db.put("rm/a", "new").unwrap();
    db.compact_range(..).unwrap();
    // Only the version newer than the snapshot was offered.
    assert_eq!(*seen.lock().unwrap(), ["default:rm/a"]);
    assert_eq!(value(&db, "rm/a"), None, "the old version stays hidden");
    assert_eq!(
        value(&db, "rm/b").unwrap(),
        b"only",
        "protected by the snapshot"
    );
    assert_eq!(snap.get("rm/a").unwrap().unwrap(), b"old");
    assert_eq!(snap.get("rm/b").unwrap().unwrap(), b"only");
    drop(snap);
    seen.lock().unwrap().clear();
    db.compact_range(..).unwrap();
    // Now rm/a's newest version is the tombstone (not offered), rm/b's value is.
    assert_eq!(*seen.lock().unwrap(), ["default:rm/b"]);
    assert_eq!(value(&db, "rm/a"), None);
    assert_eq!(value(&db, "rm/b"), None);
    assert_eq!(table_entries(&db.stats().levels), 0);
}

#[test]
fn each_keyspace_has_its_own_filter() {
    let (filter, seen) = recording();
    let db = Db::open_with("/db", options(None)).unwrap();
    let filtered = KeyspaceOptions {
        compaction_filter: Some(filter),
        ..KeyspaceOptions::from(db.options())
    };
    let a = db.keyspace_with("a", filtered.clone()).unwrap();
    let b = db.keyspace("b").unwrap();
    for key in ["rm/1", "up/1"] {
        db.put(key, "v").unwrap();
        a.put(key, "v").unwrap();
        b.put(key, "v").unwrap();
    }
    db.compact_range(..).unwrap();
    a.compact_range(..).unwrap();
    b.compact_range(..).unwrap();
    assert_eq!(value(&db, "rm/1").unwrap(), b"v");
    assert_eq!(b.get("up/1").unwrap().unwrap(), b"v");
    assert!(a.get("rm/1").unwrap().is_none());
    assert_eq!(a.get("up/1").unwrap().unwrap(), b"v!");
    assert!(seen.lock().unwrap().iter().all(|s| s.starts_with("a:")));
    // Reopening the keyspace with the same stored options but no filter is no
    // conflict, and turns the filter off.
    let plain = KeyspaceOptions {
        compaction_filter: None,
        ..filtered
    };
    let a = db.keyspace_with("a", plain).unwrap();
    a.put("rm/2", "v").unwrap();
    a.compact_range(..).unwrap();
    assert_eq!(a.get("rm/2").unwrap().unwrap(), b"v");
}

/// An expiring value is offered with its expiry and keeps it when changed; an
/// expired one is never offered.
#[test]
fn a_filter_sees_expiries_and_changes_keep_them() {
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(5_000)));
    let expiries = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&expiries);
    let filter = move |e: &FilterEntry<'_>| {
        log.lock().unwrap().push((e.key.to_vec(), e.expires_at));
        FilterDecision::ChangeValue(b"changed".to_vec())
    };
    let options = Options {
        clock: clock.clone(),
        ..options(Some(SharedFilter::new(filter)))
    };
    let db = Db::open_with("/db", options).unwrap();
    db.put_with_ttl("live", "v", Duration::from_secs(10))
        .unwrap();
    db.put_with_ttl("dead", "v", Duration::from_secs(1))
        .unwrap();
    clock.advance(Duration::from_secs(1));
    db.compact_range(..).unwrap();
    let live_at = Timestamp::from_millis(15_000);
    assert_eq!(
        *expiries.lock().unwrap(),
        [(b"live".to_vec(), Some(live_at))]
    );
    assert_eq!(value(&db, "live").unwrap(), b"changed");
    clock.advance(Duration::from_secs(9));
    assert_eq!(
        value(&db, "live"),
        None,
        "the changed value kept its expiry"
    );
}

#[test]
fn a_panicking_filter_fails_the_compaction_and_changes_nothing() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let filter = move |_: &FilterEntry<'_>| -> FilterDecision {
        counter.fetch_add(1, Ordering::Relaxed);
        panic!("filter bug")
    };
    let db = Db::open_with("/db", options(Some(SharedFilter::new(filter)))).unwrap();
    db.put("k", "v").unwrap();
    db.flush().unwrap();
    let before = db.stats().levels;
    let err = db.compact_range(..).unwrap_err();
    assert!(err.to_string().contains("filter bug"), "{err}");
    assert!(calls.load(Ordering::Relaxed) > 0);
    // The tree is as it was: the table is still in L0 and reads.
    assert_eq!(db.stats().levels[0].files, before[0].files);
    assert_eq!(value(&db, "k").unwrap(), b"v");
    // Like any compaction failure: the background error, and writes are refused.
    let background = db.stats().background_error.unwrap();
    assert!(background.contains("filter bug"), "{background}");
    assert!(db.put("k2", "v").unwrap_err().is_read_only());
}
