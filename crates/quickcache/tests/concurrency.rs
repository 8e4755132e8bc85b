#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Writers, readers, snapshots and background compaction at once: batches stay
//! atomic for every reader, snapshots stay frozen, nothing acknowledged is lost.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use quickcache::{Db, Options, WriteBatch};

#[test]
fn writers_readers_snapshots_and_compaction_together() {
    let _dog = support::watchdog("writers_readers_snapshots_and_compaction_together");
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(
        Db::open_with(
            dir.path(),
            Options {
                memtable_size: 32 << 10,
                l0_compaction_trigger: 2,
                table_size: 32 << 10,
                base_level_size: 128 << 10,
                background_threads: 2,
                ..Options::default()
            },
        )
        .unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4u32)
        .map(|w| {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                for round in 0..400u32 {
                    // Each batch sets the pair a/<w>/<i>, b/<w>/<i> to one value.
                    let i = round % 37;
                    let value = format!("{w}-{round}-{}", "x".repeat(40));
                    let mut batch = WriteBatch::new();
                    batch.put(format!("a/{w}/{i:02}"), &value);
                    batch.put(format!("b/{w}/{i:02}"), &value);
                    db.write(batch).unwrap();
                    // Read your own write, even while other writers are mid-batch.
                    let got = db.get(format!("b/{w}/{i:02}")).unwrap().unwrap();
                    assert_eq!(got, value.as_bytes());
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (db, stop) = (Arc::clone(&db), Arc::clone(&stop));
            thread::spawn(move || {
                let mut checks = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let snap = db.snapshot();
                    let a: Vec<_> = snap.prefix("a/").map(|kv| kv.unwrap()).collect();
                    let b: Vec<_> = snap.prefix("b/").map(|kv| kv.unwrap()).collect();
                    assert_eq!(a.len(), b.len());
                    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
                        assert_eq!(ka[1..], kb[1..]);
                        assert_eq!(va, vb, "a batch was seen half-applied");
                    }
                    // The snapshot does not move while writers go on.
                    let again: Vec<_> = snap.prefix("a/").map(|kv| kv.unwrap()).collect();
                    assert_eq!(a, again);
                    let back: Vec<_> = snap.prefix("a/").rev().map(|kv| kv.unwrap().0).collect();
                    assert_eq!(back.len(), a.len());
                    if let Some((k, v)) = a.first() {
                        assert_eq!(snap.get(k).unwrap().unwrap(), *v);
                    }
                    checks += 1;
                }
                checks
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    db.compact_range(..).unwrap();
    thread::sleep(Duration::from_millis(20));
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    for w in 0..4u32 {
        for i in 0..37u32 {
            let last = (0..400u32).rev().find(|r| r % 37 == i).unwrap();
            let want = format!("{w}-{last}-{}", "x".repeat(40));
            assert_eq!(
                db.get(format!("a/{w}/{i:02}")).unwrap().unwrap(),
                want.as_bytes()
            );
        }
    }
    let stats = db.stats();
    assert!(stats.compaction.flushes > 0);
    assert!(stats.background_error.is_none());
    Arc::into_inner(db).unwrap().close().unwrap();
}
