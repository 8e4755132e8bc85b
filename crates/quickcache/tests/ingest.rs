#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! `Db::ingest` and `BulkLoader`: tables built with the sstable crate become part of
//! the tree atomically, newer than everything before, invisible to older snapshots;
//! refused files change nothing; a power loss keeps all of an ingest or none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use quickcache::fs::{CrashTest, FileSystem, SimFs};
use quickcache::{Db, IngestOptions, Options, WriteOptions};
use quickcache_sstable::{KeyRef, SeqNo, TableBuilder, TableOptions, ValueKind};
use quickcache_stress::watchdog::Watchdog;

const LIMIT: Duration = Duration::from_secs(120);

/// Writes a plain table of `entries` (ascending keys) at `path` on the real disk.
fn table(path: &Path, entries: &[(&str, &str)]) -> PathBuf {
    let mut builder = TableBuilder::create(path, TableOptions::default()).unwrap();
    for (k, v) in entries {
        builder.add_plain(k.as_bytes(), v.as_bytes()).unwrap();
    }
    builder.finish().unwrap();
    path.to_path_buf()
}

fn contents(db: &Db) -> Vec<(String, String)> {
    db.iter()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (
                String::from_utf8(k.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect()
}

fn pairs(entries: &[(&str, &str)]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn ingest_into_an_empty_database_lands_at_the_bottom_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let file = table(
        &dir.path().join("in.sst"),
        &[("a", "1"), ("b", "2"), ("c", "3")],
    );
    let path = dir.path().join("db");
    let db = Db::open(&path).unwrap();
    let report = db.ingest([&file]).unwrap();
    assert_eq!(report.levels, [6]);
    assert!(file.exists(), "copied, not moved");
    assert_eq!(contents(&db), pairs(&[("a", "1"), ("b", "2"), ("c", "3")]));
    db.put("d", "4").unwrap();
    db.close().unwrap();
    let db = Db::open(&path).unwrap();
    assert_eq!(db.get("b").unwrap().unwrap(), b"2");
    assert_eq!(db.get("d").unwrap().unwrap(), b"4");
    db.put("b", "newer").unwrap();
    assert_eq!(
        db.get("b").unwrap().unwrap(),
        b"newer",
        "later writes win over it"
    );
}

#[test]
fn ingested_entries_win_over_tables_and_memtable_and_compaction_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.put("a", "old-table").unwrap();
    db.put("c", "old-table").unwrap();
    db.flush().unwrap();
    db.put("b", "old-memtable").unwrap();
    db.put("z", "untouched").unwrap();
    let file = table(
        &dir.path().join("in.sst"),
        &[("a", "new"), ("b", "new"), ("c", "new")],
    );
    let report = db
        .ingest_with([&file], &IngestOptions { move_files: true })
        .unwrap();
    assert_eq!(report.levels, [0], "overlaps the flushed L0 table");
    assert!(!file.exists(), "moved");
    let want = pairs(&[("a", "new"), ("b", "new"), ("c", "new"), ("z", "untouched")]);
    assert_eq!(contents(&db), want);
    db.compact_range(..).unwrap();
    assert_eq!(contents(&db), want);
    assert_eq!(db.get("b").unwrap().unwrap(), b"new");
}

#[test]
fn a_snapshot_taken_before_does_not_see_the_ingested_entries() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.put("a", "before").unwrap();
    let snapshot = db.snapshot();
    let file = table(
        &dir.path().join("in.sst"),
        &[("a", "ingested"), ("b", "ingested")],
    );
    db.ingest([&file]).unwrap();
    assert_eq!(snapshot.get("a").unwrap().unwrap(), b"before");
    assert_eq!(snapshot.get("b").unwrap(), None);
    assert_eq!(db.get("a").unwrap().unwrap(), b"ingested");
    db.compact_range(..).unwrap();
    assert_eq!(
        snapshot.get("a").unwrap().unwrap(),
        b"before",
        "kept for the snapshot"
    );
    assert_eq!(db.get("b").unwrap().unwrap(), b"ingested");
}

#[test]
fn ingest_into_a_keyspace_leaves_the_default_keyspace_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let db = Db::open(&path).unwrap();
    let users = db.keyspace("users").unwrap();
    users.put("ada", "old").unwrap();
    let file = table(
        &dir.path().join("in.sst"),
        &[("ada", "lovelace"), ("alan", "turing")],
    );
    users.ingest([&file]).unwrap();
    assert_eq!(users.get("ada").unwrap().unwrap(), b"lovelace");
    assert_eq!(db.get("ada").unwrap(), None);
    drop(users);
    db.close().unwrap();
    let db = Db::open(&path).unwrap();
    let users = db.keyspace("users").unwrap();
    assert_eq!(users.get("alan").unwrap().unwrap(), b"turing");
}

