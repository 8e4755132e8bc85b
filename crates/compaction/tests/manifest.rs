//! The manifest and CURRENT: edits survive reopening, rotation keeps one manifest,
//! and every kind of damage is an error naming the damaged file.

#![allow(clippy::unwrap_used, reason = "tests unwrap: a panic is a failed test")]

use std::path::Path;
use std::sync::Arc;

use quickcache_compaction::{
    CompactionOptions, Error, Level, TableId, TableInfo, VersionEdit, VersionSet, manifest_name,
};
use quickcache_fs::{DynFs, FileSystem, SimFs};
use quickcache_sstable::{InternalKey, SeqNo, ValueKind};

const DIR: &str = "/db";

fn dir() -> &'static Path {
    Path::new(DIR)
}

fn seq(n: u64) -> SeqNo {
    SeqNo::new(n).unwrap()
}

/// A table file of `size` bytes (its contents do not matter to the manifest).
fn table(fs: &SimFs, set: &VersionSet, lo: &str, hi: &str, size: u64) -> TableInfo {
    let id = set.new_table_id().unwrap();
    let mut f = fs.create(&id.path(dir())).unwrap();
    f.append(&vec![7; size as usize]).unwrap();
    f.sync_all().unwrap();
    fs.sync_dir(dir()).unwrap();
    TableInfo {
        id,
        size,
        smallest: InternalKey::new(lo.as_bytes(), seq(1), ValueKind::Value),
        largest: InternalKey::new(hi.as_bytes(), seq(1), ValueKind::Value),
        min_seqno: seq(1),
        max_seqno: seq(id.0),
        entries: 3,
        tombstones: 1,
        global_seqno: None,
    }
}

fn open(fs: &SimFs, options: CompactionOptions) -> Result<VersionSet, Error> {
    VersionSet::open_or_create(Arc::new(fs.clone()) as DynFs, dir(), options)
}

fn add(set: &VersionSet, level: usize, info: TableInfo, log: u64) {
    let edit = VersionEdit {
        log_number: Some(log),
        last_seqno: Some(info.max_seqno),
        added: vec![(Level::new(level).unwrap(), info)],
        ..VersionEdit::new()
    };
    set.log_and_apply(edit).unwrap();
}

fn shape(set: &VersionSet) -> Vec<(usize, u64)> {
    let v = set.current();
    v.tables()
        .map(|(l, t)| (l.index(), t.info().id.0))
        .collect()
}

fn files(fs: &SimFs) -> Vec<String> {
    let mut names = fs.list(dir()).unwrap();
    names.sort();
    names
}

#[test]
fn edits_survive_reopening() {
    let fs = SimFs::new(1);
    let set = open(&fs, CompactionOptions::default()).unwrap();
    let a = table(&fs, &set, "a", "c", 100);
    let b = table(&fs, &set, "d", "f", 200);
    add(&set, 0, a.clone(), 3);
    add(&set, 1, b.clone(), 4);
    let moved = VersionEdit {
        removed: vec![(Level::L0, a.id)],
        added: vec![(Level::new(2).unwrap(), a.clone())],
        ..VersionEdit::new()
    };
    set.log_and_apply(moved).unwrap();
    let before = shape(&set);
    drop(set);

    let after = fs.crash();
    let set = open(&after, CompactionOptions::default()).unwrap();
    assert_eq!(shape(&set), before);
    assert_eq!(set.log_number(), 4);
    assert_eq!(set.last_seqno(), b.max_seqno);
    assert!(
        set.new_table_id().unwrap().0 > b.id.0,
        "file numbers are never reused"
    );
    let manifests: Vec<_> = files(&after)
        .into_iter()
        .filter(|n| n.starts_with("MANIFEST"))
        .collect();
    assert_eq!(
        manifests.len(),
        1,
        "the open starts one fresh manifest: {manifests:?}"
    );
}

