//! Helpers shared by the reliability suites (`crash_kill`, `crash_power`,
//! `corruption`, `io_faults`, `concurrency_stress`, `fuzz_corpus_engine`). The suites'
//! logic itself lives in `quickcache-stress`, which the `stress` binary runs for hours.

#![allow(dead_code, reason = "each suite uses a part of the helpers")]

pub(crate) mod phased_fixture;
pub(crate) mod repair_db;

use std::time::Duration;

/// A count from the environment variable `name`, or `default`: CI runs the defaults,
/// longer runs set the variable (the README's "Reliability suites").
pub(crate) fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A duration in seconds from the environment variable `name`, or `default`.
pub(crate) fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(env_count(name, default))
}

/// The first seed of a run: `QUICKCACHE_SEED` replays one failure, otherwise 1.
pub(crate) fn first_seed() -> u64 {
    env_count("QUICKCACHE_SEED", 1)
}

/// How long any one test of these suites may run before it counts as hung.
const TEST_LIMIT: Duration = Duration::from_secs(600);

/// The watchdog a test that waits on background work starts with: if the test hangs,
/// it prints what it can (add a database with `watch`) and fails the test binary
/// within [`TEST_LIMIT`], instead of leaving CI to time out without a word.
pub(crate) fn watchdog(test: &str) -> quickcache_stress::watchdog::Watchdog {
    quickcache_stress::watchdog::Watchdog::start(test, TEST_LIMIT)
}

/// Copies the committed fixture database `from` into `to` (created), leaving out its
/// README: the format fixture tests open a copy, never the committed files.
#[allow(clippy::unwrap_used, reason = "a test fails by panicking")]
pub(crate) fn copy_fixture(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_fixture(&entry.path(), &target);
        } else if entry.file_name() != "README.md" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Ends an I/O-fault case's workload: lets the background flush or compaction the
/// workload started meet the fault too and end (a flush that met a full disk is
/// retried by the database itself; the fault is spent, so the retry succeeds, and
/// each `flush` that saw an attempt fail says so), then sets `over` so the checks'
/// own reads and `stats()`'s listing do not meet the fault, and returns the stats: a
/// background failure is in them once the wait returns.
pub(crate) fn settle_after_fault(
    db: &quickcache::Db,
    over: &std::sync::atomic::AtomicBool,
) -> quickcache::Stats {
    while db
        .flush()
        .is_err_and(|e| e.is_no_space() && !e.is_read_only())
    {}
    let _ = db.wait_for_compactions();
    over.store(true, std::sync::atomic::Ordering::SeqCst);
    db.stats()
}

/// Ends an I/O-fault case after its checks on the live database: closes `db`, clears
/// the faults of `fs`, reopens it and checks that it holds `acked` or `with_failed`
/// (the failed write lost or kept whole) and takes a write. Returns the reopened
/// database; `ctx` names the case in failures.
#[allow(clippy::panic, reason = "a test fails by panicking")]
pub(crate) fn reopen_after_fault(
    db: quickcache::Db,
    fs: &quickcache::fs::SimFs,
    dog: &quickcache_stress::watchdog::Watchdog,
    ctx: &str,
    (acked, with_failed): (
        &quickcache_stress::workload::Model,
        &quickcache_stress::workload::Model,
    ),
) -> quickcache::Db {
    use quickcache_stress::check::{describe_difference, read_consistently};
    dog.phase("closing after the fault");
    drop(db);
    fs.clear_faults();
    dog.unwatch_all();
    dog.phase("reopening after the fault cleared");
    let shared = std::sync::Arc::new(fs.clone());
    let options = quickcache_stress::power::small_options(&shared);
    let db = quickcache::Db::open_with(quickcache_stress::power::DIR, options)
        .unwrap_or_else(|e| panic!("{ctx}: reopen after the fault cleared: {e}"));
    let got = read_consistently(&db, &[]).unwrap_or_else(|e| panic!("{ctx}: after reopen: {e}"));
    assert!(
        got == *acked || got == *with_failed,
        "{ctx}: after reopen: {}",
        describe_difference(acked, &got)
    );
    db.put("after", "fault")
        .unwrap_or_else(|e| panic!("{ctx}: no writes after reopen: {e}"));
    db
}
