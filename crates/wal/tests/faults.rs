//! ENOSPC, EIO and short writes at every operation index of a workload: the writer
//! reports the failure, stays poisoned, and recovery afterwards (after a restart, or
//! after a power loss) loses nothing that was synced.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use std::sync::Arc;

use common::{DIR, Oracle, assert_finished_segments_are_cut, options, recover, run_workload, sim};
use quickcache_fs::{CrashMode, DynFs, Fault, FaultPlan};
use quickcache_wal::{Error, Wal};

const RECORDS: usize = 250;
const SEGMENT: u64 = 4096;

fn total_ops() -> u64 {
    let (sim, fs) = sim(0);
    let (wal, _) = Wal::open(fs, DIR, options(SEGMENT)).unwrap();
    let mut oracle = Oracle::default();
    run_workload(&wal, RECORDS, &mut oracle);
    assert!(oracle.first_error.is_none());
    sim.op_count()
}

fn fault_at_every_operation(fault: Fault) {
    let total = total_ops();
    for n in 0..total {
        let context = format!("{fault:?} at op {n} of {total}");
        let (sim, fs) = sim(n);
        sim.set_faults(FaultPlan::new().fail_nth(n, fault));
        let mut oracle = Oracle::default();
        match Wal::open(fs.clone(), DIR, options(SEGMENT)) {
            Ok((wal, _)) => {
                run_workload(&wal, RECORDS, &mut oracle);
                // Calls after the workload, so that a fault in its last operation is
                // followed by calls that must be refused too.
                oracle.note(wal.sync(), Some(oracle.attempted.len()));
                oracle.note(wal.close(), None);
                check_poisoned(&oracle, &context);
            }
            Err(e) => assert!(!e.is_corruption(), "{context}: open failed with {e}"),
        }
        sim.clear_faults();
        // The disk a power loss right after the fault would leave, kept for later.
        let lost_power: DynFs = Arc::new(sim.crash_with(CrashMode::Torn));
        // A restart: the process's unsynced writes are still in the OS.
        let (live, wal, _) = recover(&fs, options(SEGMENT))
            .unwrap_or_else(|e| panic!("{context}: recovery after the fault failed: {e}"));
        oracle.check(&live, &format!("{context}, restarted"));
        assert_finished_segments_are_cut(&fs, &format!("{context}, restarted"));
        drop(wal);
        // A power loss after the fault, before any restart.
        let (after_loss, _, _) = recover(&lost_power, options(SEGMENT))
            .unwrap_or_else(|e| panic!("{context}: recovery after power loss failed: {e}"));
        oracle.check(&after_loss, &format!("{context}, power loss"));
        assert_finished_segments_are_cut(&lost_power, &format!("{context}, power loss"));
        // A power loss after the restart's recovery: what it read is now durable.
        let crashed: DynFs = Arc::new(sim.crash());
        let (after_both, _, _) = recover(&crashed, options(SEGMENT)).unwrap();
        assert_eq!(
            after_both, live,
            "{context}: recovery did not make what it read durable"
        );
    }
}

/// The workload saw exactly one I/O failure, and every later call was refused as
/// poisoned, naming it.
fn check_poisoned(oracle: &Oracle, context: &str) {
    let first = oracle
        .first_error
        .as_deref()
        .unwrap_or_else(|| panic!("{context}: the fault went unreported"));
    assert_eq!(
        oracle.successes_after_error, 0,
        "{context}: a call succeeded after {first}"
    );
    assert!(
        !oracle.later_errors.is_empty(),
        "{context}: nothing was tried after the failure"
    );
    for e in &oracle.later_errors {
        match e {
            Error::Poisoned { first_failure } => assert_eq!(first_failure, first, "{context}"),
            other => panic!("{context}: expected poisoned after {first}, got {other}"),
        }
    }
}

#[test]
fn no_space_at_every_operation() {
    fault_at_every_operation(Fault::NoSpace);
}

#[test]
fn io_error_at_every_operation() {
    fault_at_every_operation(Fault::Io);
}

#[test]
fn short_write_at_every_operation() {
    fault_at_every_operation(Fault::ShortWrite);
}
