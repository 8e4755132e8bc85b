//! The background pool compacts after flushes, reports idleness, and stops cleanly.

#![allow(clippy::unwrap_used, reason = "tests unwrap: a panic is a failed test")]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use quickcache_compaction::{
    CompactionOptions, CompactionPlan, Compactor, Idle, Level, SnapshotSource, VersionSet,
};
use std::path::Path;

use quickcache_fs::{Fault, FaultPlan, Op, SimFs};
use quickcache_sstable::SeqNo;

fn batch(b: u64) -> BTreeMap<quickcache_sstable::InternalKey, Vec<u8>> {
    let mut mem = BTreeMap::new();
    for i in 0..200u64 {
        put(
            &mut mem,
            &format!("k{:04}", (i * 13 + b * 7) % 500),
            b * 1000 + i + 1,
            &"v".repeat(60),
        );
    }
    mem
}

#[test]
fn the_pool_keeps_l0_under_its_trigger_and_the_contents_intact() {
    let fs = SimFs::new(21);
    let options = CompactionOptions {
        background_threads: 2,
        ..small_options()
    };
    let set = Arc::new(open(&fs, options).unwrap());
    let snapshots: SnapshotSource = Arc::new(Vec::new);
    let pool = Compactor::start(Arc::clone(&set), snapshots).unwrap();
    let mut written = Vec::new();
    for b in 1..=12 {
        let mem = batch(b);
        written.extend(mem.iter().map(|(k, v)| (k.clone(), v.clone())));
        set.flush(&mut frozen(&mem), b, &[]).unwrap();
        pool.schedule();
    }
    pool.wait_idle().unwrap();
    assert!(set.current().l0_count() < set.options().l0_compaction_trigger);
    assert!(set.stats().snapshot().compactions + set.stats().snapshot().trivial_moves > 0);
    assert_eq!(set.pending_compaction_bytes(), 0);
    written.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        visible(&dump(&set), SeqNo::MAX),
        visible(&written, SeqNo::MAX)
    );
    assert_eq!(pool.running(), 0);
    assert!(pool.error().is_none());
    assert!(pool.stop().is_none(), "a clean run stops without an error");
}

#[test]
fn stopping_reports_the_error_a_compaction_left() {
    let fs = SimFs::new(24);
    let set = Arc::new(open(&fs, small_options()).unwrap());
    for b in 1..=4 {
        set.flush(&mut frozen(&batch(b)), b, &[]).unwrap();
    }
    // Every table sync fails from now on: the first compaction cannot publish.
    let sst_sync =
        |op: Op, path: &Path| op == Op::SyncAll && path.extension().is_some_and(|e| e == "sst");
    fs.set_faults(FaultPlan::new().fail_matching(sst_sync, Fault::Io));
    let pool = Compactor::start(Arc::clone(&set), Arc::new(Vec::new)).unwrap();
    assert!(pool.wait_idle().is_err());
    assert!(pool.stop().is_some(), "the sticky error outlives the stop");
}

#[test]
fn stopping_mid_way_leaves_a_tree_that_reopens_with_the_same_contents() {
    let fs = SimFs::new(22);
    let set = Arc::new(open(&fs, small_options()).unwrap());
    let mut written = Vec::new();
    for b in 1..=6 {
        let mem = batch(b);
        written.extend(mem.iter().map(|(k, v)| (k.clone(), v.clone())));
        set.flush(&mut frozen(&mem), b, &[]).unwrap();
    }
    let pool = Compactor::start(Arc::clone(&set), Arc::new(Vec::new)).unwrap();
    // Stop at once, most likely while the first compaction runs.
    pool.stop();
    drop(set);
    let reopened = open(&fs.crash(), small_options()).unwrap();
    written.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        visible(&dump(&reopened), SeqNo::MAX),
        visible(&written, SeqNo::MAX)
    );
}

