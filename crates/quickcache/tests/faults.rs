#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Background failures: a flush that hits EIO puts the database in a read-only
//! error state; reads keep working; reopening after the fault clears recovers every
//! acknowledged write. (A flush that hits ENOSPC is retried instead: `no_space.rs`.)

mod support;

use std::sync::Arc;

use quickcache::fs::{Fault, FaultPlan, Op, SimFs};
use quickcache::{Db, Options};

fn options(fs: &Arc<SimFs>) -> Options {
    Options {
        memtable_size: 4 << 10,
        flush_interval: None,
        fs: fs.clone(),
        ..Options::default()
    }
}

#[test]
fn a_failed_flush_makes_the_database_read_only_until_reopened() {
    let _dog = support::watchdog("a_failed_flush_makes_the_database_read_only_until_reopened");
    let fs = Arc::new(SimFs::new(3));
    let db = Db::open_with("/db", options(&fs)).unwrap();
    db.put("before", "fault").unwrap();
    fs.set_faults(FaultPlan::new().fail_matching(
        |op, path| op == Op::Create && path.extension().is_some_and(|e| e == "sst"),
        Fault::Io,
    ));
    let mut acked = Vec::new();
    let mut failure = None;
    for i in 0..10_000u32 {
        match db.put(i.to_be_bytes(), [1u8; 64]) {
            Ok(()) => acked.push(i),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.expect("writes must fail once the flush failed");
    assert!(failure.is_read_only(), "{failure}");
    assert!(failure.is_io() && !failure.is_no_space(), "{failure}");
    assert!(db.delete("before").unwrap_err().is_read_only());
    let stats = db.stats();
    assert!(stats.background_error.unwrap().contains("flushing"));
    // Reads keep working.
    assert_eq!(db.get("before").unwrap().unwrap(), b"fault");
    assert_eq!(db.iter().count(), acked.len() + 1);
    drop(db);

    fs.clear_faults();
    let db = Db::open_with("/db", options(&fs)).unwrap();
    assert_eq!(db.get("before").unwrap().unwrap(), b"fault");
    for i in &acked {
        assert!(db.contains_key(i.to_be_bytes()).unwrap(), "lost {i}");
    }
    db.put("after", "reopen").unwrap();
    db.flush().unwrap();
}

#[test]
fn a_failed_wal_write_is_reported_and_sticks() {
    let _dog = support::watchdog("a_failed_wal_write_is_reported_and_sticks");
    let fs = Arc::new(SimFs::new(4));
    let db = Db::open_with("/db", options(&fs)).unwrap();
    db.put("a", "1").unwrap();
    fs.set_faults(FaultPlan::new().fail_matching(
        |op, path| op == Op::Append && path.extension().is_some_and(|e| e == "log"),
        Fault::Io,
    ));
    let err = db.put("b", "2").unwrap_err();
    assert!(err.is_io(), "{err}");
    fs.clear_faults();
    assert!(db.put("c", "3").unwrap_err().is_read_only());
    assert_eq!(db.get("a").unwrap().unwrap(), b"1");
    drop(db);
    let db = Db::open_with("/db", options(&fs)).unwrap();
    assert_eq!(db.get("a").unwrap().unwrap(), b"1");
    assert_eq!(db.get("c").unwrap(), None);
}
