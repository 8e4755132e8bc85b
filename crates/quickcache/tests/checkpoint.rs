#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! Checkpoints: taken while writers run, the copy holds every write acknowledged
//! before the call and is a consistent prefix of the writes; tables are linked on one
//! file system and copied when links fail; compaction during the call deletes none of
//! the copy's tables; a power loss during the call leaves no destination or a whole
//! one; an existing destination is refused.

mod support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock, Weak};

use quickcache::fs::{Fault, FaultPlan, FileSystem, Op, SimFs};
use quickcache::{Db, Options, WriteBatch};
use quickcache_compaction::SyncPoints;

const WRITERS: u64 = 3;
/// Keys each writer cycles through: `w{w}:k{slot}` holds the last counter of its slot.
const SLOTS: u64 = 16;

fn small_tree() -> Options {
    Options {
        memtable_size: 32 << 10,
        l0_compaction_trigger: 2,
        table_size: 16 << 10,
        base_level_size: 64 << 10,
        wal_segment_size: 64 << 10,
        background_threads: 2,
        ..Options::default()
    }
}

fn counter(value: &[u8]) -> u64 {
    u64::from_le_bytes(value.try_into().unwrap())
}

/// One writer's batch number `c`: its slot key, and its `last` key in both keyspaces,
/// in one atomic batch.
fn batch(w: u64, c: u64, other: &quickcache::Keyspace) -> WriteBatch {
    let mut batch = WriteBatch::new();
    let value = c.to_le_bytes();
    batch.put(format!("w{w}:k{}", c % SLOTS), value);
    batch.put(format!("w{w}:last"), value);
    batch.put_in(other, format!("w{w}:last"), value);
    batch
}

/// Checks the copy in `dir` against the writers' model: writer `w`'s `last` is at
/// least `acked[w]` (every acknowledged batch is there), equal in both keyspaces (the
/// batch is whole), and each slot holds exactly the newest counter at or below
/// `last` that falls in it (a prefix of the writer's batches, nothing later).
fn check_copy(dir: &Path, acked: &[u64]) {
    let copy = Db::open(dir).unwrap();
    let other = copy
        .find_keyspace("other")
        .unwrap_or_else(|| panic!("the copy lacks keyspace other"));
    for (w, &acked) in (0..WRITERS).zip(acked) {
        let last = copy.get(format!("w{w}:last")).unwrap().map(|v| counter(&v));
        let other_last = other
            .get(format!("w{w}:last"))
            .unwrap()
            .map(|v| counter(&v));
        assert_eq!(last, other_last, "writer {w}: a batch seen in part");
        let last = last.unwrap_or(0);
        assert!(
            last >= acked,
            "writer {w}: acknowledged {acked}, the copy has {last}"
        );
        for slot in 0..SLOTS {
            let got = copy
                .get(format!("w{w}:k{slot}"))
                .unwrap()
                .map(|v| counter(&v));
            let newest = (1..=last).rev().find(|c| c % SLOTS == slot);
            assert_eq!(got, newest, "writer {w} slot {slot} with last {last}");
        }
    }
    copy.close().unwrap();
    let report = quickcache::verify(dir).unwrap();
    assert!(report.is_ok(), "{report:?}");
}

#[test]
fn checkpoints_taken_while_writers_run_hold_every_acknowledged_write_and_a_prefix() {
    let dog = support::watchdog("checkpoints_taken_while_writers_run");
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open_with(dir.path().join("live"), small_tree()).unwrap());
    dog.watch("live", db.reporter());
    let other = db.keyspace("other").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
    let (progress, progressed) = mpsc::channel::<()>();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (db, other, stop, acked) = (
            Arc::clone(&db),
            other.clone(),
            Arc::clone(&stop),
            Arc::clone(&acked),
        );
        let progress = progress.clone();
        writers.push(std::thread::spawn(move || {
            let mut c = 1;
            while !stop.load(Ordering::Relaxed) {
                db.write(batch(w, c, &other)).unwrap();
                acked[w as usize].store(c, Ordering::Release);
                if c % 500 == 0 {
                    let _ = progress.send(());
                }
                c += 1;
            }
        }));
    }
    drop(progress);
    let mut linked = 0;
    for round in 0..4 {
        // Let the writers get ahead (and the tree flush and compact) between copies.
        for _ in 0..WRITERS {
            progressed.recv().unwrap();
        }
        let before: Vec<u64> = acked.iter().map(|a| a.load(Ordering::Acquire)).collect();
        let dest = dir.path().join(format!("copy{round}"));
        let report = db.checkpoint(&dest).unwrap();
        assert_eq!(report.tables_copied, 0, "one file system: {report:?}");
        linked += report.tables_linked;
        check_copy(&dest, &before);
    }
    assert!(linked > 0, "no checkpoint had a table to link");
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    Arc::try_unwrap(db).unwrap().close().unwrap();
}