#[test]
fn several_files_go_in_together_and_overlapping_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let a = table(&dir.path().join("a.sst"), &[("a", "1"), ("c", "1")]);
    let b = table(&dir.path().join("b.sst"), &[("d", "2"), ("f", "2")]);
    let c = table(&dir.path().join("c.sst"), &[("e", "3")]);
    let err = db.ingest([&a, &b, &c]).unwrap_err();
    assert!(
        matches!(err, quickcache::Error::IngestRefused { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("overlap"), "{err}");
    assert_eq!(db.iter().count(), 0, "nothing ingested");
    db.ingest([&b, &a]).unwrap();
    assert_eq!(db.iter().count(), 4);
}

#[test]
fn tables_with_sequence_numbers_empty_tables_and_damaged_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    let numbered = dir.path().join("numbered.sst");
    let mut builder = TableBuilder::create(&numbered, TableOptions::default()).unwrap();
    let key = KeyRef::new(b"k", SeqNo::new(5).unwrap(), ValueKind::Value);
    builder.add(key, b"v").unwrap();
    builder.finish().unwrap();
    let err = db.ingest([&numbered]).unwrap_err();
    assert!(err.to_string().contains("sequence numbers"), "{err}");
    let twice = dir.path().join("twice.sst");
    let mut builder = TableBuilder::create(&twice, TableOptions::default()).unwrap();
    builder
        .add(KeyRef::new(b"k", SeqNo::ZERO, ValueKind::Tombstone), b"")
        .unwrap();
    builder
        .add(KeyRef::new(b"k", SeqNo::ZERO, ValueKind::Value), b"v")
        .unwrap();
    builder.finish().unwrap();
    let err = db.ingest([&twice]).unwrap_err();
    assert!(err.to_string().contains("occurs twice"), "{err}");
    let empty = table(&dir.path().join("empty.sst"), &[]);
    let err = db.ingest([&empty]).unwrap_err();
    assert!(err.to_string().contains("no entries"), "{err}");
    let damaged = table(&dir.path().join("damaged.sst"), &[("a", "1"), ("b", "2")]);
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[3] ^= 0x40;
    std::fs::write(&damaged, &bytes).unwrap();
    let err = db.ingest([&damaged]).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    let missing = db.ingest([dir.path().join("missing.sst")]).unwrap_err();
    assert!(missing.is_io(), "{missing}");
    assert_eq!(db.iter().count(), 0);
    let tables = std::fs::read_dir(dir.path().join("db")).unwrap();
    let ssts = tables
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "sst")
        })
        .count();
    assert_eq!(ssts, 0, "no copy left behind");
}

#[test]
fn bulk_loader_matches_a_model_with_unsorted_input_duplicates_and_spills() {
    let dog = Watchdog::start("bulk load of 20,000 entries", LIMIT);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let options = Options {
        table_size: 8 << 10,
        ..Options::default()
    };
    let db = Db::open_with(&path, options.clone()).unwrap();
    db.put("k00005", "before").unwrap();
    let mut model = BTreeMap::new();
    model.insert(b"k00005".to_vec(), b"before".to_vec());
    // A tiny budget: dozens of spilled runs, duplicates across and within runs.
    let mut loader = db.bulk_loader().unwrap().memory_budget(16 << 10);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..20_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let key = format!("k{:05}", x % 6_000).into_bytes();
        let value = format!("v{i}").into_bytes();
        loader.put(&key, &value).unwrap();
        model.insert(key, value);
    }
    let report = loader.finish().unwrap();
    assert!(
        report.levels.len() > 1,
        "cut into several tables: {report:?}"
    );
    let got: BTreeMap<Vec<u8>, Vec<u8>> = db
        .iter()
        .map(|kv| kv.unwrap())
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    assert_eq!(got, model);
    db.close().unwrap();
    let db = Db::open_with(&path, options).unwrap();
    assert_eq!(
        db.iter().count(),
        model.len(),
        "reopens with the scratch dir gone empty"
    );
    dog.finish();
}