#[test]
fn a_removed_table_is_deleted_once_no_reader_holds_it() {
    let fs = SimFs::new(2);
    let set = open(&fs, CompactionOptions::default()).unwrap();
    let a = table(&fs, &set, "a", "c", 100);
    add(&set, 1, a.clone(), 1);
    let reader = set.current();
    set.log_and_apply(VersionEdit {
        removed: vec![(Level::new(1).unwrap(), a.id)],
        ..VersionEdit::new()
    })
    .unwrap();
    let path = a.id.path(dir());
    assert!(
        fs.exists(&path).unwrap(),
        "a reader still holds the old version"
    );
    drop(reader);
    assert!(
        !fs.exists(&path).unwrap(),
        "deleted with the last version listing it"
    );
}

#[test]
fn a_large_manifest_is_rotated() {
    let fs = SimFs::new(3);
    let options = CompactionOptions {
        max_manifest_size: 300,
        ..CompactionOptions::default()
    };
    let set = open(&fs, options.clone()).unwrap();
    let first = set.manifest_number();
    for i in 0..20u8 {
        let k = format!("{}", char::from(b'a' + i));
        let t = table(&fs, &set, &k, &k, 10);
        add(&set, 1, t, u64::from(i));
    }
    assert!(set.manifest_number() > first);
    let manifests = files(&fs)
        .into_iter()
        .filter(|n| n.starts_with("MANIFEST"))
        .count();
    assert_eq!(manifests, 1);
    let before = shape(&set);
    drop(set);
    assert_eq!(shape(&open(&fs.crash(), options).unwrap()), before);
}

#[test]
fn unreferenced_files_are_removed_at_open() {
    let fs = SimFs::new(4);
    let set = open(&fs, CompactionOptions::default()).unwrap();
    let live = table(&fs, &set, "a", "b", 10);
    add(&set, 1, live.clone(), 1);
    let orphan = table(&fs, &set, "c", "d", 10);
    drop(set);
    let set = open(&fs, CompactionOptions::default()).unwrap();
    let names = files(&fs);
    assert!(names.contains(&live.id.file_name()));
    assert!(!names.contains(&orphan.id.file_name()), "{names:?}");
    assert_eq!(shape(&set), [(1, live.id.0)]);
}

fn populated() -> (SimFs, TableInfo, u64) {
    let fs = SimFs::new(5);
    let set = open(&fs, CompactionOptions::default()).unwrap();
    let t = table(&fs, &set, "a", "b", 50);
    add(&set, 1, t.clone(), 1);
    for i in 0..3 {
        let more = table(&fs, &set, &format!("c{i}"), &format!("c{i}"), 50);
        add(&set, 1, more, 2);
    }
    let number = set.manifest_number();
    (fs, t, number)
}

#[test]
fn a_missing_or_resized_table_is_named() {
    let (fs, t, _) = populated();
    let path = t.id.path(dir());
    fs.truncate(&path, 10).unwrap();
    let err = open(&fs, CompactionOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::TableSizeMismatch { id, expected: 50, actual: 10, .. } if *id == t.id),
        "{err}"
    );
    fs.remove(&path).unwrap();
    let err = open(&fs, CompactionOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::MissingTable { id, .. } if *id == t.id),
        "{err}"
    );
    assert!(err.to_string().contains(&t.id.file_name()));
}

fn manifest_path(number: u64) -> std::path::PathBuf {
    dir().join(quickcache_compaction::manifest_name(number))
}

fn rewrite(fs: &SimFs, path: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = fs.read_file(path).unwrap();
    edit(&mut bytes);
    let mut f = fs.create(path).unwrap();
    f.append(&bytes).unwrap();
    f.sync_all().unwrap();
}

#[test]
fn a_damaged_manifest_is_named() {
    let (fs, _, number) = populated();
    let path = manifest_path(number);
    // Damage in the first record, intact records after it: corruption, not a tail.
    rewrite(&fs, &path, |b| b[40] ^= 0x55);
    let err = open(&fs, CompactionOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::ManifestCorrupt { path: p, .. } if *p == path),
        "{err}"
    );
    assert!(err.is_corruption());
}

