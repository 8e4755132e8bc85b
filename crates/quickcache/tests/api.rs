#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Every public API of the facade, on the real file system.

mod support;

use quickcache::{Db, Durability, Options, WriteBatch, WriteOptions};

fn small() -> Options {
    Options {
        memtable_size: 64 << 10,
        ..Options::default()
    }
}

fn keys(
    iter: impl Iterator<Item = quickcache::Result<(Vec<u8>, quickcache::Value)>>,
) -> Vec<Vec<u8>> {
    iter.map(|kv| kv.unwrap().0).collect()
}

#[test]
fn put_get_delete_contains_and_values_from_tables_are_mapped() {
    let _dog = support::watchdog("put_get_delete_contains_and_values_from_tables_are_mapped");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.put("a", "1").unwrap();
    db.put("b", "2").unwrap();
    db.delete("a").unwrap();
    assert_eq!(db.get("a").unwrap(), None);
    assert!(!db.contains_key("a").unwrap());
    assert_eq!(db.get("b").unwrap().unwrap(), b"2");
    db.flush().unwrap();
    let v = db.get("b").unwrap().unwrap();
    assert!(v.is_mapped());
    assert_eq!(v, b"2");
    assert_eq!(db.get("a").unwrap(), None, "the tombstone is flushed too");
}

#[test]
fn batches_and_per_write_durability() {
    let _dog = support::watchdog("batches_and_per_write_durability");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let mut batch = WriteBatch::new();
    batch.put("x", "1").put("y", "2").delete("x");
    db.write(batch).unwrap();
    assert_eq!(keys(db.iter()), [b"y".to_vec()]);
    for d in [Durability::Buffered, Durability::Os, Durability::Synced] {
        db.put_with(
            "d",
            format!("{d:?}"),
            &WriteOptions {
                durability: Some(d),
                ..WriteOptions::default()
            },
        )
        .unwrap();
        assert_eq!(db.get("d").unwrap().unwrap(), format!("{d:?}").as_bytes());
    }
    db.write(WriteBatch::new()).unwrap();
    db.sync().unwrap();
}

#[test]
fn ranges_prefixes_and_both_directions() {
    let _dog = support::watchdog("ranges_prefixes_and_both_directions");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), small()).unwrap();
    for i in 0..300u32 {
        db.put(format!("k{i:03}"), i.to_string()).unwrap();
        if i == 150 {
            db.flush().unwrap();
        }
    }
    let k = |i: u32| format!("k{i:03}").into_bytes();
    assert_eq!(keys(db.range(k(10)..k(13))), [k(10), k(11), k(12)]);
    assert_eq!(keys(db.range(k(10)..=k(12)).rev()), [k(12), k(11), k(10)]);
    use std::ops::Bound::{Excluded, Included};
    let r = db.range((Excluded(k(10)), Included(k(12))));
    assert_eq!(keys(r), [k(11), k(12)]);
    assert_eq!(db.prefix("k29").count(), 10);
    assert_eq!(db.iter().count(), 300);
    assert_eq!(db.iter().rev().count(), 300);
    // Both ends of one iterator meet without repeating a key.
    let mut it = db.range(k(0)..k(5));
    let mut seen = vec![
        it.next().unwrap().unwrap().0,
        it.next_back().unwrap().unwrap().0,
    ];
    seen.extend(it.map(|kv| kv.unwrap().0));
    seen.sort();
    assert_eq!(seen, (0..5).map(k).collect::<Vec<_>>());
    assert_eq!(db.prefix([0xffu8]).count(), 0);
}

#[test]
fn snapshots_see_the_past_and_are_released() {
    let _dog = support::watchdog("snapshots_see_the_past_and_are_released");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), small()).unwrap();
    db.put("k", "old").unwrap();
    let snap = db.snapshot();
    db.put("k", "new").unwrap();
    db.put("j", "new").unwrap();
    db.compact_range(..).unwrap();
    assert_eq!(snap.get("k").unwrap().unwrap(), b"old");
    assert!(!snap.contains_key("j").unwrap());
    assert_eq!(snap.iter().count(), 1);
    assert_eq!(snap.range("a".."z").count(), 1);
    assert_eq!(snap.prefix("k").count(), 1);
    assert_eq!(db.stats().snapshots, 1);
    drop(snap);
    assert_eq!(db.stats().snapshots, 0);
}

