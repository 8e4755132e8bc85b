//! The background pool compacts after flushes, reports idleness, and stops cleanly.

#![allow(clippy::unwrap_used, reason = "tests unwrap: a panic is a failed test")]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::*;
use quickcache_compaction::{CompactionOptions, Compactor, Idle, SnapshotSource};
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
        threads: 2,
        ..small_options()
    };
    let set = Arc::new(open(&fs, options).unwrap());
    let snapshots: SnapshotSource = Arc::new(Vec::new);
    let pool = Compactor::start(Arc::clone(&set), snapshots);
    let mut written = Vec::new();
    for b in 1..=12 {
        let mem = batch(b);
        written.extend(mem.iter().map(|(k, v)| (k.clone(), v.clone())));
        set.flush(&mut frozen(&mem), b, &[]).unwrap();
        pool.schedule();
    }
    pool.wait_idle().unwrap();
    assert!(set.current().l0_count() < set.options().l0_trigger);
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
    let pool = Compactor::start(Arc::clone(&set), Arc::new(Vec::new));
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
    let pool = Compactor::start(Arc::clone(&set), Arc::new(Vec::new));
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
fn a_waiter_is_released_when_its_pool_stops_with_work_still_due() {
    let fs = SimFs::new(23);
    let set = Arc::new(open(&fs, small_options()).unwrap());
    let snapshots: SnapshotSource = Arc::new(Vec::new);
    let pool = Compactor::start(Arc::clone(&set), snapshots);
    // Flushed without `schedule`: compactions are due, but no worker looks.
    for b in 1..=8 {
        set.flush(&mut frozen(&batch(b)), b, &[]).unwrap();
    }
    let waiter = pool.idle_waiter();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiting = std::thread::spawn(move || tx.send(waiter.wait()).unwrap());
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        rx.try_recv().is_err(),
        "due work: the waiter must still wait"
    );
    pool.stop();
    let ended = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(ended.unwrap(), Idle::Stopped);
    waiting.join().unwrap();
}
