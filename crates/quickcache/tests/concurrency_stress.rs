//! Writers, readers, snapshot readers and compactions at once on the real file system
//! for `QUICKCACHE_STRESS_SECS` seconds (default 30, as in CI; `stress concurrency` runs
//! longer): a read never returns an older value of a key than one acknowledged
//! before it began, no batch is ever seen half-applied, snapshots do not move. See
//! `quickcache_stress::concurrency`.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use quickcache::Db;
use quickcache_stress::concurrency::{ConcurrencyConfig, options, run};

#[test]
fn writers_readers_snapshots_and_compactions_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), options()).unwrap();
    let cfg = ConcurrencyConfig {
        duration: support::env_secs("QUICKCACHE_STRESS_SECS", 30),
        writers: 4,
        readers: 2,
        keys_per_writer: 200,
    };
    let stats = run(db, cfg).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{stats:?}");
    assert!(
        stats.writes > 100 && stats.reads > 100 && stats.scans > 2 && stats.compactions > 2,
        "{stats:?}"
    );
}
