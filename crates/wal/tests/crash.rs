//! Power loss on the simulated disk after every I/O operation of a workload: after
//! recovery, every record acknowledged as synced is there, and what is there is a
//! prefix of what was appended. Recovery itself is then crashed too.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test loudly"
)]

mod common;

use common::{
    DIR, Oracle, assert_finished_segments_are_cut, options, payload, recover, run_workload, sim,
};
use quickcache_fs::{CrashMode, DynFs, Fault, FaultPlan, SimFs};
use quickcache_wal::{Durability, Wal};
use std::sync::Arc;
use std::thread;

const RECORDS: usize = 300;
/// Small, so that the workload rotates by size as well as on request; each segment
/// is still preallocated to it.
const SEGMENT: u64 = 4096;
/// Large enough that only requested rotations happen: records land in the zeros of
/// a mostly empty preallocated segment, the case a crash of a real log leaves.
const LARGE_SEGMENT: u64 = 1 << 20;
const MODES: [CrashMode; 4] = [
    CrashMode::DropUnsynced,
    CrashMode::Torn,
    CrashMode::TornWithGarbage,
    CrashMode::PagesInAnyOrder,
];

/// Runs the workload on a disk where operation `n` and everything after it fails (the
/// process died there), returning the disk and what the workload saw.
fn die_at(seed: u64, n: u64) -> (SimFs, Oracle) {
    die_at_with(seed, n, SEGMENT)
}

fn die_at_with(seed: u64, n: u64, segment: u64) -> (SimFs, Oracle) {
    let (sim, fs) = sim(seed);
    sim.set_faults(FaultPlan::new().fail_from(n, Fault::Io));
    let mut oracle = Oracle::default();
    if let Ok((wal, _)) = Wal::open(fs, DIR, options(segment)) {
        run_workload(&wal, RECORDS, &mut oracle);
    }
    (sim, oracle)
}

/// Operations the whole workload performs when nothing fails.
fn total_ops() -> u64 {
    let (sim, oracle) = die_at(0, u64::MAX);
    assert!(oracle.first_error.is_none() && oracle.durable > 200);
    sim.op_count()
}

fn as_dyn(sim: &SimFs) -> DynFs {
    Arc::new(sim.clone())
}

#[test]
fn power_loss_after_every_operation_keeps_synced_records_and_a_prefix() {
    let total = total_ops();
    assert!(total > 300, "workload too small: {total} operations");
    for n in 0..=total {
        let (dead, oracle) = die_at(n, n);
        for mode in MODES {
            let context = format!("crash after op {n} of {total}, {mode:?}");
            let after = as_dyn(&dead.crash_with(mode));
            let (recovered, wal, _) = recover(&after, options(SEGMENT))
                .unwrap_or_else(|e| panic!("{context}: recovery failed: {e}"));
            oracle.check(&recovered, &context);
            assert_finished_segments_are_cut(&after, &context);
            drop(wal);
        }
    }
}

#[test]
fn power_loss_in_a_mostly_empty_preallocated_segment_keeps_synced_records_and_a_prefix() {
    let (sim, oracle) = die_at_with(0, u64::MAX, LARGE_SEGMENT);
    assert!(oracle.first_error.is_none());
    let total = sim.op_count();
    for n in (0..=total).step_by(3) {
        let (dead, oracle) = die_at_with(n, n, LARGE_SEGMENT);
        for mode in MODES {
            let context = format!("large segments, crash after op {n} of {total}, {mode:?}");
            let after = as_dyn(&dead.crash_with(mode));
            let (recovered, wal, report) = recover(&after, options(LARGE_SEGMENT))
                .unwrap_or_else(|e| panic!("{context}: recovery failed: {e}"));
            oracle.check(&recovered, &context);
            assert_finished_segments_are_cut(&after, &context);
            if let Some(tail) = report.torn_tail {
                assert!(
                    tail.len < LARGE_SEGMENT / 2,
                    "{context}: preallocated space counted as a torn tail: {tail:?}"
                );
            }
            drop(wal);
        }
    }
}

