#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! Writers, readers, freezes, flushes, compactions and drops of several keyspaces at
//! once: a batch across keyspaces is never seen in part through a snapshot, and
//! nothing deadlocks.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quickcache::{Db, Options, WriteBatch};

/// Batches each writer makes: a count, not a time, so a loaded machine only makes
/// the test slower, never different.
const BATCHES: u64 = 10_000;

#[test]
fn concurrent_cross_keyspace_batches_are_seen_whole() {
    let _dog = support::watchdog("concurrent_cross_keyspace_batches_are_seen_whole");
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        memtable_size: 64 << 10,
        l0_compaction_trigger: 2,
        table_size: 16 << 10,
        base_level_size: 64 << 10,
        wal_segment_size: 128 << 10,
        background_threads: 2,
        ..Options::default()
    };
    let db = Arc::new(Db::open_with(dir.path(), options).unwrap());
    let a = db.keyspace("a").unwrap();
    let b = db.keyspace("b").unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..3u64 {
        let (db, a, b) = (Arc::clone(&db), a.clone(), b.clone());
        let written = Arc::clone(&written);
        writers.push(std::thread::spawn(move || {
            for i in 0..BATCHES {
                let key = format!("k{:03}", (i * 7 + w * 13) % 200);
                let value = format!("{w}-{i}-{}", "v".repeat((i % 64) as usize));
                let mut batch = WriteBatch::new();
                batch.put_in(&a, &key, &value).put_in(&b, &key, &value);
                if i.is_multiple_of(5) {
                    batch.put("default", &value);
                }
                db.write(batch).unwrap();
                written.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Readers and the churn run until the writers are done.
    let mut threads = Vec::new();
    for _ in 0..2 {
        let (db, a, b, stop) = (Arc::clone(&db), a.clone(), b.clone(), Arc::clone(&stop));
        threads.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let snapshot = db.snapshot();
                let left: Vec<_> = snapshot.iter_in(&a).map(|kv| kv.unwrap()).collect();
                let right: Vec<_> = snapshot.iter_in(&b).map(|kv| kv.unwrap()).collect();
                assert_eq!(left.len(), right.len(), "a batch seen in part");
                for ((ka, va), (kb, vb)) in left.iter().zip(&right) {
                    assert_eq!(
                        (ka, va.as_slice()),
                        (kb, vb.as_slice()),
                        "a batch seen in part"
                    );
                }
            }
        }));
    }
    // A third keyspace created, written and dropped over and over meanwhile.
    {
        let (db, stop) = (Arc::clone(&db), Arc::clone(&stop));
        threads.push(std::thread::spawn(move || {
            let mut round = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let c = db.keyspace("churn").unwrap();
                for i in 0..200u32 {
                    c.put(format!("{round}-{i}"), "x".repeat(100)).unwrap();
                }
                db.drop_keyspace("churn").unwrap();
                round += 1;
            }
        }));
    }
    for t in writers {
        t.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(written.load(Ordering::Relaxed), 3 * BATCHES);
    db.wait_for_compactions().unwrap();
    let left: Vec<_> = a.iter().map(|kv| kv.unwrap()).collect();
    let right: Vec<_> = b.iter().map(|kv| kv.unwrap()).collect();
    assert_eq!(left, right);
    let db = Arc::into_inner(db).unwrap();
    drop((a, b));
    db.close().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let (a, b) = (db.keyspace("a").unwrap(), db.keyspace("b").unwrap());
    let left: Vec<_> = a.iter().map(|kv| kv.unwrap()).collect();
    let right: Vec<_> = b.iter().map(|kv| kv.unwrap()).collect();
    assert_eq!(left, right);
    assert_eq!(db.keyspaces(), ["default", "a", "b"]);
}
