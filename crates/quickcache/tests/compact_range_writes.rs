#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! Writes go on during a manual compaction: it claims its tables from the compaction
//! pool like any compaction, so neither the flush thread nor the pool waits for it,
//! and writers do not stall behind it. A sync point holds the manual compaction in the
//! middle of its first step (its tables claimed) until four memtables' worth of
//! writes, with their freezes and flushes, are done.

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use quickcache::{Db, Options};
use quickcache_compaction::SyncPoints;
use quickcache_stress::watchdog::Watchdog;

const MIB: usize = 1 << 20;

#[derive(Default)]
struct GateState {
    /// The manual compaction reached its first run and is held there.
    held: bool,
    writes_done: bool,
    /// Whether the writes were done before the hold ran out, once it ended.
    outcome: Option<bool>,
}

/// Holds the manual compaction at its first run until the writes are done.
#[derive(Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

impl Gate {
    /// At the manual compaction's first run: waits up to `limit` for the writes.
    fn hold(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut state = self.state.lock().unwrap();
        if state.held {
            return;
        }
        state.held = true;
        self.changed.notify_all();
        while !state.writes_done && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            state = self.changed.wait_timeout(state, left).unwrap().0;
        }
        state.outcome = Some(state.writes_done);
    }

    /// Waits until the manual compaction is held.
    fn wait_held(&self) {
        let mut state = self.state.lock().unwrap();
        while !state.held {
            state = self.changed.wait(state).unwrap();
        }
    }

    fn writes_done(&self) {
        self.state.lock().unwrap().writes_done = true;
        self.changed.notify_all();
    }
}

#[test]
fn writers_are_not_stalled_by_a_manual_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let options = Options {
        memtable_size: MIB,
        max_frozen_memtables: 1,
        sync_points: SyncPoints::new({
            let gate = Arc::clone(&gate);
            move |point| {
                if point == "manual:run" {
                    gate.hold(Duration::from_secs(30));
                }
            }
        }),
        ..Options::default()
    };
    let db = Arc::new(Db::open_with(dir.path(), options).unwrap());
    let dog = Watchdog::start(
        "writes during a manual compaction",
        Duration::from_secs(120),
    );
    dog.watch("db", db.reporter());
    let value = vec![7u8; 1024];
    for i in 0..6_000u32 {
        db.put(format!("old-{:08}", i.wrapping_mul(2_654_435_761)), &value)
            .unwrap();
    }
    let compaction = thread::spawn({
        let db = Arc::clone(&db);
        move || db.compact_range(..).unwrap()
    });
    dog.phase("waiting for the manual compaction to claim its first tables");
    gate.wait_held();
    dog.phase("writing while the manual compaction is held");
    // Four memtables' worth: the freezes stop this writer until each flush is done
    // (`max_frozen_memtables` 1), so the flushes must go on during the compaction.
    for i in 0..4 * MIB / 1024 {
        db.put(format!("new-{i:08}"), &value).unwrap();
    }
    gate.writes_done();
    compaction.join().unwrap();
    let seen = gate.state.lock().unwrap().outcome;
    assert_eq!(
        seen,
        Some(true),
        "the writes must finish while the manual compaction is held mid-way"
    );
    assert_eq!(db.get("new-00000000").unwrap().as_deref(), Some(&value[..]));
    dog.finish();
}