fn sim_options(fs: &SimFs) -> Options {
    Options {
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

/// A database on `fs` in `/live` with a keyspace, tables in both, and writes only
/// the WAL holds; returns it and the keys it holds.
fn sim_database(fs: &SimFs) -> (Db, Vec<(String, String)>) {
    let db = Db::open_with("/live", sim_options(fs)).unwrap();
    let other = db.keyspace("other").unwrap();
    let mut pairs = Vec::new();
    for i in 0..40 {
        let (key, value) = (format!("k{i:03}"), format!("v{i}"));
        db.put(&key, &value).unwrap();
        other.put(&key, &value).unwrap();
        pairs.push((key, value));
        if i == 19 {
            db.flush().unwrap();
            other.flush().unwrap();
        }
    }
    db.wait_for_compactions().unwrap();
    (db, pairs)
}

fn holds_every_pair(db: &Db, pairs: &[(String, String)]) -> Result<(), String> {
    let other = db
        .find_keyspace("other")
        .ok_or("keyspace other is missing")?;
    for (key, value) in pairs {
        for (name, got) in [("default", db.get(key)), ("other", other.get(key))] {
            let got = got.map_err(|e| e.to_string())?;
            if got.as_deref() != Some(value.as_bytes()) {
                return Err(format!("{name} {key}: {got:?}, expected {value}"));
            }
        }
    }
    Ok(())
}

#[test]
fn tables_are_copied_when_the_file_system_refuses_links() {
    let fs = SimFs::new(5);
    let (db, pairs) = sim_database(&fs);
    fs.set_faults(FaultPlan::new().fail_matching(|op, _| op == Op::Link, Fault::Io));
    let report = db.checkpoint("/copy").unwrap();
    fs.clear_faults();
    assert_eq!(report.tables_linked, 0, "{report:?}");
    assert!(report.tables_copied >= 2, "{report:?}");
    assert!(
        report.bytes_copied > 0 && report.wal_segments >= 1,
        "{report:?}"
    );
    let copy = Db::open_with("/copy", sim_options(&fs)).unwrap();
    holds_every_pair(&copy, &pairs).unwrap();
    // The copies are files of their own: the live tables can go.
    db.close().unwrap();
    copy.close().unwrap();
}

#[test]
fn tables_are_linked_on_one_file_system() {
    let fs = SimFs::new(6);
    let (db, pairs) = sim_database(&fs);
    let report = db.checkpoint("/copy").unwrap();
    assert!(
        report.tables_linked >= 2 && report.tables_copied == 0,
        "{report:?}"
    );
    db.close().unwrap();
    let copy = Db::open_with("/copy", sim_options(&fs)).unwrap();
    holds_every_pair(&copy, &pairs).unwrap();
}

#[test]
fn an_existing_destination_is_refused_and_left_alone() {
    let fs = SimFs::new(7);
    let (db, _) = sim_database(&fs);
    fs.create_dir_all(Path::new("/taken")).unwrap();
    let mut note = fs.create(Path::new("/taken/note")).unwrap();
    note.append(b"mine").unwrap();
    note.close().unwrap();
    let err = db.checkpoint("/taken").unwrap_err();
    assert!(
        matches!(err, quickcache::Error::CheckpointExists { .. }),
        "{err}"
    );
    assert_eq!(fs.list(Path::new("/taken")).unwrap(), ["note"]);
    // Nothing is left beside it either.
    let mut top = fs.list(Path::new("/")).unwrap();
    top.sort();
    assert_eq!(top, ["live", "taken"]);
}

#[test]
fn a_compaction_during_the_checkpoint_deletes_none_of_its_tables() {
    let slot: Arc<OnceLock<Weak<Db>>> = Arc::new(OnceLock::new());
    let hits = Arc::new(AtomicU64::new(0));
    let sync_points = {
        let (slot, hits) = (Arc::clone(&slot), Arc::clone(&hits));
        SyncPoints::new(move |name| {
            let db = slot.get().and_then(Weak::upgrade);
            if let (Some(db), "checkpoint:frozen") = (db, name) {
                // Replaces every table the checkpoint froze, and flushes (whose trim
                // must leave the WAL segments alone).
                db.put("late", "write").unwrap();
                db.compact_range(..).unwrap();
                hits.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let fs = SimFs::new(8);
    let options = Options {
        sync_points,
        ..sim_options(&fs)
    };
    let db = Arc::new(Db::open_with("/live", options).unwrap());
    let mut pairs = Vec::new();
    for round in 0..3 {
        for i in 0..10 {
            let (key, value) = (format!("k{round}{i}"), format!("v{round}{i}"));
            db.put(&key, &value).unwrap();
            pairs.push((key, value));
        }
        db.flush().unwrap();
    }
    let tables_before = fs.list(Path::new("/live")).unwrap();
    slot.set(Arc::downgrade(&db)).unwrap();
    let report = db.checkpoint("/copy").unwrap();
    assert_eq!(hits.load(Ordering::Relaxed), 1);
    assert_eq!(report.tables_linked, 3, "{report:?}");
    let tables_after = fs.list(Path::new("/live")).unwrap();
    assert!(
        tables_before
            .iter()
            .filter(|n| n.ends_with(".sst"))
            .all(|n| !tables_after.contains(n)),
        "the compaction replaced every frozen table: {tables_before:?} -> {tables_after:?}"
    );
    let copy = Db::open_with("/copy", sim_options(&fs)).unwrap();
    for (key, value) in &pairs {
        assert_eq!(copy.get(key).unwrap().unwrap(), value.as_bytes(), "{key}");
    }
    // Written after the freeze and the rotation: not in the copy.
    assert_eq!(copy.get("late").unwrap(), None);
}

/// Outcome of one crash point: the checkpoint's result and the copy on the disk a
/// power loss left.
fn crash_during_checkpoint(seed: u64, op: u64) -> Result<bool, String> {
    let fs = SimFs::new(seed);
    let (db, pairs) = sim_database(&fs);
    fs.set_faults(FaultPlan::new().fail_from(op, Fault::Io));
    let finished = db.checkpoint("/copy").is_ok();
    let after = fs.crash();
    drop(db);
    let options = Options {
        create_if_missing: false,
        ..sim_options(&after)
    };
    match Db::open_with("/copy", options) {
        Ok(copy) => {
            holds_every_pair(&copy, &pairs).map_err(|e| format!("crash at op {op}: {e}"))?
        }
        Err(e) if finished => {
            return Err(format!(
                "crash at op {op}: the finished checkpoint does not open: {e}"
            ));
        }
        Err(e) if e.is_no_database() => {}
        Err(e) => {
            return Err(format!(
                "crash at op {op}: a half copy is taken for a damaged database: {e}"
            ));
        }
    }
    Ok(finished)
}

#[test]
fn a_power_loss_during_a_checkpoint_leaves_no_destination_or_a_whole_one() {
    let _dog = support::watchdog("a_power_loss_during_a_checkpoint");
    let seed = support::first_seed();
    // Count the checkpoint's operations on a disk like the ones crashed below.
    let fs = SimFs::new(seed);
    let (db, _) = sim_database(&fs);
    let start = fs.op_count();
    db.checkpoint("/copy").unwrap();
    let ops = fs.op_count() - start;
    drop(db);
    let mut finished = 0;
    for op in 0..ops + 2 {
        if crash_during_checkpoint(seed, op).unwrap() {
            finished += 1;
        }
    }
    // Only the crash points after the last operation let it finish.
    assert!(
        (1..=3).contains(&finished),
        "{finished} of {ops} crash points finished"
    );
}