#[test]
fn a_write_over_the_wal_record_limit_names_the_limit_and_points_to_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let huge = vec![0u8; quickcache_wal::MAX_RECORD_LEN as usize];
    let err = db.put("k", &huge).unwrap_err();
    assert!(
        matches!(err, quickcache::Error::WriteTooLarge { .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("67108864") && message.contains("ingest"),
        "{message}"
    );
}

// ----- crash atomicity -----

const INGESTED: [&str; 6] = ["b", "d", "f", "p", "r", "t"];

fn sim_options(fs: &SimFs) -> Options {
    Options {
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

/// Writes synced old values, two tables to ingest, and ingests them; whether the
/// ingest returned success.
fn crash_workload(fs: &SimFs) -> bool {
    let run = || -> Result<bool, Box<dyn std::error::Error>> {
        let db = Db::open_with("/db", sim_options(fs))?;
        for k in ["a", "b", "p", "z"] {
            db.put_with(k, "old", &WriteOptions::synced())?;
        }
        fs.create_dir_all(Path::new("/src"))?;
        for (name, keys) in [
            ("/src/1.sst", &INGESTED[..3]),
            ("/src/2.sst", &INGESTED[3..]),
        ] {
            let mut b = TableBuilder::new(fs, Path::new(name), TableOptions::default())?;
            for k in keys {
                b.add_plain(k.as_bytes(), b"new")?;
            }
            b.finish()?;
        }
        db.ingest(["/src/1.sst", "/src/2.sst"])?;
        Ok(true)
    };
    run().unwrap_or(false)
}

fn crash_check(fs: &SimFs, acknowledged: &bool) -> Result<(), String> {
    let db = Db::open_with("/db", sim_options(fs)).map_err(|e| format!("reopen: {e}"))?;
    let get = |k: &str| db.get(k).map(|v| v.map(|v| v.to_vec()));
    let seen: Vec<bool> = (INGESTED.iter())
        .map(|k| get(k).map(|v| v.as_deref() == Some(b"new".as_slice())))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("read: {e}"))?;
    let all = seen.iter().all(|&s| s);
    if !all && seen.iter().any(|&s| s) {
        return Err(format!("part of the ingest is visible: {seen:?}"));
    }
    if *acknowledged && !all {
        return Err("an acknowledged ingest is gone".into());
    }
    // The synced old values the ingest did not overwrite are there, whatever happened.
    for k in ["a", "z"] {
        let v = get(k).map_err(|e| format!("read: {e}"))?;
        if *acknowledged && v.as_deref() != Some(b"old".as_slice()) {
            return Err(format!("{k} lost: {v:?}"));
        }
    }
    if !all && *acknowledged {
        return Err("ingest lost".into());
    }
    Ok(())
}

#[test]
fn a_power_loss_during_an_ingest_keeps_all_of_it_or_none() {
    let dog = Watchdog::start("crash points of an ingest", LIMIT);
    for seed in 0..3 {
        let report = CrashTest::new(seed)
            .sample(60)
            .run(crash_workload, crash_check)
            .unwrap_or_else(|f| panic!("{f}"));
        assert!(report.states >= 30, "{report:?}");
    }
    dog.finish();
}

#[test]
fn a_transaction_open_across_an_ingest_does_not_commit_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.put("n", "1").unwrap();
    let mut tx = db.transaction();
    let seen = tx.get("n").unwrap().unwrap();
    let file = table(&dir.path().join("in.sst"), &[("n", "100")]);
    db.ingest([&file]).unwrap();
    tx.put("n", [seen.as_slice(), b"+1"].concat());
    let err = tx.commit().unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(db.get("n").unwrap().unwrap(), b"100");
}

/// Regression (found by `feature_io_faults.rs`): an ingest whose manifest sync failed
/// removed its copied tables although the edit naming them was already in the
/// manifest, so the next open failed with "table 15 listed in the manifest is
/// missing". The copies now stay; the reopen holds all of the ingest or none.
#[test]
fn a_failed_manifest_sync_during_an_ingest_leaves_a_database_that_opens() {
    use quickcache::fs::{Fault, FaultPlan, Op as FsOp};
    let fs = SimFs::new(7);
    let db = Db::open_with("/db", sim_options(&fs)).unwrap();
    db.put("z", "old").unwrap(); // outside the table: no flush before the edit
    fs.create_dir_all(Path::new("/src")).unwrap();
    let mut b = TableBuilder::new(&fs, Path::new("/src/1.sst"), TableOptions::default()).unwrap();
    b.add_plain(b"a", b"new").unwrap();
    b.finish().unwrap();
    fs.set_faults(FaultPlan::new().fail_matching(
        |op, path| op == FsOp::SyncData && path.to_string_lossy().contains("MANIFEST"),
        Fault::Io,
    ));
    assert!(db.ingest(["/src/1.sst"]).is_err());
    drop(db);
    fs.clear_faults();
    let db = Db::open_with("/db", sim_options(&fs)).unwrap();
    assert_eq!(db.get("z").unwrap().unwrap(), b"old");
    let got = db.get("a").unwrap();
    assert!(matches!(got.as_deref(), None | Some(b"new")), "{got:?}");
}
