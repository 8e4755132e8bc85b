#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Write stalls: writers that outrun flushes and compactions are slowed down and
//! stopped, `stats()` counts it, and nothing written is lost. Also the amplification
//! figures of `stats()` after a fill.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use quickcache::fs::SimFs;
use quickcache::{Db, Options};

/// Tiny memtables and L0 thresholds, one frozen memtable at most: every few writes
/// fill a memtable, and the background work falls behind a writer at once.
fn options(fs: &SimFs) -> Options {
    Options {
        memtable_size: 4 << 10,
        max_frozen_memtables: 1,
        l0_compaction_trigger: 2,
        l0_slowdown: 2,
        l0_stop: 4,
        table_size: 16 << 10,
        base_level_size: 64 << 10,
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

fn key(i: u32) -> [u8; 4] {
    i.to_be_bytes()
}

/// A value that differs per key (a small seeded stream), so tables are not smaller
/// than what was written.
fn value(i: u32) -> Vec<u8> {
    let mut rng = quickcache::fs::Rng::new(u64::from(i));
    (0..200).map(|_| rng.next_u64().to_le_bytes()[0]).collect()
}

/// Writes fresh keys until the database has both slowed and stopped a writer (at
/// least `min` writes, at most a few seconds). Returns how many keys were written.
fn write_until_stalled(db: &Db, min: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut n = 0;
    loop {
        db.put(key(n), value(n)).unwrap();
        n += 1;
        let stats = db.stats();
        let stalled = stats.slowdowns > 0 && stats.stops > 0;
        if (n >= min && stalled) || Instant::now() > deadline {
            return n;
        }
    }
}

#[test]
fn writers_that_outrun_background_work_are_slowed_and_stopped_and_lose_nothing() {
    let _dog = support::watchdog(
        "writers_that_outrun_background_work_are_slowed_and_stopped_and_lose_nothing",
    );
    let fs = SimFs::new(1);
    let db = Db::open_with("/db", options(&fs)).unwrap();
    let n = write_until_stalled(&db, 500);
    let stats = db.stats();
    assert!(stats.slowdowns > 0, "no slowdown in {n} writes: {stats:#?}");
    assert!(stats.stops > 0, "no stop in {n} writes: {stats:#?}");
    // Every slowdown sleeps a millisecond, so the stall time is at least that.
    let floor = Duration::from_millis(stats.slowdowns);
    assert!(
        stats.stall_time >= floor,
        "{:?} < {floor:?}",
        stats.stall_time
    );
    assert_eq!(stats.writes, u64::from(n));
    assert!(stats.background_error.is_none());

    for i in 0..n {
        assert_eq!(db.get(key(i)).unwrap().unwrap(), value(i), "key {i}");
    }
    assert_eq!(db.iter().count(), n as usize);
    // The counters only grow: a quiet tree stalls nobody.
    db.wait_for_compactions().unwrap();
    let quiet = db.stats();
    db.put("one more", "write").unwrap();
    let after = db.stats();
    assert_eq!(
        (after.slowdowns, after.stops),
        (quiet.slowdowns, quiet.stops)
    );
    assert!(after.stall_time >= stats.stall_time);
}

#[test]
fn amplification_figures_are_sane_after_a_fill() {
    let _dog = support::watchdog("amplification_figures_are_sane_after_a_fill");
    let fs = SimFs::new(2);
    let db = Db::open_with(
        "/db",
        Options {
            max_frozen_memtables: 2,
            l0_slowdown: 8,
            l0_stop: 12,
            ..options(&fs)
        },
    )
    .unwrap();
    let empty = db.stats();
    assert_eq!(empty.read_amplification, 1, "the memtable alone");
    assert!((empty.space_amplification - 1.0).abs() < 1e-9);
    assert!(empty.write_amplification.is_finite());

    let n = 3000;
    for i in 0..n {
        db.put(key(i), value(i)).unwrap();
    }
    db.flush().unwrap();
    db.wait_for_compactions().unwrap();
    let stats = db.stats();
    let tree: u64 = stats.levels.iter().map(|l| l.bytes).sum();
    let moved = stats.compaction.compactions + stats.compaction.trivial_moves;
    assert!(moved > 0, "{stats:#?}");
    // Every key was written once: each user byte went to a table at least once
    // (a flush), and compactions rewrote some of them again.
    let wa = stats.write_amplification;
    assert!(wa.is_finite() && wa >= 1.0, "write amplification {wa}");
    assert!(wa < 20.0, "write amplification {wa}");
    let sa = stats.space_amplification;
    assert!(sa.is_finite() && sa >= 1.0, "space amplification {sa}");
    let bottom = stats.levels.iter().rev().find(|l| l.bytes > 0).unwrap();
    assert!((sa - tree as f64 / bottom.bytes as f64).abs() < 1e-9);
    // The memtable, each L0 table, each deeper non-empty level.
    let deeper = stats.levels[1..].iter().filter(|l| l.files > 0).count();
    let ra = stats.read_amplification;
    assert_eq!(
        ra,
        1 + stats.frozen_memtables + stats.levels[0].files + deeper
    );
    assert!(ra >= 2, "a filled tree has at least one table level: {ra}");
    for i in (0..n).step_by(97) {
        assert_eq!(db.get(key(i)).unwrap().unwrap(), value(i));
    }
}
