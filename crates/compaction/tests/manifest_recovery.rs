//! What an open does with a manifest it cannot fully trust: a damaged last record is
//! dropped but its evidence kept until the caller's cleanup, numbers read from disk
//! never overflow, and errors name the record they are about.

#![allow(clippy::unwrap_used, reason = "tests unwrap: a panic is a failed test")]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quickcache_compaction::{
    CompactionOptions, Error, Level, TableInfo, VersionEdit, VersionSet, manifest_name,
};
use quickcache_fs::{DynFs, FileSystem, SimFs};
use quickcache_sstable::{InternalKey, SeqNo, ValueKind};
use quickcache_wal::SegmentId;
use quickcache_wal::frame::{encode, encode_segment_header};

const DIR: &str = "/db";

fn dir() -> &'static Path {
    Path::new(DIR)
}

fn dyn_fs(fs: &SimFs) -> DynFs {
    Arc::new(fs.clone())
}

fn info(id: u64, lo: &str, hi: &str, size: u64) -> TableInfo {
    let seq = SeqNo::new(id.clamp(1, 1 << 40)).unwrap();
    TableInfo {
        id: quickcache_compaction::TableId(id),
        size,
        smallest: InternalKey::new(lo.as_bytes(), seq, ValueKind::Value),
        largest: InternalKey::new(hi.as_bytes(), seq, ValueKind::Value),
        min_seqno: seq,
        max_seqno: seq,
        entries: 1,
        tombstones: 0,
        global_seqno: None,
    }
}

/// A table file of `size` bytes, listed in L0 by an edit that sets log number `log`,
/// as a flush does.
fn flush(fs: &SimFs, set: &VersionSet, lo: &str, hi: &str, log: u64) -> TableInfo {
    let t = info(set.new_table_id().unwrap().0, lo, hi, 40);
    let mut f = fs.create(&t.id.path(dir())).unwrap();
    f.append(&[7; 40]).unwrap();
    f.sync_all().unwrap();
    fs.sync_dir(dir()).unwrap();
    set.log_and_apply(VersionEdit {
        log_number: Some(log),
        added: vec![(Level::L0, t.clone())],
        ..VersionEdit::new()
    })
    .unwrap();
    t
}

fn manifest_path(set: &VersionSet) -> PathBuf {
    dir().join(manifest_name(set.manifest_number()))
}

/// Flips a byte inside the payload of the record at `offset` of `path`.
fn rot(fs: &SimFs, path: &Path, offset: u64) {
    let mut bytes = fs.read_file(path).unwrap();
    bytes[offset as usize + quickcache_wal::RECORD_HEADER_LEN + 3] ^= 0x40;
    let mut f = fs.create(path).unwrap();
    f.append(&bytes).unwrap();
    f.sync_all().unwrap();
}

#[test]
fn a_rotted_last_edit_keeps_the_old_manifest_and_its_table_until_the_cleanup() {
    let fs = SimFs::new(31);
    let set = VersionSet::open_or_create(dyn_fs(&fs), dir(), CompactionOptions::default()).unwrap();
    flush(&fs, &set, "a", "b", 2);
    let path = manifest_path(&set);
    let last = fs.size(&path).unwrap();
    let table = flush(&fs, &set, "c", "d", 3);
    drop(set);
    rot(&fs, &path, last);

    let set = VersionSet::open_deferring_cleanup(dyn_fs(&fs), dir(), CompactionOptions::default())
        .unwrap();
    let tail = set.dropped_tail().unwrap();
    assert_eq!((&tail.path, tail.offset), (&path, last));
    assert_eq!(tail.bytes, fs.size(&path).unwrap() - last);
    assert_eq!(set.log_number(), 2, "the rotted edit is not applied");
    assert!(set.manifest_number() > 0 && manifest_path(&set) != path);
    assert!(fs.exists(&path).unwrap(), "the old manifest is evidence");
    assert!(fs.exists(&table.id.path(dir())).unwrap(), "so is its table");

    let removed = set.remove_unreferenced().unwrap();
    assert!(removed.contains(&table.id.file_name()), "{removed:?}");
    assert!(!fs.exists(&path).unwrap());
}

#[test]
fn a_table_missing_after_a_dropped_tail_names_the_manifest() {
    let fs = SimFs::new(32);
    let set = VersionSet::open_or_create(dyn_fs(&fs), dir(), CompactionOptions::default()).unwrap();
    let gone = flush(&fs, &set, "a", "b", 2);
    let path = manifest_path(&set);
    let last = fs.size(&path).unwrap();
    // A compaction's edit: durable, so the input's file goes with the last reader.
    set.log_and_apply(VersionEdit {
        removed: vec![(Level::L0, gone.id)],
        ..VersionEdit::new()
    })
    .unwrap();
    drop(set);
    assert!(!fs.exists(&gone.id.path(dir())).unwrap());
    rot(&fs, &path, last);

    let err = VersionSet::open_deferring_cleanup(dyn_fs(&fs), dir(), CompactionOptions::default())
        .unwrap_err();
    assert!(
        matches!(&err, Error::MissingTable { id, dropped_tail: Some(t), .. }
            if *id == gone.id && t.path == path && t.offset == last),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains(&manifest_name(1)), "{message}");
    assert!(err.is_corruption());
}

