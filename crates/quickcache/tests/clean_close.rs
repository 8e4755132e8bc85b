//! The clean-close marker (`CLOSED`, see `docs/durability.md`): a clean close leaves
//! it; the next open removes it and skips the syncs that make a crashed run's unsynced
//! tail durable. A run that writes and is then killed leaves no marker, so the open
//! after it does sync, and a later power loss leaves no hole.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quickcache::fs::{CrashMode, Fault, FaultPlan, FileSystem, Op, SimFs};
use quickcache::{CLOSED_FILE, Db, Durability, Options, WriteOptions};

const DIR: &str = "/db";

fn options(fs: &SimFs) -> Options {
    Options {
        wal_segment_size: 64 << 10,
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

fn marker() -> PathBuf {
    Path::new(DIR).join(CLOSED_FILE)
}

/// Every sync fails: an open that needs one fails with it.
fn no_syncs() -> FaultPlan {
    let sync = |op: Op, _: &Path| matches!(op, Op::SyncData | Op::SyncAll | Op::SyncDir);
    FaultPlan::new().fail_matching(sync, Fault::Io)
}

#[test]
fn a_clean_close_lets_the_next_open_skip_its_syncs() {
    let _dog = support::watchdog("a_clean_close_lets_the_next_open_skip_its_syncs");
    let fs = SimFs::new(1);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    db.put("k", "v").unwrap();
    db.close().unwrap();
    assert!(
        fs.exists(&marker()).unwrap(),
        "a clean close leaves the marker"
    );

    fs.set_faults(no_syncs());
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    assert!(
        !fs.exists(&marker()).unwrap(),
        "the open removed the marker"
    );
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    fs.clear_faults();
    db.close().unwrap();

    // The same open without the marker syncs, and so fails under the same plan.
    fs.remove(&marker()).unwrap();
    fs.set_faults(no_syncs());
    assert!(Db::open_with(DIR, options(&fs)).is_err());
    fs.clear_faults();
    assert!(Db::open_with(DIR, options(&fs)).is_ok());
}

#[test]
fn a_run_killed_after_a_clean_open_leaves_no_marker_and_no_hole() {
    let _dog = support::watchdog("a_run_killed_after_a_clean_open_leaves_no_marker_and_no_hole");
    let fs = SimFs::new(2);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    db.put("a", "1").unwrap();
    db.close().unwrap();

    // This run takes the marker, then writes past half a segment (so that the next
    // open starts a new segment rather than continuing this one), unsynced, and dies.
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    let value = [7u8; 100];
    for i in 0..300 {
        db.put(format!("b{i:03}"), value).unwrap();
    }
    let killed = fs.after_kill();
    drop(db);
    assert!(!killed.exists(&marker()).unwrap());

    // The next run must make those records durable before it writes after them.
    let db = Db::open_with(DIR, options(&killed)).unwrap();
    assert_eq!(db.get("b299").unwrap().as_deref(), Some(&value[..]));
    let synced = WriteOptions {
        durability: Some(Durability::Synced),
        ..WriteOptions::default()
    };
    db.put_with("c", "after", &synced).unwrap();
    let power_lost = killed.crash_with(CrashMode::DropUnsynced);
    drop(db);

    let db = Db::open_with(DIR, options(&power_lost)).unwrap();
    assert_eq!(db.get("c").unwrap().as_deref(), Some(&b"after"[..]));
    for i in 0..300 {
        let key = format!("b{i:03}");
        let got = db.get(&key).unwrap();
        assert_eq!(
            got.as_deref(),
            Some(&value[..]),
            "{key} lost under a synced write"
        );
    }
}

#[test]
fn a_close_after_a_background_failure_leaves_no_marker() {
    let _dog = support::watchdog("a_close_after_a_background_failure_leaves_no_marker");
    let fs = SimFs::new(3);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    db.put("k", "v").unwrap();
    // The flush's table cannot be synced: the database enters its error state.
    let sst_sync =
        |op: Op, path: &Path| op == Op::SyncAll && path.extension().is_some_and(|e| e == "sst");
    fs.set_faults(FaultPlan::new().fail_matching(sst_sync, Fault::Io));
    assert!(db.flush().is_err());
    fs.clear_faults();
    drop(db);
    assert!(
        !fs.exists(&marker()).unwrap(),
        "nothing vouches for a failed run"
    );
}
