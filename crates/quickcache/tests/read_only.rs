#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! Read-only opens beside a writer that holds the database: the view is the state as
//! of the open (tables, WAL, keyspaces), every write is refused, nothing on disk
//! changes, and compaction deleting tables under an open view never gives a wrong
//! answer.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use quickcache::{Db, Options, WriteBatch};

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

fn small_tree() -> Options {
    Options {
        memtable_size: 16 << 10,
        table_size: 8 << 10,
        l0_compaction_trigger: 2,
        base_level_size: 32 << 10,
        wal_segment_size: 32 << 10,
        ..Options::default()
    }
}

/// A writer holding `dir` with tables and WAL-only writes in two keyspaces; the pairs
/// it wrote, by key.
fn writer_with_data(dir: &Path) -> (Db, BTreeMap<String, String>) {
    let db = Db::open_with(dir, small_tree()).unwrap();
    let other = db.keyspace("other").unwrap();
    let mut model = BTreeMap::new();
    for i in 0..2_000 {
        let (key, value) = (
            format!("k{i:05}"),
            format!("value-{i}-{}", "x".repeat(i % 50)),
        );
        db.put(&key, &value).unwrap();
        other.put(&key, &value).unwrap();
        model.insert(key, value);
    }
    for i in (0..2_000).step_by(7) {
        let key = format!("k{i:05}");
        db.delete(&key).unwrap();
        other.delete(&key).unwrap();
        model.remove(&key);
    }
    db.wait_for_compactions().unwrap();
    assert!(
        db.stats().levels.iter().any(|l| l.files > 0),
        "the test needs tables"
    );
    (db, model)
}

fn contents(db: &Db) -> BTreeMap<String, String> {
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

#[test]
fn a_read_only_view_beside_the_writer_reads_everything_refuses_writes_and_changes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, model) = writer_with_data(dir.path());
    let before = files(dir.path());
    assert!(Db::open(dir.path()).unwrap_err().is_locked());

    let reader = Db::open_read_only(dir.path()).unwrap();
    assert_eq!(contents(&reader), model);
    let other = reader.keyspace("other").unwrap();
    assert_eq!(other.iter().count(), model.len());
    assert_eq!(
        reader.get("k00001").unwrap().unwrap(),
        model["k00001"].as_bytes()
    );
    assert_eq!(reader.get("k00007").unwrap(), None);
    assert_eq!(reader.keyspaces(), ["default", "other"]);

    let refused: Vec<(&str, quickcache::Error)> = vec![
        ("put", reader.put("k", "v").unwrap_err()),
        ("delete", reader.delete("k00001").unwrap_err()),
        ("write", {
            let mut batch = WriteBatch::new();
            batch.put("k", "v");
            reader.write(batch).unwrap_err()
        }),
        ("keyspace put", other.put("k", "v").unwrap_err()),
        ("new keyspace", reader.keyspace("new").unwrap_err()),
        ("drop keyspace", reader.drop_keyspace("other").unwrap_err()),
        ("flush", reader.flush().unwrap_err()),
        ("compact", reader.compact_range(..).unwrap_err()),
        ("wait", reader.wait_for_compactions().unwrap_err()),
        ("sync", reader.sync().unwrap_err()),
        (
            "checkpoint",
            reader.checkpoint(dir.path().join("copy")).unwrap_err(),
        ),
        ("commit", {
            let mut tx = reader.transaction();
            tx.put("k", "v");
            tx.commit().unwrap_err()
        }),
    ];
    for (what, err) in refused {
        assert!(err.is_read_only(), "{what}: {err}");
        assert!(err.to_string().contains("read-only"), "{what}: {err}");
    }
    let stats = reader.stats();
    assert!(stats.levels.iter().any(|l| l.files > 0));
    reader.close().unwrap();
    assert_eq!(
        files(dir.path()),
        before,
        "the read-only view changed a file"
    );
    assert!(!dir.path().join("copy").exists());
    assert!(!dir.path().join(quickcache::CLOSED_FILE).exists());
    writer.close().unwrap();
}

#[test]
fn the_view_is_the_state_as_of_its_open() {
    let dir = tempfile::tempdir().unwrap();
    let (writer, model) = writer_with_data(dir.path());
    let reader = Db::open_read_only(dir.path()).unwrap();
    writer.put("k00001", "changed").unwrap();
    writer.put("later", "write").unwrap();
    writer.keyspace("created-later").unwrap();
    writer.flush().unwrap();
    assert_eq!(contents(&reader), model);
    assert!(reader.keyspace("created-later").unwrap_err().is_read_only());
    // A fresh view sees the writer's changes.
    let fresh = Db::open_read_only(dir.path()).unwrap();
    assert_eq!(fresh.get("k00001").unwrap().unwrap(), b"changed");
    assert_eq!(fresh.get("later").unwrap().unwrap(), b"write");
    assert!(fresh.find_keyspace("created-later").is_some());
}

