//! Helpers shared by the reliability suites (`crash_kill`, `crash_power`,
//! `corruption`, `io_faults`, `concurrency_stress`, `fuzz_corpus_engine`). The suites'
//! logic itself lives in `quickcache-stress`, which the `stress` binary runs for hours.

#![allow(dead_code, reason = "each suite uses a part of the helpers")]

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
