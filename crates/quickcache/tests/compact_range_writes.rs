#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Writes go on during a manual compaction: `compact_range` holds the compaction
//! pool for its whole run, and the flush thread must not wait for it, or writers
//! stall as soon as `max_frozen_memtables` memtables wait for their flush.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use quickcache::{Db, Options};

const MIB: usize = 1 << 20;

#[test]
fn writers_are_not_stalled_by_a_manual_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        memtable_size: MIB,
        max_frozen_memtables: 1,
        ..Options::default()
    };
    let db = Arc::new(Db::open_with(dir.path(), options).unwrap());
    // Enough for a manual compaction of a few seconds in a debug build.
    let value = vec![7u8; 1024];
    for i in 0..24_000u32 {
        db.put(format!("old-{:08}", i.wrapping_mul(2_654_435_761)), &value)
            .unwrap();
    }
    let writes_done = Arc::new(AtomicBool::new(false));
    let compaction = thread::spawn({
        let (db, writes_done) = (Arc::clone(&db), Arc::clone(&writes_done));
        move || {
            let started = Instant::now();
            db.compact_range::<&[u8], _>(..).unwrap();
            (writes_done.load(Ordering::SeqCst), started.elapsed())
        }
    });
    // Let the compaction take the pool first (its flush of the memtable comes first).
    thread::sleep(Duration::from_millis(200));
    // Four memtables' worth: without the fix the second freeze stops this writer
    // until the compaction ends, because the flush thread waits for the pool.
    for i in 0..4 * MIB / 1024 {
        db.put(format!("new-{i:08}"), &value).unwrap();
    }
    writes_done.store(true, Ordering::SeqCst);
    let (done_first, took) = compaction.join().unwrap();
    assert!(
        done_first,
        "the writes must finish during the manual compaction ({took:?})"
    );
    assert_eq!(db.get("new-00000000").unwrap().as_deref(), Some(&value[..]));
}
