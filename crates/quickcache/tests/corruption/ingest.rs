//! The matrix's ingest cells: an ingested table whose manifest edit rots. The edit is
//! the manifest's last record, so its damage reads like a torn append and the open
//! drops it; the WAL's ingest record (format version 5) names the tables, which the
//! open set aside in `lost/`, and recovery redoes the edit: every ingested key reads
//! back, and writes logged after the ingest still win over it. Repair, which reads
//! the WAL too, gives the unlisted table its keyspace and global sequence number
//! from the record. A table that cannot be restored is a corruption error naming
//! it, never a silent loss.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use quickcache::fs::{FileSystem, SimFs};
use quickcache::{Db, Options};
use quickcache_compaction::{CURRENT, parse_manifest_name};
use quickcache_sstable::{SeqNo, Table, TableBuilder, TableOptions};
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

fn key(i: u32) -> String {
    format!("key{i:05}")
}

/// How the last manifest edit is damaged.
#[derive(Debug, Clone, Copy)]
enum Rot {
    /// A bit of its payload flipped.
    Flip,
    /// Its bytes zeroed, to the end of the file.
    Zero,
    /// The file cut in the middle of it.
    Truncate,
}

/// A database whose last manifest edit is an ingest: 300 keys in tables, 100 in the
/// WAL, an ingest of 200 keys (half of them overwriting older keys), then 50 writes
/// logged after it, 10 of them over ingested keys. Returns the disk after a clean
/// close and what every key must read.
fn build(seed: u64) -> (SimFs, BTreeMap<String, String>) {
    let fs = SimFs::new(seed);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    let mut model = BTreeMap::new();
    let put = |db: &Db, model: &mut BTreeMap<String, String>, i: u32, v: String| {
        db.put(key(i), &v).unwrap();
        model.insert(key(i), v);
    };
    for i in 0..300 {
        put(&db, &mut model, i, format!("table-{i}"));
    }
    db.flush().unwrap();
    for i in 300..400 {
        put(&db, &mut model, i, format!("wal-{i}"));
    }
    let file = Path::new("/ingest.sst");
    let mut builder = TableBuilder::new(&fs, file, TableOptions::default()).unwrap();
    let ingested: Vec<u32> = (200..400).collect();
    for &i in &ingested {
        builder
            .add_plain(key(i).as_bytes(), format!("ingested-{i}").as_bytes())
            .unwrap();
    }
    builder.finish().unwrap();
    db.ingest([file]).unwrap();
    for &i in &ingested {
        model.insert(key(i), format!("ingested-{i}"));
    }
    for i in (390..440).rev() {
        put(&db, &mut model, i, format!("after-{i}"));
    }
    db.close().unwrap();
    (fs, model)
}

/// The manifest `CURRENT` names.
fn current_manifest(fs: &SimFs) -> (PathBuf, u64) {
    let current = fs.read_file(&Path::new(DIR).join(CURRENT)).unwrap();
    let name = String::from_utf8(current).unwrap().trim_end().to_owned();
    let number = parse_manifest_name(&name).unwrap();
    (Path::new(DIR).join(name), number)
}

/// Damages the current manifest's last record (the ingest's edit), durably.
fn rot_last_edit(fs: &SimFs, rot: Rot) {
    let (path, number) = current_manifest(fs);
    let mut bytes = fs.read_file(&path).unwrap();
    let (mut at, mut last) = (SEGMENT_HEADER_LEN, None);
    while let Ok(Decoded::Record { next, .. }) = decode_at(&bytes, SegmentId(number), at) {
        last = Some(at);
        at = next;
    }
    assert_eq!(at, bytes.len(), "the manifest ends cleanly");
    let last = last.unwrap();
    match rot {
        Rot::Flip => bytes[last + RECORD_HEADER_LEN + 2] ^= 0x10,
        Rot::Zero => bytes[last..].fill(0),
        Rot::Truncate => bytes.truncate(last + RECORD_HEADER_LEN + 3),
    }
    let mut f = fs.create(&path).unwrap();
    f.append(&bytes).unwrap();
    f.sync_all().unwrap();
}

fn check(db: &Db, model: &BTreeMap<String, String>, what: &str) {
    for i in 0..450 {
        let got = db.get(key(i)).unwrap();
        let got = got.map(|v| String::from_utf8(v.to_vec()).unwrap());
        assert_eq!(got.as_ref(), model.get(&key(i)), "{what}: {}", key(i));
    }
    let scanned: Vec<_> = db.iter().map(|kv| kv.unwrap().0.to_vec()).collect();
    assert_eq!(scanned.len(), model.len(), "{what}: scan");
}