#[test]
fn a_crash_during_recovery_and_the_next_appends_loses_nothing_synced() {
    let total = total_ops();
    for n in (0..=total).step_by(7) {
        let (dead, mut oracle) = die_at(n, n);
        // A crashed disk holds only durable bytes, so crashing it again (dropping
        // unsynced data) copies it exactly: each attempt below starts from this image.
        let image = dead.crash_with(CrashMode::TornWithGarbage);
        let probe = image.crash_with(CrashMode::DropUnsynced);
        let (recovered, wal, _) = recover(&as_dyn(&probe), options(SEGMENT)).unwrap();
        oracle.check(&recovered, &format!("first recovery after op {n}"));
        drop(wal);
        // What the first recovery saw is what every attempt sees; after a finished
        // recovery it is durable, before that it may still be torn off.
        oracle.attempted.truncate(recovered.len());
        let steps = probe.op_count();
        for m in 0..steps + 20 {
            let second = image.crash_with(CrashMode::DropUnsynced);
            let mut again = Oracle {
                attempted: oracle.attempted.clone(),
                durable: recovered.len(),
                ..Oracle::default()
            };
            second.set_faults(FaultPlan::new().fail_from(m, Fault::Io));
            if let Ok((again_recovered, wal, _)) = recover(&as_dyn(&second), options(SEGMENT)) {
                assert_eq!(
                    again_recovered, recovered,
                    "the image must read the same each time"
                );
                again.durable = recovered.len();
                for i in 0..3 {
                    again.attempted.push(payload(10_000 + i));
                    if wal.append(&payload(10_000 + i), Durability::Synced).is_ok() {
                        again.durable = again.attempted.len();
                    }
                }
            }
            for mode in MODES {
                let third = as_dyn(&second.crash_with(mode));
                let context = format!("crash after op {n}, then after recovery op {m}, {mode:?}");
                let (recovered, _, _) = recover(&third, options(SEGMENT))
                    .unwrap_or_else(|e| panic!("{context}: recovery failed: {e}"));
                again.check(&recovered, &context);
                assert_finished_segments_are_cut(&third, &context);
            }
        }
    }
}

#[test]
fn concurrent_synced_appenders_lose_nothing_acknowledged_at_any_crash_point() {
    for (round, n) in [40u64, 90, 150, 260, 400, 700].into_iter().enumerate() {
        let (sim, fs) = sim(round as u64);
        sim.set_faults(FaultPlan::new().fail_from(n, Fault::Io));
        let Ok((wal, _)) = Wal::open(fs, DIR, options(SEGMENT)) else {
            continue;
        };
        let acked: Vec<Vec<Vec<u8>>> = thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let wal = &wal;
                    s.spawn(move || {
                        let mut acked = Vec::new();
                        for i in 0..100 {
                            let p = format!("{t}:{i}").into_bytes();
                            let level = if i % 3 == 0 {
                                Durability::Os
                            } else {
                                Durability::Synced
                            };
                            match wal.append(&p, level) {
                                Ok(_) if level == Durability::Synced => acked.push(p),
                                Ok(_) => {}
                                Err(_) => break,
                            }
                        }
                        acked
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for mode in MODES {
            let after = as_dyn(&sim.crash_with(mode));
            let (recovered, _, _) = recover(&after, options(SEGMENT)).unwrap();
            let mut next = [0usize; 4];
            for p in &recovered {
                let text = String::from_utf8(p.clone()).unwrap();
                let (t, i) = text.split_once(':').unwrap();
                let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
                assert_eq!(i, next[t], "round {round}, {mode:?}: hole in thread {t}");
                next[t] += 1;
            }
            for (t, acked) in acked.iter().enumerate() {
                for p in acked {
                    assert!(
                        recovered.contains(p),
                        "round {round}, {mode:?}: lost synced record of thread {t}"
                    );
                }
            }
        }
    }
}