#[test]
fn a_refused_edit_is_not_corruption_and_writes_nothing() {
    let fs = SimFs::new(33);
    let set = VersionSet::open_or_create(dyn_fs(&fs), dir(), CompactionOptions::default()).unwrap();
    let path = manifest_path(&set);
    let len = fs.size(&path).unwrap();
    let err = set
        .log_and_apply(VersionEdit {
            removed: vec![(Level::L0, quickcache_compaction::TableId(77))],
            ..VersionEdit::new()
        })
        .unwrap_err();
    assert!(matches!(&err, Error::EditRefused { .. }), "{err}");
    assert!(!err.is_corruption());
    assert_eq!(fs.size(&path).unwrap(), len);
}

#[test]
fn an_edit_too_large_to_frame_is_refused_without_poisoning_the_manifest() {
    let fs = SimFs::new(34);
    let set = VersionSet::open_or_create(dyn_fs(&fs), dir(), CompactionOptions::default()).unwrap();
    let huge = "k".repeat(quickcache_wal::MAX_RECORD_LEN as usize);
    let edit = VersionEdit {
        added: vec![(
            Level::L0,
            info(set.new_table_id().unwrap().0, "a", &huge, 1),
        )],
        ..VersionEdit::new()
    };
    let err = set.log_and_apply(edit).unwrap_err();
    assert!(matches!(&err, Error::EditRefused { .. }), "{err}");
    // Nothing reached the file, so the manifest takes the next edit.
    flush(&fs, &set, "a", "b", 2);
}

/// Writes manifest `number` holding `edits` (each framed at its offset) and points
/// `CURRENT` at it; returns each record's offset.
fn write_manifest(fs: &SimFs, number: u64, edits: &[VersionEdit]) -> Vec<u64> {
    fs.create_dir_all(dir()).unwrap();
    let mut bytes = encode_segment_header(SegmentId(number)).to_vec();
    let mut offsets = Vec::new();
    for edit in edits {
        let mut payload = Vec::new();
        edit.encode(&mut payload);
        offsets.push(bytes.len() as u64);
        let at = bytes.len() as u64;
        encode(&mut bytes, SegmentId(number), at, &payload).unwrap();
    }
    for (name, contents) in [
        (manifest_name(number), bytes),
        (
            "CURRENT".to_owned(),
            format!("{}\n", manifest_name(number)).into_bytes(),
        ),
    ] {
        let mut f = fs.create(&dir().join(name)).unwrap();
        f.append(&contents).unwrap();
        f.sync_all().unwrap();
    }
    offsets
}

fn snapshot() -> VersionEdit {
    VersionEdit {
        log_number: Some(1),
        next_file: Some(5),
        ..VersionEdit::new()
    }
}

fn open_err(fs: &SimFs) -> Error {
    VersionSet::open(dyn_fs(fs), dir(), CompactionOptions::default()).unwrap_err()
}

#[test]
fn an_edit_that_does_not_fit_is_named_by_its_record_offset() {
    let fs = SimFs::new(35);
    let misfit = VersionEdit {
        removed: vec![(Level::new(1).unwrap(), quickcache_compaction::TableId(3))],
        ..VersionEdit::new()
    };
    let offsets = write_manifest(&fs, 1, &[snapshot(), snapshot(), misfit]);
    let err = open_err(&fs);
    assert!(
        matches!(&err, Error::ManifestCorrupt { offset, reason, .. }
            if *offset == offsets[2] && reason.contains("edit 2")),
        "{err}"
    );
}

#[test]
fn the_last_table_id_is_corruption_at_its_record() {
    let fs = SimFs::new(36);
    let last = VersionEdit {
        added: vec![(Level::L0, info(u64::MAX, "a", "b", 1))],
        ..VersionEdit::new()
    };
    let offsets = write_manifest(&fs, 1, &[snapshot(), last]);
    let err = open_err(&fs);
    assert!(
        matches!(&err, Error::ManifestCorrupt { path, offset, .. }
            if *path == dir().join(manifest_name(1)) && *offset == offsets[1]),
        "{err}"
    );
}

#[test]
fn the_last_manifest_number_is_corruption_naming_the_manifest() {
    let fs = SimFs::new(37);
    write_manifest(&fs, u64::MAX, &[snapshot()]);
    let err = open_err(&fs);
    assert!(
        matches!(&err, Error::ManifestCorrupt { path, .. }
            if *path == dir().join(manifest_name(u64::MAX))),
        "{err}"
    );
}

#[test]
fn a_table_id_one_below_the_last_leaves_no_number_for_a_fresh_manifest() {
    let fs = SimFs::new(38);
    let t = info(u64::MAX - 1, "a", "b", 1);
    let edit = VersionEdit {
        added: vec![(Level::L0, t.clone())],
        ..VersionEdit::new()
    };
    write_manifest(&fs, 1, &[snapshot(), edit]);
    let mut f = fs.create(&t.id.path(dir())).unwrap();
    f.append(&[1]).unwrap();
    f.sync_all().unwrap();
    // A limit this small makes the open start a fresh manifest, numbered after the table.
    let options = CompactionOptions {
        max_manifest_size: 1,
        ..CompactionOptions::default()
    };
    let err = VersionSet::open(dyn_fs(&fs), dir(), options).unwrap_err();
    assert!(matches!(&err, Error::ManifestCorrupt { .. }), "{err}");
}
