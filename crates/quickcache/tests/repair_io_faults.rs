//! I/O faults at every operation index of `repair` (issue 23), on a database holding
//! tables and WAL records of three keyspaces, range deletes and puts with a time to
//! live. After each: a fault that hit a write, sync or rename made `repair` return an
//! error; and once the fault clears, the database opens (repair is all or nothing: a
//! failure before its `CURRENT` switch leaves the old state) or a second `repair`
//! makes it open, holding exactly what the database held before.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use quickcache::Db;
use quickcache::fs::{Fault, FaultPlan, Op as FsOp, SimFs};
use quickcache_stress::check::{describe_difference, read_spread};
use quickcache_stress::power::{DIR, small_options};
use quickcache_stress::watchdog::Watchdog;
use support::repair_db;

const CASE_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Runs `repair` with its `n`-th fs operation failing; returns the failed operation,
/// whether it was on the clean-close marker, and its path.
fn case(fault: Fault, n: u64) -> Option<(FsOp, bool, String)> {
    let ctx = format!("{fault:?} at repair op {n}");
    let dog = Watchdog::start(ctx.clone(), CASE_LIMIT);
    let fs = SimFs::new(n);
    let shared = Arc::new(fs.clone());
    let model = repair_db::build(&shared);
    let (counter, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(Mutex::new(None)));
    let (c, f) = (Arc::clone(&counter), Arc::clone(&failed));
    fs.set_faults(FaultPlan::new().fail_matching(
        move |op, path| {
            let hit = c.fetch_add(1, Ordering::SeqCst) == n;
            if hit {
                let marker = path.file_name().is_some_and(|n| n == "CLOSED");
                *f.lock().unwrap() = Some((op, marker, path.display().to_string()));
            }
            hit
        },
        fault,
    ));
    let repaired = quickcache::repair_with(DIR, small_options(&shared));
    fs.clear_faults();
    let failed = failed.lock().unwrap().clone();
    let mut reported_loss = false;
    if let Some((op, marker, path)) = &failed {
        let ctx = format!("{ctx} ({op} {path})");
        // Cleanup may fail silently, and so may reading the clean-close marker: a
        // marker that cannot be read is taken as absent, which only costs syncs.
        let silent_ok = *marker || matches!(op, FsOp::Remove | FsOp::List | FsOp::Stat);
        // A file repair cannot read is damage to it, listed in the report.
        reported_loss = repaired.as_ref().is_ok_and(|r| !r.lost_nothing());
        assert!(
            repaired.is_err() || silent_ok || reported_loss,
            "{ctx}: repair reported nothing"
        );
    }
    let db = match Db::open_with(DIR, small_options(&shared)) {
        Ok(db) => db,
        Err(first) => {
            quickcache::repair_with(DIR, small_options(&shared)).unwrap_or_else(|e| {
                panic!("{ctx}: open failed ({first}), so did a second repair: {e}")
            });
            Db::open_with(DIR, small_options(&shared))
                .unwrap_or_else(|e| panic!("{ctx}: no open after a second repair: {e}"))
        }
    };
    let got =
        read_spread(&db, &repair_db::keys()).unwrap_or_else(|e| panic!("{ctx} {failed:?}: {e}"));
    if got != model {
        eprintln!(
            "{ctx} ({failed:?}, loss reported: {reported_loss}): {}",
            describe_difference(&model, &got)
        );
    }
    assert!(
        got == model || reported_loss,
        "{ctx}: {}",
        describe_difference(&model, &got)
    );
    db.close().unwrap();
    dog.finish();
    failed
}

fn sweep(fault: Fault) -> u64 {
    let (mut points, mut n) = (0, 0);
    while case(fault, n).is_some() {
        points += 1;
        n += 1;
    }
    points
}

/// Every repair operation failing with EIO in turn. This sweep found two bugs: a
/// manifest that could not be read was skipped like a damaged one, so the repair
/// rebuilt without its keyspaces and merged their tables into the default keyspace
/// (`get` and scans then disagreed); and a table that could not be opened was
/// "salvaged". An I/O error now stops the repair before it changes anything
/// (`salvage::a_manifest_that_cannot_be_read_fails_the_salvage`).
#[test]
fn eio_at_every_operation_of_a_repair() {
    let points = sweep(Fault::Io);
    assert!(points > 30, "{points}");
}

/// No space, and writes cut short, at every repair operation.
#[test]
fn enospc_and_short_writes_at_every_operation_of_a_repair() {
    let points = sweep(Fault::NoSpace) + sweep(Fault::ShortWrite);
    assert!(points > 60, "{points}");
}

/// The baseline of the sweeps: a repair that meets no fault keeps everything.
#[test]
fn a_repair_without_a_fault_keeps_every_key() {
    assert!(case(Fault::Io, u64::MAX).is_none());
}