#[test]
fn flush_compact_and_stats() {
    let _dog = support::watchdog("flush_compact_and_stats");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), small()).unwrap();
    for i in 0..2000u32 {
        db.put(i.to_be_bytes(), [7u8; 100]).unwrap();
    }
    db.flush().unwrap();
    let stats = db.stats();
    assert!(stats.compaction.flushes >= 1);
    assert!(stats.user_bytes > 200_000);
    assert_eq!(stats.writes, 2000);
    db.compact_range(..).unwrap();
    let stats = db.stats();
    assert_eq!(stats.levels[0].files, 0);
    let bottom = stats.levels.last().unwrap();
    assert!(bottom.files >= 1);
    assert_eq!(bottom.tables.first().unwrap().smallest, 0u32.to_be_bytes());
    assert!(stats.write_amplification > 0.0);
    assert!((stats.space_amplification - 1.0).abs() < 1e-9);
    assert!(stats.background_error.is_none());
    assert_eq!(db.iter().count(), 2000);
    // A partial range compaction keeps everything readable.
    db.put(5u32.to_be_bytes(), "x").unwrap();
    db.compact_range(0u32.to_be_bytes()..10u32.to_be_bytes())
        .unwrap();
    assert_eq!(db.get(5u32.to_be_bytes()).unwrap().unwrap(), b"x");
}

#[test]
fn waiting_for_compactions_leaves_a_quiet_tree_and_only_live_files() {
    let _dog = support::watchdog("waiting_for_compactions_leaves_a_quiet_tree_and_only_live_files");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), small()).unwrap();
    for round in 0..12u32 {
        for i in 0..300u32 {
            db.put([round.to_be_bytes(), i.to_be_bytes()].concat(), [1u8; 100])
                .unwrap();
        }
        db.flush().unwrap();
    }
    db.wait_for_compactions().unwrap();
    let stats = db.stats();
    // Under the trigger, or waiting for a bigger batch (at most 2 tables more).
    assert!(stats.levels[0].files < Options::default().l0_compaction_trigger + 2);
    assert!(stats.compaction.compactions + stats.compaction.trivial_moves > 0);
    // Nothing was left running: no more compactions happen, and the directory holds
    // exactly the live tables (inputs are removed before the wait returns).
    let live: std::collections::BTreeSet<u64> = stats
        .levels
        .iter()
        .flat_map(|l| l.tables.iter().map(|t| t.id))
        .collect();
    let on_disk: std::collections::BTreeSet<u64> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".sst")?.parse().ok()
        })
        .collect();
    assert_eq!(on_disk, live);
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(db.stats().compaction, stats.compaction);
}

#[test]
fn reopen_keeps_everything_and_reports_recovery() {
    let _dog = support::watchdog("reopen_keeps_everything_and_reports_recovery");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), small()).unwrap();
    for i in 0..1000u32 {
        db.put(i.to_be_bytes(), i.to_le_bytes()).unwrap();
    }
    db.delete(3u32.to_be_bytes()).unwrap();
    db.close().unwrap();
    let db = Db::open_with(dir.path(), small()).unwrap();
    let report = db.recovery_report().clone();
    assert!(!report.created);
    assert!(report.records() > 0 || report.log_number > 0);
    assert_eq!(db.iter().count(), 999);
    assert_eq!(
        db.get(4u32.to_be_bytes()).unwrap().unwrap(),
        4u32.to_le_bytes()
    );
    db.put("after", "reopen").unwrap();
    drop(db); // no close: the drop closes
    let db = Db::open(dir.path()).unwrap();
    assert_eq!(db.get("after").unwrap().unwrap(), b"reopen");
}

#[test]
fn a_second_open_is_refused_while_locked() {
    let _dog = support::watchdog("a_second_open_is_refused_while_locked");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let err = Db::open(dir.path()).unwrap_err();
    assert!(err.is_locked(), "{err}");
    db.close().unwrap();
    Db::open(dir.path()).unwrap();
}