#[test]
fn a_waiter_nudges_the_workers_itself_when_it_sees_work_due() {
    let fs = SimFs::new(23);
    let set = Arc::new(open(&fs, small_options()).unwrap());
    let snapshots: SnapshotSource = Arc::new(Vec::new);
    let pool = Compactor::start(Arc::clone(&set), snapshots).unwrap();
    // Flushed without `schedule`: compactions are due, but no worker was asked to
    // look. The waiter must not wait for work nobody will do.
    for b in 1..=8 {
        set.flush(&mut frozen(&batch(b)), b, &[]).unwrap();
    }
    let waiter = pool.idle_waiter();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiting = std::thread::spawn(move || tx.send(waiter.wait()).unwrap());
    let ended = rx.recv_timeout(std::time::Duration::from_secs(60));
    assert_eq!(ended.expect("the waiter hung").unwrap(), Idle::Reached);
    waiting.join().unwrap();
    assert!(set.current().l0_count() < set.options().l0_compaction_trigger);
    assert!(pool.stop().is_none());
}

/// A pool over a tree with two L0 tables and nothing due on its own (a high trigger
/// and base target): only a manual compaction touches L0.
fn quiet_pool_with_two_l0_tables(seed: u64) -> (SimFs, Arc<VersionSet>, Compactor) {
    let fs = SimFs::new(seed);
    let quiet = CompactionOptions {
        l0_compaction_trigger: 100,
        base_level_size: 64 << 20,
        ..small_options()
    };
    let set = Arc::new(open(&fs, quiet).unwrap());
    let pool = Compactor::start(Arc::clone(&set), Arc::new(Vec::new)).unwrap();
    for b in 1..=2 {
        set.flush(&mut frozen(&batch(b)), b, &[]).unwrap();
    }
    (fs, set, pool)
}

#[test]
fn a_waiter_is_released_when_its_pool_stops_with_a_compaction_still_running() {
    let (_fs, set, pool) = quiet_pool_with_two_l0_tables(25);
    // A manual compaction claims L0 and does not run yet: the pool is not idle.
    let manual = pool.manual();
    let claimed = manual
        .claim(|v| {
            let l0 = v.level(Level::L0).to_vec();
            CompactionPlan::manual(v, Level::L0, Level::BOTTOM, l0, set.options())
        })
        .unwrap()
        .unwrap();
    assert_eq!(pool.running(), 1);
    let waiter = pool.idle_waiter();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiting = std::thread::spawn(move || tx.send(waiter.wait()).unwrap());
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(100))
            .is_err(),
        "a compaction runs: the waiter must still wait"
    );
    pool.stop();
    let ended = rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    assert_eq!(ended.unwrap(), Idle::Stopped);
    waiting.join().unwrap();
    // The stopped pool interrupts the claimed compaction; the tree is unchanged.
    assert!(matches!(
        manual.run(claimed),
        Err(quickcache_compaction::Error::Stopped)
    ));
    assert_eq!(set.current().l0_count(), 2);
}

#[test]
fn a_manual_claim_waits_only_for_the_compaction_holding_its_tables() {
    let (_fs, set, pool) = quiet_pool_with_two_l0_tables(26);
    let l0_plan = |v: &quickcache_compaction::Version| {
        let l0 = v.level(Level::L0).to_vec();
        CompactionPlan::manual(v, Level::L0, Level::BOTTOM, l0, set.options())
    };
    let first = pool.manual();
    let held = first.claim(l0_plan).unwrap().unwrap();
    // A second claim of the same tables waits for the first to end, then plans
    // again from the newer version, where L0 is empty: nothing left to do.
    let second = pool.manual();
    let (tx, rx) = std::sync::mpsc::channel();
    let set2 = Arc::clone(&set);
    let claiming = std::thread::spawn(move || {
        let again = second.claim(|v| {
            let l0 = v.level(Level::L0).to_vec();
            CompactionPlan::manual(v, Level::L0, Level::BOTTOM, l0, set2.options())
        });
        tx.send(again.map(|p| p.is_none()).unwrap_or(false))
            .unwrap();
    });
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(100))
            .is_err(),
        "the tables are busy: the second claim must wait"
    );
    first.run(held).unwrap();
    let nothing_left = rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    assert!(nothing_left, "after the first compaction L0 is empty");
    claiming.join().unwrap();
    assert_eq!(set.current().l0_count(), 0);
    assert!(pool.stop().is_none());
}
