//! `Db::close` reports what went wrong in the run it ends: a background flush or
//! compaction that failed, even one the caller never saw, comes back from the close,
//! and the lock is released all the same.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use quickcache::fs::{Fault, FaultPlan, FileSystem, Op, SimFs};
use quickcache::{CLOSED_FILE, Db, Options};

const DIR: &str = "/db";

fn options(fs: &SimFs) -> Options {
    Options {
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

fn marker() -> PathBuf {
    Path::new(DIR).join(CLOSED_FILE)
}

fn is_table(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "sst")
}

#[test]
fn a_normal_close_returns_ok_and_leaves_the_marker() {
    let _dog = support::watchdog("a_normal_close_returns_ok_and_leaves_the_marker");
    let fs = SimFs::new(1);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    for i in 0..4 {
        db.put(format!("k{i}"), "v").unwrap();
        db.flush().unwrap();
    }
    db.wait_for_compactions().unwrap();
    db.close().unwrap();
    assert!(fs.exists(&marker()).unwrap());
}

#[test]
fn a_close_after_a_failed_background_flush_returns_the_error() {
    let _dog = support::watchdog("a_close_after_a_failed_background_flush_returns_the_error");
    let fs = SimFs::new(2);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    db.put("k", "v").unwrap();
    let sst_sync = |op: Op, path: &Path| op == Op::SyncAll && is_table(path);
    fs.set_faults(FaultPlan::new().fail_matching(sst_sync, Fault::Io));
    assert!(db.flush().is_err());
    fs.clear_faults();

    let err = db.close().unwrap_err();
    assert!(err.is_read_only(), "{err}");
    assert!(err.is_io(), "{err}");
    assert!(err.to_string().contains("flushing"), "{err}");
    assert!(!fs.exists(&marker()).unwrap());
    // The lock was released and nothing acknowledged was lost.
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    assert_eq!(db.get("k").unwrap().as_deref(), Some(&b"v"[..]));
    db.close().unwrap();
}

#[test]
fn a_close_after_a_failed_compaction_returns_the_error() {
    let _dog = support::watchdog("a_close_after_a_failed_compaction_returns_the_error");
    let fs = SimFs::new(3);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    // Overlapping tables, so that the compaction merges them rather than moving them.
    let flush = |i: u32| {
        db.put("a", i.to_be_bytes()).unwrap();
        db.put("z", i.to_be_bytes()).unwrap();
        db.flush().unwrap();
    };
    (0..3).for_each(flush);
    // The fourth flush's table is created; every later table (the compaction the
    // fourth L0 table triggers) is not.
    let created = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&created);
    let later_tables = move |op: Op, path: &Path| {
        op == Op::Create && is_table(path) && seen.fetch_add(1, Ordering::SeqCst) >= 1
    };
    fs.set_faults(FaultPlan::new().fail_matching(later_tables, Fault::Io));
    flush(3);
    // Close once the compaction met its fault, without asking the database about it:
    // whether the flush thread has polled the pool's error by then or not, the close
    // must report it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while created.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "no compaction started");
        std::thread::sleep(Duration::from_millis(1));
    }
    let err = db.close().unwrap_err();
    assert!(err.is_read_only(), "{err}");
    assert!(err.to_string().contains("compaction"), "{err}");
    assert!(!fs.exists(&marker()).unwrap());
    fs.clear_faults();
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    assert_eq!(
        db.get("a").unwrap().as_deref(),
        Some(&3u32.to_be_bytes()[..])
    );
    db.close().unwrap();
}