#[test]
fn a_foreign_directory_is_refused_and_left_alone() {
    let _dog = support::watchdog("a_foreign_directory_is_refused_and_left_alone");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let err = Db::open(dir.path()).unwrap_err();
    assert!(err.is_not_a_database(), "{err}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
}

#[test]
fn a_newer_manifest_format_is_refused_and_left_alone() {
    let _dog = support::watchdog("a_newer_manifest_format_is_refused_and_left_alone");
    use quickcache_wal::SegmentId;
    use quickcache_wal::frame::{encode, encode_segment_header};
    let dir = tempfile::tempdir().unwrap();
    Db::open(dir.path()).unwrap().close().unwrap();
    let current = std::fs::read_to_string(dir.path().join("CURRENT")).unwrap();
    let name = current.trim_end();
    let number = quickcache_compaction::parse_manifest_name(name).unwrap();
    let mut bytes = encode_segment_header(SegmentId(number)).to_vec();
    let offset = bytes.len() as u64;
    encode(
        &mut bytes,
        SegmentId(number),
        offset,
        &[quickcache_compaction::EDIT_FORMAT + 1],
    )
    .unwrap();
    std::fs::write(dir.path().join(name), &bytes).unwrap();
    let before: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let err = Db::open(dir.path()).unwrap_err();
    assert!(err.is_newer_format(), "{err}");
    let after: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
    assert_eq!(std::fs::read(dir.path().join(name)).unwrap(), bytes);
}

#[test]
fn oversized_writes_are_refused_without_harm() {
    let _dog = support::watchdog("oversized_writes_are_refused_without_harm");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let huge = vec![0u8; (quickcache_wal::MAX_RECORD_LEN as usize) + 1];
    assert!(db.put("k", &huge).is_err());
    db.put("k", "fine").unwrap();
    assert_eq!(db.get("k").unwrap().unwrap(), b"fine");
}

#[test]
fn verify_reports_a_damaged_table_and_a_torn_wal_tail() {
    let _dog = support::watchdog("verify_reports_a_damaged_table_and_a_torn_wal_tail");
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    db.put("k", "v").unwrap();
    db.flush().unwrap();
    db.put("k2", "v2").unwrap();
    db.close().unwrap();
    assert!(quickcache::verify(dir.path()).unwrap().is_ok());
    // A torn tail: garbage appended to the last WAL segment.
    let wal = dir.path().join(quickcache::WAL_DIR);
    let last = quickcache_wal::list_segments(&quickcache::fs::RealFs, &wal).unwrap();
    let last = last.last().unwrap().path_in(&wal);
    let mut bytes = std::fs::read(&last).unwrap();
    bytes.extend_from_slice(&[0xAB; 7]);
    std::fs::write(&last, &bytes).unwrap();
    let report = quickcache::verify(dir.path()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.warnings.len(), 1);
    // A flipped byte in a table.
    let table = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "sst"))
        .unwrap();
    let mut bytes = std::fs::read(&table).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&table, &bytes).unwrap();
    let report = quickcache::verify(dir.path()).unwrap();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert_eq!(report.damaged[0].path, table);
}

#[test]
fn a_write_over_the_wal_record_limit_fails_whole_and_the_database_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let limit = quickcache_wal::MAX_RECORD_LEN as usize;
    let huge = vec![7u8; limit];
    let err = db.put("huge", &huge).unwrap_err();
    assert!(!err.is_read_only() && !err.is_corruption(), "{err}");
    let message = err.to_string();
    assert!(message.contains("exceeds the WAL record limit"), "{err}");
    assert!(
        message.contains(&limit.to_string()) && message.contains("ingest"),
        "{err}"
    );
    let mut batch = WriteBatch::new();
    batch.put("small", "v").put("half-a", &huge[..limit / 2]);
    batch.put("half-b", &huge[..limit / 2]);
    assert!(db.write(batch).is_err());
    assert_eq!(db.get("huge").unwrap(), None);
    assert_eq!(db.get("small").unwrap(), None, "the batch wrote nothing");
    db.put("after", "ok").unwrap();
    assert_eq!(db.get("after").unwrap().unwrap(), b"ok");
}
