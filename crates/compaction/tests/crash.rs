//! A crash after every I/O operation of a flush and of a compaction: recovery finds
//! the same logical contents, every live table, and no leftover file.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests unwrap: a panic is a failed test"
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use common::*;
use quickcache_compaction::{Busy, VersionSet, pick};
use quickcache_fs::{Fault, FaultPlan, FileSystem, SimFs};
use quickcache_sstable::{InternalKey, SeqNo};

type Contents = BTreeMap<Vec<u8>, Vec<u8>>;

fn memtable(batch: u64, keys: u64) -> BTreeMap<InternalKey, Vec<u8>> {
    let mut mem = BTreeMap::new();
    for i in 0..keys {
        let s = batch * 1000 + i + 1;
        let key = format!("k{:04}", (i * 37 + batch * 11) % 200);
        if i % 9 == 4 {
            del(&mut mem, &key, s);
        } else {
            put(
                &mut mem,
                &key,
                s,
                &format!("{batch}-{i}-{}", "v".repeat(30)),
            );
        }
    }
    mem
}

/// A tree with three overlapping L0 tables (the trigger is 2, not yet compacted).
fn prepare(seed: u64) -> (SimFs, VersionSet) {
    let sim = SimFs::new(seed);
    let set = open(&sim, small_options()).unwrap();
    for b in 1..=3 {
        set.flush(&mut frozen(&memtable(b, 150)), b + 1, &[])
            .unwrap();
    }
    (sim, set)
}

fn logical(set: &VersionSet) -> Contents {
    visible(&dump(set), SeqNo::MAX)
}

/// Recovery succeeds, every listed table is there (checked by the open) and readable,
/// and the directory holds nothing but CURRENT, the manifest and the live tables.
fn recover(after: &SimFs) -> (VersionSet, Contents) {
    let set = open(after, small_options()).unwrap_or_else(|e| panic!("recovery failed: {e}"));
    let contents = logical(&set);
    let mut want: Vec<String> = set
        .current()
        .tables()
        .map(|(_, t)| t.info().id.file_name())
        .collect();
    want.push("CURRENT".into());
    want.push(quickcache_compaction::manifest_name(set.manifest_number()));
    want.sort();
    let mut have = after.list(Path::new(DIR)).unwrap();
    have.sort();
    assert_eq!(have, want, "leaked or lost files");
    (set, contents)
}

/// Runs `op` on a prepared tree failing from the `n`-th operation on, crashes, and
/// checks recovery with `check(op succeeded, recovered set, contents)`. Returns
/// whether the op succeeded.
fn crash_at(
    seed: u64,
    n: u64,
    op: &dyn Fn(&VersionSet) -> bool,
    check: &dyn Fn(bool, &VersionSet, &Contents),
) -> bool {
    let (sim, set) = prepare(seed);
    sim.set_faults(FaultPlan::new().fail_from(n, Fault::Io));
    let ok = op(&set);
    let after = sim.crash();
    drop(set);
    let (recovered, contents) = recover(&after);
    check(ok, &recovered, &contents);
    ok
}

fn clean_ops(op: &dyn Fn(&VersionSet) -> bool) -> u64 {
    let (sim, set) = prepare(0);
    let before = sim.op_count();
    assert!(op(&set));
    sim.op_count() - before
}

#[test]
fn a_crash_at_every_step_of_a_flush_loses_nothing_acknowledged() {
    let mem = memtable(9, 120);
    let (_, base_set) = prepare(0);
    let old = logical(&base_set);
    let mut with_mem = dump(&base_set);
    with_mem.extend(mem.iter().map(|(k, v)| (k.clone(), v.clone())));
    with_mem.sort_by(|a, b| a.0.cmp(&b.0));
    let new = visible(&with_mem, SeqNo::MAX);
    drop(base_set);

    let op = |set: &VersionSet| set.flush(&mut frozen(&mem), 77, &[]).is_ok();
    let total = clean_ops(&op);
    assert!(total > 5);
    for n in 0..=total {
        for seed in [n, n + 1000] {
            crash_at(seed, n, &op, &|ok, set, contents| {
                if ok || set.log_number() == 77 {
                    assert_eq!(*contents, new, "n={n}: an installed flush lost data");
                    assert_eq!(set.log_number(), 77);
                } else {
                    assert_eq!(*contents, old, "n={n}: a failed flush changed the tree");
                }
            });
        }
    }
}

#[test]
fn a_crash_at_every_step_of_a_compaction_keeps_the_contents() {
    let (_, base_set) = prepare(0);
    let old = logical(&base_set);
    let shape_before = base_set.current().l0_count();
    drop(base_set);
    let op = |set: &VersionSet| {
        let plan = pick(&set.current(), set.options(), &Busy::default()).unwrap();
        assert!(!plan.trivial_move);
        set.compact(&plan, &[], &AtomicBool::new(false)).is_ok()
    };
    let total = clean_ops(&op);
    assert!(total > 5);
    let mut completed = 0;
    for n in 0..=total {
        for seed in [n, n + 1000] {
            let ok = crash_at(seed, n, &op, &|ok, set, contents| {
                assert_eq!(*contents, old, "n={n}: contents changed");
                if ok {
                    assert!(
                        set.current().l0_count() < shape_before,
                        "n={n}: acknowledged compaction undone"
                    );
                }
            });
            completed += usize::from(ok);
        }
    }
    assert!(completed >= 2, "the clean run completes");
}

#[test]
fn a_stopped_compaction_leaves_the_tree_unchanged() {
    let (sim, set) = prepare(5);
    let old = logical(&set);
    let plan = pick(&set.current(), set.options(), &Busy::default()).unwrap();
    let stop = AtomicBool::new(true);
    let result = set.compact(&plan, &[], &stop);
    assert!(
        matches!(result, Err(quickcache_compaction::Error::Stopped)),
        "{result:?}"
    );
    assert_eq!(logical(&set), old);
    drop(set);
    let (_, contents) = recover(&sim.crash());
    assert_eq!(contents, old);
}
