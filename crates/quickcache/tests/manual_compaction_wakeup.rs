//! A manual compaction during which flushes make a compaction due after the pool's
//! workers went idle: the interleaving behind a hang of `concurrency_stress`, forced
//! with sync points instead of hoped for. `compact_range` then waited for "nothing
//! due and nothing running" while no thread would ever look for the due work again,
//! and every writer stopped behind it. It must finish, and so must the writes.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::thread;
use std::time::{Duration, Instant};

use quickcache::{Db, Options};
use quickcache_compaction::SyncPoints;
use quickcache_stress::watchdog::Watchdog;

/// What the sync points saw.
#[derive(Default)]
struct Seen {
    nudges: u64,
    rounds: u64,
    claims: u64,
}

#[derive(Default)]
struct Points {
    seen: Mutex<Seen>,
    changed: Condvar,
    db: OnceLock<Weak<Db>>,
}

impl Points {
    fn hit(&self, name: &'static str) {
        let first_claim = {
            let mut seen = self.seen.lock().unwrap();
            match name {
                "compactor:nudge" => seen.nudges += 1,
                "compactor:round_done" => seen.rounds += 1,
                "manual:claim" => seen.claims += 1,
                _ => {}
            }
            self.changed.notify_all();
            name == "manual:claim" && seen.claims == 1
        };
        if first_claim {
            self.make_work_due_once_idle();
        }
    }

    /// On the compacting thread, before its first claim: waits until every nudge
    /// has been taken and its round ended (the workers sleep), then flushes enough
    /// tables from another thread to make an L0 compaction due.
    fn make_work_due_once_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut seen = self.seen.lock().unwrap();
        while seen.rounds < seen.nudges {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the workers never went idle");
            seen = self.changed.wait_timeout(seen, left).unwrap().0;
        }
        drop(seen);
        let db = self.db.get().and_then(Weak::upgrade).unwrap();
        let writer = thread::spawn(move || {
            for batch in 2..6 {
                write_table(&db, batch);
            }
        });
        writer.join().unwrap();
    }
}

fn write_table(db: &Db, batch: u32) {
    for i in 0..200u32 {
        db.put(
            format!("key-{:05}", i * 7 + batch),
            format!("value-{batch}-{i}"),
        )
        .unwrap();
    }
    db.flush().unwrap();
}

#[test]
fn compact_range_finishes_when_flushes_make_work_due_after_the_workers_went_idle() {
    let dir = tempfile::tempdir().unwrap();
    let points = Arc::new(Points::default());
    let options = Options {
        l0_compaction_trigger: 4,
        background_threads: 1,
        sync_points: SyncPoints::new({
            let points = Arc::clone(&points);
            move |name| points.hit(name)
        }),
        ..Options::default()
    };
    let db = Arc::new(Db::open_with(dir.path(), options).unwrap());
    points.db.set(Arc::downgrade(&db)).unwrap();
    let dog = Watchdog::start(
        "compact_range with work made due meanwhile",
        Duration::from_secs(60),
    );
    dog.watch("db", db.reporter());
    // Two L0 tables: below the trigger, so nothing is due yet.
    for batch in 0..2 {
        write_table(&db, batch);
    }
    dog.phase("compact_range, while four more tables are flushed");
    let compacting = thread::spawn({
        let db = Arc::clone(&db);
        move || db.compact_range(..)
    });
    compacting.join().unwrap().unwrap();
    dog.phase("checking");
    let stats = db.stats();
    assert_eq!(stats.levels[0].files, 0, "{stats:?}");
    for batch in 0..6u32 {
        for i in [0u32, 199] {
            let key = format!("key-{:05}", i * 7 + batch);
            assert!(db.get(&key).unwrap().is_some(), "{key} lost");
        }
    }
    assert!(
        points.seen.lock().unwrap().claims >= 1,
        "the sync point never fired"
    );
    dog.finish();
}
