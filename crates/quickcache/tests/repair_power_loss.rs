//! Power loss at every operation of `repair` (issue 23: repair in the power-loss
//! suite). The database holds tables and WAL records of three keyspaces, range
//! deletes and puts with a time to live, and was closed cleanly, so all of it is
//! durable. A repair moves nothing away and removes nothing before its new manifest
//! is durable, so whatever a power loss at any point leaves, the database opens (or
//! a second repair makes it open) holding exactly what it held, in every crash mode.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use quickcache::Db;
use quickcache::fs::{CrashMode, Fault, FaultPlan, SimFs};
use quickcache_stress::check::{describe_difference, read_spread};
use quickcache_stress::power::{DIR, small_options};
use quickcache_stress::watchdog::Watchdog;
use support::repair_db;

const MODES: [CrashMode; 4] = [
    CrashMode::DropUnsynced,
    CrashMode::Torn,
    CrashMode::TornWithGarbage,
    CrashMode::PagesInAnyOrder,
];

/// The file-system operations of a repair that meets no fault.
fn repair_ops() -> u64 {
    let fs = SimFs::new(0);
    let shared = Arc::new(fs.clone());
    repair_db::build(&shared);
    let before = fs.op_count();
    let report = quickcache::repair_with(DIR, small_options(&shared)).unwrap();
    assert!(report.lost_nothing(), "{report}");
    fs.op_count() - before
}

/// A repair whose process dies at its `n`-th operation (that one and every later one
/// fail), then a power loss in `mode`: the disk opens, or a second repair makes it
/// open, holding the model.
fn case(n: u64, mode: CrashMode) {
    let ctx = format!("power loss at repair op {n}, {mode:?}");
    let fs = SimFs::new(n);
    let model = repair_db::build(&Arc::new(fs.clone()));
    fs.set_faults(FaultPlan::new().fail_from(n, Fault::Io));
    let _died = quickcache::repair_with(DIR, small_options(&Arc::new(fs.clone())));
    let after = Arc::new(fs.crash_with(mode));
    let db = match Db::open_with(DIR, small_options(&after)) {
        Ok(db) => db,
        Err(first) => {
            quickcache::repair_with(DIR, small_options(&after)).unwrap_or_else(|e| {
                panic!("{ctx}: open failed ({first}), so did a second repair: {e}")
            });
            Db::open_with(DIR, small_options(&after))
                .unwrap_or_else(|e| panic!("{ctx}: no open after a second repair: {e}"))
        }
    };
    let got = read_spread(&db, &repair_db::keys()).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    assert!(got == model, "{ctx}: {}", describe_difference(&model, &got));
    db.close().unwrap();
}

#[test]
fn a_power_loss_at_every_operation_of_a_repair_loses_nothing() {
    let dog = Watchdog::start(
        "power loss at every repair operation",
        Duration::from_secs(600),
    );
    let total = repair_ops();
    assert!(
        total > 30,
        "a repair of {total} operations is too small to test"
    );
    let mut cases = 0;
    for n in 0..=total {
        dog.phase(format!("operation {n} of {total}"));
        for mode in MODES {
            case(n, mode);
            cases += 1;
        }
    }
    eprintln!("{cases} crash states over {total} repair operations");
    dog.finish();
}