#[test]
fn a_missing_database_is_refused_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nothing");
    assert!(Db::open_read_only(&path).unwrap_err().is_no_database());
    assert!(!path.exists());
}

#[test]
fn compaction_under_an_open_view_deletes_its_tables_and_every_answer_stays_right() {
    let _dog = support::watchdog("compaction_under_an_open_view");
    let dir = tempfile::tempdir().unwrap();
    let (writer, model) = writer_with_data(dir.path());
    writer.flush().unwrap();
    let tables = |d: &Path| -> Vec<PathBuf> {
        files(d)
            .into_keys()
            .filter(|p| p.extension().is_some_and(|e| e == "sst"))
            .collect()
    };
    let old_tables = tables(dir.path());
    let reader = Db::open_read_only(dir.path()).unwrap();
    let mut iter = reader.iter();
    let first: Vec<_> = iter.by_ref().take(100).map(|kv| kv.unwrap()).collect();

    // The writer rewrites everything: every table the view mapped is deleted.
    for (i, key) in model.keys().enumerate() {
        if i % 3 == 0 {
            writer.delete(key).unwrap();
        } else {
            writer.put(key, "overwritten").unwrap();
        }
    }
    writer.compact_range(..).unwrap();
    writer.keyspace("other").unwrap().compact_range(..).unwrap();
    let now = tables(dir.path());
    assert!(
        old_tables.iter().all(|t| !now.contains(t)),
        "every old table was replaced"
    );

    let rest: Vec<_> = iter.map(|kv| kv.unwrap()).collect();
    let seen: BTreeMap<String, String> = first
        .into_iter()
        .chain(rest)
        .map(|(k, v)| {
            (
                String::from_utf8(k.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, model);
    for (key, value) in model.iter().step_by(13) {
        assert_eq!(reader.get(key).unwrap().unwrap(), value.as_bytes(), "{key}");
    }
    let other = reader.keyspace("other").unwrap();
    assert_eq!(other.iter().count(), model.len());
}

const WRITERS: u64 = 2;
const SLOTS: u64 = 16;

fn counter(value: &[u8]) -> u64 {
    u64::from_le_bytes(value.try_into().unwrap())
}

/// Writer `w`'s batches, checked in a view as in `checkpoint.rs`: `last` at least
/// what was acknowledged before the open, each slot the newest counter at or below
/// `last` that falls in it (a prefix of the writer's batches).
fn check_view(view: &Db, acked: &[u64]) {
    for (w, &acked) in (0..WRITERS).zip(acked) {
        let last = view
            .get(format!("w{w}:last"))
            .unwrap()
            .map_or(0, |v| counter(&v));
        assert!(
            last >= acked,
            "writer {w}: acknowledged {acked}, the view has {last}"
        );
        for slot in 0..SLOTS {
            let got = view
                .get(format!("w{w}:k{slot}"))
                .unwrap()
                .map(|v| counter(&v));
            let newest = (1..=last).rev().find(|c| c % SLOTS == slot);
            assert_eq!(got, newest, "writer {w} slot {slot} with last {last}");
        }
    }
}

#[test]
fn views_opened_while_writers_flush_and_compact_hold_every_acknowledged_write_and_a_prefix() {
    let dog = support::watchdog("views_opened_while_writers_flush_and_compact");
    let dir = tempfile::tempdir().unwrap();
    let writer = Arc::new(Db::open_with(dir.path(), small_tree()).unwrap());
    dog.watch("writer", writer.reporter());
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
    let (progress, progressed) = mpsc::channel::<()>();
    let mut threads = Vec::new();
    for w in 0..WRITERS {
        let (db, stop, acked) = (Arc::clone(&writer), Arc::clone(&stop), Arc::clone(&acked));
        let progress = progress.clone();
        threads.push(std::thread::spawn(move || {
            let mut c: u64 = 1;
            while !stop.load(Ordering::Relaxed) {
                let mut batch = WriteBatch::new();
                let value = c.to_le_bytes();
                batch.put(format!("w{w}:k{}", c % SLOTS), value);
                batch.put(format!("w{w}:last"), value);
                batch.put(format!("pad{w}:{c}"), [7u8; 64]);
                db.write(batch).unwrap();
                acked[w as usize].store(c, Ordering::Release);
                if c.is_multiple_of(300) {
                    let _ = progress.send(());
                }
                c += 1;
            }
        }));
    }
    drop(progress);
    for _ in 0..20 {
        for _ in 0..WRITERS {
            progressed.recv().unwrap();
        }
        let before: Vec<u64> = acked.iter().map(|a| a.load(Ordering::Acquire)).collect();
        let view = Db::open_read_only_with(dir.path(), small_tree()).unwrap();
        check_view(&view, &before);
    }
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    let stats = writer.stats();
    assert!(
        stats.levels.iter().skip(1).any(|l| l.files > 0),
        "no compaction ran"
    );
}