#[test]
fn an_ingest_whose_manifest_edit_rots_is_redone_from_the_wal() {
    let _dog = crate::support::watchdog("an_ingest_whose_manifest_edit_rots_is_redone");
    for (n, rot) in [Rot::Flip, Rot::Zero, Rot::Truncate]
        .into_iter()
        .enumerate()
    {
        let (fs, model) = build(100 + n as u64);
        rot_last_edit(&fs, rot);
        let db = Db::open_with(DIR, options(&fs)).unwrap();
        assert_eq!(db.recovery_report().ingests_redone, 1, "{rot:?}");
        check(&db, &model, &format!("{rot:?}, open"));
        db.close().unwrap();
        // The redo is durable, and the record, replayed again, is now applied.
        let fs = fs.crash();
        let db = Db::open_with(DIR, options(&fs)).unwrap();
        assert_eq!(db.recovery_report().ingests_redone, 0, "{rot:?}");
        check(&db, &model, &format!("{rot:?}, reopen"));
        db.compact_range(..).unwrap();
        check(&db, &model, &format!("{rot:?}, compacted"));
        db.close().unwrap();
    }
}

#[test]
fn repair_places_a_table_whose_ingest_edit_rotted_by_its_wal_record() {
    let _dog = crate::support::watchdog("repair_places_a_table_whose_ingest_edit_rotted");
    let (fs, model) = build(110);
    rot_last_edit(&fs, Rot::Flip);
    quickcache::repair_with(DIR, options(&fs)).unwrap();
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    check(&db, &model, "repair");
    db.close().unwrap();
}

#[test]
fn a_rotted_ingest_edit_whose_table_is_gone_fails_the_open_naming_it() {
    let _dog = crate::support::watchdog("a_rotted_ingest_edit_whose_table_is_gone");
    let (fs, _) = build(120);
    rot_last_edit(&fs, Rot::Flip);
    // The ingested table is the one whose entries carry no sequence numbers.
    let ingested = (tables(&fs).into_iter())
        .find(|n| unnumbered(&fs, n))
        .unwrap();
    fs.remove(&Path::new(DIR).join(&ingested)).unwrap();
    let err = Db::open_with(DIR, options(&fs)).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&ingested) && msg.contains("ingest"), "{msg}");
}

/// Ingests applied long ago (their tables compacted away and deleted) whose WAL
/// records are still replayed are applied, not lost: the manifest's newest-ingest
/// number (tag 13) outlives the tables, also in a fresh manifest (a checkpoint's
/// snapshot).
#[test]
fn ingests_compacted_away_are_not_redone_from_replayed_records() {
    let _dog = crate::support::watchdog("ingests_compacted_away_are_not_redone");
    let fs = SimFs::new(130);
    let db = Db::open_with(
        DIR,
        Options {
            l0_compaction_trigger: 2,
            ..options(&fs)
        },
    )
    .unwrap();
    // Unflushed, it keeps the WAL segments holding the ingest records live.
    let other = db.keyspace("other").unwrap();
    other.put("pin", "the segments").unwrap();
    // Each ingest overlaps the one before, so it joins the level above it: the
    // seventh and eighth land in L0, whose compaction merges them away.
    for n in 0..8 {
        let file = PathBuf::from(format!("/ingest-{n}.sst"));
        let mut builder = TableBuilder::new(&fs, &file, TableOptions::default()).unwrap();
        for i in 1..3 {
            let v = format!("ingested-{n}");
            builder.add_plain(key(i).as_bytes(), v.as_bytes()).unwrap();
        }
        builder.finish().unwrap();
        db.ingest([&file]).unwrap();
    }
    db.put(key(2), "newer").unwrap();
    db.wait_for_compactions().unwrap();
    // Ingested tables are the unnumbered ones; compaction outputs carry numbers.
    let left: Vec<_> = (tables(&fs).into_iter())
        .filter(|t| unnumbered(&fs, t))
        .collect();
    assert!(
        left.len() < 8,
        "no ingested table was compacted away: {left:?}"
    );
    db.checkpoint("/ckpt").unwrap();
    drop(other);
    db.close().unwrap();
    for dir in [DIR, "/ckpt"] {
        let db = Db::open_with(dir, options(&fs)).unwrap();
        assert_eq!(db.recovery_report().ingests_redone, 0, "{dir}");
        assert!(
            db.recovery_report().wal.records >= 8,
            "{dir}: the records are replayed"
        );
        assert_eq!(db.get(key(1)).unwrap().unwrap(), b"ingested-7", "{dir}");
        assert_eq!(db.get(key(2)).unwrap().unwrap(), b"newer", "{dir}");
        db.close().unwrap();
    }
}

/// The table files in the database directory.
fn tables(fs: &SimFs) -> Vec<String> {
    (fs.list(Path::new(DIR)).unwrap().into_iter())
        .filter(|n| n.ends_with(".sst"))
        .collect()
}

/// Whether table `name`'s entries carry no sequence numbers: an ingested table.
fn unnumbered(fs: &SimFs, name: &str) -> bool {
    let table = Table::open(fs, &Path::new(DIR).join(name)).unwrap();
    table.properties().largest_seqno == SeqNo::ZERO
}
