//! A flush's manifest edit that rotted after it was synced looks like a torn tail. The
//! open must then fail naming the manifest, before it removes anything: the flushed
//! table and the old manifest are the evidence (and the data) the edit described.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use quickcache::fs::{FileSystem, SimFs};
use quickcache::{Db, Options};
use quickcache_compaction::{CURRENT, parse_manifest_name};
use quickcache_wal::frame::{Decoded, decode_at};
use quickcache_wal::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, SegmentId};

const DIR: &str = "/db";

fn options(fs: &SimFs) -> Options {
    Options {
        flush_interval: None,
        flush_on_close: false,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

fn names(fs: &SimFs) -> Vec<String> {
    let mut names = fs.list(Path::new(DIR)).unwrap();
    names.sort();
    names
}

/// The manifest `CURRENT` names, and its number.
fn current_manifest(fs: &SimFs) -> (PathBuf, u64) {
    let current = fs.read_file(&Path::new(DIR).join(CURRENT)).unwrap();
    let name = String::from_utf8(current).unwrap().trim_end().to_owned();
    let number = parse_manifest_name(&name).unwrap();
    (Path::new(DIR).join(name), number)
}

/// The offset of the last record of manifest `number`, whose file holds `bytes`.
fn last_record(bytes: &[u8], number: u64) -> usize {
    let (mut at, mut last) = (SEGMENT_HEADER_LEN, None);
    while let Ok(Decoded::Record { next, .. }) = decode_at(bytes, SegmentId(number), at) {
        last = Some(at);
        at = next;
    }
    assert_eq!(at, bytes.len(), "the manifest ends cleanly");
    last.unwrap()
}

/// Flips a bit in the payload of the current manifest's last record, durably;
/// returns the manifest's path, the record's offset and the bytes now on disk.
fn rot_last_edit(fs: &SimFs) -> (PathBuf, usize, Vec<u8>) {
    let (path, number) = current_manifest(fs);
    let mut bytes = fs.read_file(&path).unwrap();
    let last = last_record(&bytes, number);
    bytes[last + RECORD_HEADER_LEN + 2] ^= 0x10;
    let mut f = fs.create(&path).unwrap();
    f.append(&bytes).unwrap();
    f.sync_all().unwrap();
    (path, last, bytes)
}

#[test]
fn a_rotted_flush_edit_fails_the_open_and_removes_nothing() {
    let _dog = support::watchdog("a_rotted_flush_edit_fails_the_open_and_removes_nothing");
    let fs = SimFs::new(41);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    for i in 0..100u32 {
        db.put(format!("key{i:03}"), "flushed").unwrap();
    }
    db.flush().unwrap();
    db.put("later", "in the WAL").unwrap();
    db.close().unwrap();
    let tables: Vec<String> = (names(&fs).into_iter())
        .filter(|n| n.ends_with(".sst"))
        .collect();
    assert_eq!(tables.len(), 1, "{:?}", names(&fs));

    // The flush edit is the manifest's last record: rot a byte of its payload.
    let (path, last, bytes) = rot_last_edit(&fs);
    let before = names(&fs);

    let err = Db::open_with(DIR, options(&fs)).unwrap_err();
    let message = err.to_string();
    let manifest = path.file_name().unwrap().to_str().unwrap();
    assert!(message.contains(manifest), "{message}");
    assert!(message.contains(&format!("offset {last}")), "{message}");
    assert!(err.is_corruption(), "{message}");
    let after = names(&fs);
    for evidence in tables.iter().map(String::as_str).chain([manifest]) {
        assert!(
            after.iter().any(|n| n == evidence),
            "{evidence} removed: {after:?}"
        );
    }
    // Only the clean-close marker goes: an open takes it before the tree is read.
    let kept = |n: &String| n == quickcache::CLOSED_FILE || after.contains(n);
    assert!(before.iter().all(kept), "{before:?} -> {after:?}");
    assert_eq!(
        fs.read_file(&path).unwrap(),
        bytes,
        "the evidence is untouched"
    );
}

/// An ingest's edit rotted at the manifest's end reads like an append a crash tore:
/// the open cannot tell the two apart and drops it. The table is not deleted as
/// unreferenced: it is the only copy of that data, so the open sets it aside in
/// `lost/` (the corruption matrix found the deletion when an ingest was the last
/// edit), and the WAL's ingest record then has recovery redo the edit from that copy
/// (`docs/durability.md`, "Corruption matrix"): the key reads back, from a table
/// with the same bytes, and the set-aside copy has served.
#[test]
fn an_unlisted_table_after_a_dropped_manifest_tail_is_set_aside_and_ingested_again() {
    let _dog = support::watchdog("an_unlisted_table_after_a_dropped_manifest_tail");
    let fs = SimFs::new(43);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    let mut loader = db.bulk_loader().unwrap();
    loader.put("ingested", "only here").unwrap();
    loader.finish().unwrap();
    db.close().unwrap();
    let tables = |fs: &SimFs| -> Vec<String> {
        (names(fs).into_iter())
            .filter(|n| n.ends_with(".sst"))
            .collect()
    };
    let before = tables(&fs);
    assert_eq!(before.len(), 1, "{:?}", names(&fs));
    let table = fs.read_file(&Path::new(DIR).join(&before[0])).unwrap();

    // The ingest's edit is the manifest's last record: rot a byte of its payload.
    let _rotted = rot_last_edit(&fs);

    let db = Db::open_with(DIR, options(&fs)).unwrap();
    assert_eq!(db.recovery_report().ingests_redone, 1);
    assert_eq!(db.get("ingested").unwrap().unwrap(), b"only here");
    db.close().unwrap();
    let after = tables(&fs);
    assert_eq!(after.len(), 1, "{:?}", names(&fs));
    assert_ne!(after, before, "copied in under a fresh number");
    assert_eq!(
        fs.read_file(&Path::new(DIR).join(&after[0])).unwrap(),
        table
    );
    let kept = Path::new(DIR).join("lost").join(&before[0]);
    assert!(!fs.exists(&kept).unwrap(), "the set-aside copy has served");
}
