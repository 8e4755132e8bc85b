//! A full disk in the manifest: an append that fails with ENOSPC leaves a torn or
//! absent record, so the writer is never appended to again; the next edit writes a
//! fresh manifest (snapshot, CURRENT switched) once space is back, then the edit.
//! ENOSPC from a sync, and EIO, stay sticky.

#![allow(clippy::unwrap_used, reason = "tests unwrap: a panic is a failed test")]

use std::path::Path;
use std::sync::Arc;

use quickcache_compaction::{
    CompactionOptions, Error, Level, TableInfo, VersionEdit, VersionSet, manifest_name,
};
use quickcache_fs::{CrashMode, DynFs, Fault, FaultPlan, FileSystem, Op, SimFs};
use quickcache_sstable::{InternalKey, SeqNo, ValueKind};

fn dir() -> &'static Path {
    Path::new("/db")
}

fn table(fs: &SimFs, set: &VersionSet, lo: &str, hi: &str) -> TableInfo {
    let id = set.new_table_id().unwrap();
    let mut f = fs.create(&id.path(dir())).unwrap();
    f.append(&[7; 100]).unwrap();
    f.sync_all().unwrap();
    fs.sync_dir(dir()).unwrap();
    let seq = SeqNo::new(id.0).unwrap();
    TableInfo {
        id,
        size: 100,
        smallest: InternalKey::new(lo.as_bytes(), seq, ValueKind::Value),
        largest: InternalKey::new(hi.as_bytes(), seq, ValueKind::Value),
        min_seqno: seq,
        max_seqno: seq,
        entries: 1,
        tombstones: 0,
        global_seqno: None,
    }
}

fn open(fs: &SimFs) -> VersionSet {
    let fs = Arc::new(fs.clone()) as DynFs;
    VersionSet::open_or_create(fs, dir(), CompactionOptions::default()).unwrap()
}

fn add(info: &TableInfo) -> VersionEdit {
    VersionEdit {
        added: vec![(Level::new(1).unwrap(), info.clone())],
        ..VersionEdit::new()
    }
}

fn ids(set: &VersionSet) -> Vec<u64> {
    let v = set.current();
    let mut ids: Vec<u64> = (Level::all())
        .flat_map(|l| v.infos(l).map(|t| t.id.0).collect::<Vec<_>>())
        .collect();
    ids.sort_unstable();
    ids
}

fn manifest_appends_fail(fault: Fault, op: Op) -> FaultPlan {
    FaultPlan::new().fail_matching(
        move |o, p: &Path| {
            o == op
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("MANIFEST-"))
        },
        fault,
    )
}

#[test]
fn a_full_disk_in_the_manifest_is_replaced_by_a_fresh_manifest_once_space_is_back() {
    let fs = SimFs::new(1);
    let set = open(&fs);
    let a = table(&fs, &set, "a", "b");
    set.log_and_apply(add(&a)).unwrap();
    let old = set.manifest_number();
    let b = table(&fs, &set, "c", "d");
    // The disk fills: the manifest append fails with a short write.
    fs.set_capacity(Some(fs.used_bytes() + 5));
    let e = set.log_and_apply(add(&b)).unwrap_err();
    assert!(e.is_retryable_no_space(), "{e}");
    assert!(set.manifest_needs_replacing());
    // Still full: writing the fresh manifest fails too, and leaves nothing behind.
    let e = set.log_and_apply(add(&b)).unwrap_err();
    assert!(e.is_retryable_no_space(), "{e}");
    assert_eq!(set.manifest_number(), old);
    let manifests = |fs: &SimFs| {
        let names = fs.list(dir()).unwrap();
        names
            .into_iter()
            .filter(|n| n.starts_with("MANIFEST-"))
            .count()
    };
    assert_eq!(manifests(&fs), 1, "the partial fresh manifest is removed");
    // A power loss now keeps the old manifest with its torn tail dropped.
    let crashed = fs.crash_with(CrashMode::Torn);
    assert_eq!(ids(&open(&crashed)), vec![a.id.0]);
    // Space is back: the next edit writes a fresh manifest, then itself.
    fs.set_capacity(None);
    set.log_and_apply(add(&b)).unwrap();
    assert!(set.manifest_number() > old && !set.manifest_needs_replacing());
    assert!(!fs.exists(&dir().join(manifest_name(old))).unwrap());
    assert_eq!(manifests(&fs), 1);
    assert_eq!(ids(&set), vec![a.id.0, b.id.0]);
    drop(set);
    for mode in [CrashMode::DropUnsynced, CrashMode::TornWithGarbage] {
        assert_eq!(ids(&open(&fs.crash_with(mode))), vec![a.id.0, b.id.0]);
    }
}

#[test]
fn a_failed_sync_or_eio_poisons_the_manifest_for_good() {
    for (fault, op) in [(Fault::NoSpace, Op::SyncData), (Fault::Io, Op::Append)] {
        let fs = SimFs::new(2);
        let set = open(&fs);
        let a = table(&fs, &set, "a", "b");
        fs.set_faults(manifest_appends_fail(fault, op));
        let e = set.log_and_apply(add(&a)).unwrap_err();
        assert!(!e.is_retryable_no_space(), "{e}");
        fs.clear_faults();
        let e = set.log_and_apply(add(&a)).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Poisoned {
                    retryable: false,
                    ..
                }
            ),
            "{e}"
        );
        assert!(!set.manifest_needs_replacing());
    }
}

#[test]
fn a_rotation_that_meets_a_full_disk_keeps_the_old_manifest_in_use() {
    let fs = SimFs::new(3);
    let options = CompactionOptions {
        max_manifest_size: 1,
        ..CompactionOptions::default()
    };
    let set = VersionSet::open_or_create(Arc::new(fs.clone()) as DynFs, dir(), options).unwrap();
    let a = table(&fs, &set, "a", "b");
    let before = set.manifest_number();
    // Appends to the open manifest succeed; creating the rotation's file fails.
    fs.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Create, Fault::NoSpace));
    set.log_and_apply(add(&a)).unwrap();
    assert_eq!(set.manifest_number(), before);
    assert!(!set.manifest_needs_replacing());
    fs.clear_faults();
    let b = table(&fs, &set, "c", "d");
    set.log_and_apply(add(&b)).unwrap();
    assert!(set.manifest_number() > before);
    drop(set);
    assert_eq!(
        ids(&open(&fs.crash_with(CrashMode::DropUnsynced))),
        vec![a.id.0, b.id.0]
    );
}