#[test]
fn a_torn_manifest_tail_loses_only_the_unfinished_edit() {
    let (fs, _, number) = populated();
    let set_shape = {
        let set = open(&fs, CompactionOptions::default()).unwrap();
        shape(&set)
    };
    // Tear the last record by appending half a frame.
    let path = manifest_path(number);
    rewrite(&fs, &path, |b| b.extend_from_slice(&[9, 9, 9, 9, 9]));
    let set = open(&fs, CompactionOptions::default()).unwrap();
    assert_eq!(shape(&set), set_shape);
    // A torn manifest is not appended to: a fresh one replaces it.
    assert!(set.manifest_number() > number);
    assert_eq!(manifests(&fs), [manifest_name(set.manifest_number())]);
}

fn manifests(fs: &SimFs) -> Vec<String> {
    files(fs)
        .into_iter()
        .filter(|n| n.starts_with("MANIFEST"))
        .collect()
}

#[test]
fn a_clean_small_manifest_is_continued_across_opens_and_crashes() {
    let (fs, _, number) = populated();
    let current = fs.read_file(&dir().join("CURRENT")).unwrap();
    let set = open(&fs, CompactionOptions::default()).unwrap();
    assert_eq!(set.manifest_number(), number);
    let t = table(&fs, &set, "x", "y", 20);
    add(&set, 2, t, 9);
    let before = shape(&set);
    drop(set);
    // Power loss right after: the appended edit was synced, CURRENT never changed.
    let fs = fs.crash();
    assert_eq!(fs.read_file(&dir().join("CURRENT")).unwrap(), current);
    let set = open(&fs, CompactionOptions::default()).unwrap();
    assert_eq!((set.manifest_number(), shape(&set)), (number, before));
    assert_eq!(set.log_number(), 9);
}

#[test]
fn a_manifest_past_half_its_limit_is_replaced_at_open() {
    let (fs, _, number) = populated();
    let size = fs.size(&manifest_path(number)).unwrap();
    let options = CompactionOptions {
        max_manifest_size: 2 * size,
        ..CompactionOptions::default()
    };
    let set = open(&fs, options).unwrap();
    assert!(set.manifest_number() > number);
    assert_eq!(manifests(&fs), [manifest_name(set.manifest_number())]);
}

#[test]
fn a_damaged_or_dangling_current_is_named() {
    let (fs, _, _) = populated();
    let current = dir().join("CURRENT");
    rewrite(&fs, &current, |b| b.iter_mut().for_each(|x| *x = 0));
    let err = open(&fs, CompactionOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::BadCurrent { path, .. } if *path == current),
        "{err}"
    );
    assert!(err.to_string().contains("CURRENT"));

    rewrite(&fs, &current, |b| *b = b"MANIFEST-000999\n".to_vec());
    let err = open(&fs, CompactionOptions::default()).unwrap_err();
    assert!(err.to_string().contains("MANIFEST-000999"), "{err}");
}

#[test]
fn a_failed_manifest_write_poisons_the_set() {
    let fs = SimFs::new(6);
    let set = open(&fs, CompactionOptions::default()).unwrap();
    let t = table(&fs, &set, "a", "b", 10);
    fs.set_faults(quickcache_fs::FaultPlan::new().fail_nth(1, quickcache_fs::Fault::Io));
    let edit = VersionEdit {
        added: vec![(Level::new(1).unwrap(), t.clone())],
        ..VersionEdit::new()
    };
    assert!(set.log_and_apply(edit.clone()).is_err());
    fs.clear_faults();
    let err = set.log_and_apply(edit).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Poisoned {
                retryable: false,
                ..
            }
        ),
        "{err}"
    );
    let _ = TableId(0);
}
