//! The WAL holds batches in sequence-number order, whatever the writers' durability
//! levels: a crash keeps a prefix of the WAL, and that must be a prefix of the order
//! in which readers saw the writes (a synced write must never survive while an
//! earlier-numbered write, already visible before it, is lost). Many writers at once,
//! then every record's base sequence number is read back from the WAL.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

mod support;

use std::sync::{Arc, Barrier};
use std::thread;

use quickcache::{Db, Durability, Options, WAL_DIR, WriteBatch, WriteOptions};
use quickcache_memtable::WriteBatch as WalBatch;
use quickcache_wal::{Position, RecoveryMode, WalReader};

#[test]
fn concurrent_writers_leave_the_wal_in_sequence_number_order() {
    let _dog = support::watchdog("concurrent_writers_leave_the_wal_in_sequence_number_order");
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        flush_on_close: false,
        ..Options::default()
    };
    let db = Arc::new(Db::open_with(dir.path(), options).unwrap());
    let (threads, writes) = (6, 400);
    let start = Arc::new(Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (db, start) = (Arc::clone(&db), Arc::clone(&start));
            thread::spawn(move || {
                let levels = [Durability::Synced, Durability::Os, Durability::Buffered];
                start.wait();
                // Every path that numbers a batch: the default keyspace's, a named
                // keyspace's, and a batch across both.
                let log = db.keyspace("log").unwrap();
                for i in 0..writes {
                    let durability = levels[(t + i) % 3];
                    let options = WriteOptions {
                        durability: Some(durability),
                        ..WriteOptions::default()
                    };
                    let key = format!("t{t}-{i}");
                    match i % 3 {
                        0 => db.put_with(key, "v", &options).unwrap(),
                        1 => log.put_with(key, "v", &options).unwrap(),
                        _ => {
                            let mut batch = WriteBatch::new();
                            batch.put(&key, "v");
                            batch.put_in(&log, &key, "v");
                            db.write_with(batch, &options).unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    Arc::into_inner(db).unwrap().close().unwrap();
    let fs = Arc::new(quickcache::fs::RealFs::new());
    let reader = WalReader::new(
        fs,
        dir.path().join(WAL_DIR),
        Position::START,
        RecoveryMode::AbsoluteConsistency,
    )
    .unwrap();
    let seqnos: Vec<u64> = reader
        .map(|r| {
            WalBatch::decode(&r.unwrap().payload)
                .unwrap()
                .base_seqno()
                .get()
        })
        .collect();
    assert_eq!(seqnos.len(), threads * writes);
    let out_of_order = seqnos.windows(2).filter(|w| w[0] >= w[1]).count();
    assert_eq!(out_of_order, 0, "records out of sequence-number order");
}
