//! Repair beyond the corruption matrix: keyspaces keep their names when a manifest
//! says them and come back as `recovered-<id>` when none does; a lost newest WAL
//! segment after a rotation fails the open; repair refuses a database in use.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

mod support;

use std::sync::Arc;

use quickcache::fs::{FileSystem, SimFs};
use quickcache::{Db, Options};

const DIR: &str = "/db";

fn options(fs: &SimFs) -> Options {
    Options {
        flush_interval: None,
        flush_on_close: false,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

/// A database with a keyspace `users` holding a flushed key and a key in the WAL,
/// and the default keyspace likewise; closed cleanly.
fn two_keyspaces(fs: &SimFs) {
    let db = Db::open_with(DIR, options(fs)).unwrap();
    let users = db.keyspace("users").unwrap();
    users.put("ann", "1").unwrap();
    db.put("k", "v").unwrap();
    db.flush().unwrap();
    users.put("bob", "2").unwrap();
    db.put("w", "in the wal").unwrap();
    drop(users);
    db.close().unwrap();
}

fn manifests(fs: &SimFs) -> Vec<String> {
    let names = fs.list(DIR.as_ref()).unwrap();
    names
        .into_iter()
        .filter(|n| n.starts_with("MANIFEST-"))
        .collect()
}

#[test]
fn repair_keeps_keyspace_names_and_every_key() {
    let _dog = support::watchdog("repair_keeps_keyspace_names_and_every_key");
    let fs = SimFs::new(3);
    two_keyspaces(&fs);
    fs.remove(&std::path::Path::new(DIR).join("CURRENT"))
        .unwrap();
    let report = quickcache::repair_with(DIR, options(&fs)).unwrap();
    assert!(report.lost_nothing(), "{report}");
    assert_eq!(report.keyspaces, vec![(1, "users".to_owned())], "{report}");
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    let users = db.keyspace("users").unwrap();
    assert_eq!(users.get("ann").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(users.get("bob").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(db.get("w").unwrap().as_deref(), Some(&b"in the wal"[..]));
    assert_eq!(
        db.get("ann").unwrap(),
        None,
        "a keyspace's key leaked into the default"
    );
}

#[test]
fn a_keyspace_only_the_wal_names_comes_back_as_recovered() {
    let _dog = support::watchdog("a_keyspace_only_the_wal_names_comes_back_as_recovered");
    let fs = SimFs::new(4);
    two_keyspaces(&fs);
    for name in manifests(&fs) {
        fs.remove(&std::path::Path::new(DIR).join(name)).unwrap();
    }
    let report = quickcache::repair_with(DIR, options(&fs)).unwrap();
    assert_eq!(
        report.keyspaces,
        vec![(1, "recovered-1".to_owned())],
        "{report}"
    );
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    let users = db.keyspace("recovered-1").unwrap();
    assert_eq!(users.get("bob").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(db.get("w").unwrap().as_deref(), Some(&b"in the wal"[..]));
    // The flushed tables say no keyspace: set aside, never mixed into the default.
    assert_eq!(db.get("ann").unwrap(), None);
    assert!(
        report
            .moved
            .iter()
            .any(|m| m.why.contains("which keyspace")),
        "{report}"
    );
}

#[test]
fn a_lost_newest_segment_after_a_rotation_fails_the_open() {
    let _dog = support::watchdog("a_lost_newest_segment_after_a_rotation_fails_the_open");
    let fs = SimFs::new(5);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    db.put("a", "1").unwrap();
    db.flush().unwrap();
    db.put("b", "2").unwrap();
    db.close().unwrap();
    let wal = std::path::Path::new(DIR).join("wal");
    let mut segments = fs.list(&wal).unwrap();
    segments.sort();
    // After a power loss that keeps every synced file but the newest segment.
    let disk = fs.crash_with(quickcache::fs::CrashMode::DropUnsynced);
    disk.remove(&wal.join(segments.last().unwrap())).unwrap();
    let err = Db::open_with(DIR, options(&disk)).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(segments.last().unwrap()) && msg.contains("quickcache repair"),
        "{msg}"
    );
    let report = quickcache::repair_with(DIR, options(&disk)).unwrap();
    assert!(
        !report.lost_nothing(),
        "the lost segment is not reported: {report}"
    );
    let db = Db::open_with(DIR, options(&disk)).unwrap();
    assert_eq!(db.get("a").unwrap().as_deref(), Some(&b"1"[..]));
}

#[test]
fn repair_refuses_a_database_in_use() {
    let _dog = support::watchdog("repair_refuses_a_database_in_use");
    let fs = SimFs::new(6);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    let err = quickcache::repair_with(DIR, options(&fs)).unwrap_err();
    assert!(err.is_locked(), "{err}");
    drop(db);
}

/// Regression (found by `repair_io_faults.rs`): repair wrote the WAL's range deletes
/// into no table, and recorded a table's key range without its range tombstones, so
/// `get` skipped the table and keys a range delete had removed read again.
#[test]
fn repair_keeps_range_deletes_from_the_wal_and_from_tables() {
    for tombstone_in_a_table in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let db = quickcache::Db::open(dir.path()).unwrap();
        for k in ["k1", "k3", "k4", "k5", "k8"] {
            db.put(k, "old").unwrap();
        }
        db.flush().unwrap();
        db.delete_range("k3".."k6").unwrap();
        if tombstone_in_a_table {
            db.flush().unwrap(); // a table holding only the tombstone
        }
        db.close().unwrap();
        quickcache::repair(dir.path()).unwrap();
        let db = quickcache::Db::open(dir.path()).unwrap();
        for k in ["k3", "k4", "k5"] {
            assert_eq!(
                db.get(k).unwrap(),
                None,
                "{k} (in a table: {tombstone_in_a_table})"
            );
        }
        let keys: Vec<_> = db.iter().map(|kv| kv.unwrap().0.to_vec()).collect();
        assert_eq!(keys, [b"k1".to_vec(), b"k8".to_vec()]);
    }
}

/// A directory that cannot be listed fails the repair: before, the manifests'
/// listing error read as "no manifests" and repair went on to report nothing lost
/// (found by `repair_io_faults.rs`).
#[test]
fn a_repair_that_cannot_list_the_directory_fails() {
    use quickcache::fs::{Fault, FaultPlan, Op, SimFs};
    let sim = SimFs::new(3);
    let options = quickcache::Options {
        fs: std::sync::Arc::new(sim.clone()),
        ..quickcache::Options::default()
    };
    let db = quickcache::Db::open_with("/db", options.clone()).unwrap();
    db.put("k", "v").unwrap();
    db.close().unwrap();
    // The repair's first listing of the database directory (the manifests') fails;
    // the later ones (tables, WAL) succeed.
    let first = std::sync::atomic::AtomicBool::new(true);
    let once = move |op, path: &std::path::Path| {
        op == Op::List
            && path == std::path::Path::new("/db")
            && first.swap(false, std::sync::atomic::Ordering::SeqCst)
    };
    sim.set_faults(FaultPlan::new().fail_matching(once, Fault::Io));
    let result = quickcache::repair_with("/db", options);
    sim.clear_faults();
    assert!(result.is_err(), "{result:?}");
}

/// An ingest whose keys overlap the memtable flushes it first, so the flushed table
/// (older data) gets a higher number than the ingested one. L0 is ordered by
/// sequence number, and the repair recorded the ingested table with its own zero
/// sequence numbers instead of its global one: after a repair, `get` found the older
/// value first (the engine fuzz target's repair step found it; scans were right).
#[test]
fn an_ingested_table_keeps_its_place_in_l0_through_a_repair() {
    let fs = SimFs::new(9);
    let db = Db::open_with("/db", options(&fs)).unwrap();
    db.put("k", "old").unwrap();
    let mut loader = db.bulk_loader().unwrap();
    loader.put("k", "new").unwrap();
    loader.finish().unwrap();
    assert_eq!(db.get("k").unwrap().unwrap(), b"new");
    db.close().unwrap();
    let report = quickcache::repair_with("/db", options(&fs)).unwrap();
    assert!(report.lost_nothing(), "{report}");
    let db = Db::open_with("/db", options(&fs)).unwrap();
    assert_eq!(db.get("k").unwrap().unwrap(), b"new");
    let scanned: Vec<_> = db.iter().map(|kv| kv.unwrap().1.to_vec()).collect();
    assert_eq!(scanned, [b"new".to_vec()]);
    db.close().unwrap();
}

/// A file named as a table with the last possible number left repair no number for
/// its new manifest: it added 1 past `u64::MAX` (a panic in a debug build). It now
/// fails with an error naming the exhausted counter, and nothing is changed.
#[test]
fn a_table_named_with_the_last_number_fails_the_repair_cleanly() {
    let _dog = support::watchdog("a_table_named_with_the_last_number_fails_the_repair_cleanly");
    let fs = SimFs::new(3);
    two_keyspaces(&fs);
    let stray = std::path::Path::new(DIR).join(format!("{}.sst", u64::MAX));
    let mut file = fs.create(&stray).unwrap();
    file.append(b"not a table").unwrap();
    file.close().unwrap();
    let before = manifests(&fs);
    let err = quickcache::repair_with(DIR, options(&fs)).unwrap_err();
    assert!(err.to_string().contains("no file number left"), "{err}");
    assert_eq!(
        manifests(&fs),
        before,
        "the failed repair changed the manifests"
    );
    assert!(
        fs.exists(&stray).unwrap(),
        "the failed repair moved the stray file"
    );
}
