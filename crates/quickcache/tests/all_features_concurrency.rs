//! Every newer feature at once on the real file system for
//! `QUICKCACHE_ALL_FEATURES_SECS` seconds (default 20 in CI; `stress all-features`,
//! run by `scripts/soak.sh`, runs longer): transactions across accounts of one
//! keyspace, range deletes with puts in one batch, batches across keyspaces with and
//! without a time to live, values whose short time to live runs out during the run,
//! bulk loads ingested, snapshots, flushes, compactions and checkpoints taken while
//! all of them write. Every view keeps every invariant and holds every write
//! acknowledged before it. See `quickcache_stress::all_features`.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use quickcache_stress::all_features::{AllFeaturesConfig, run};

#[test]
fn keyspaces_transactions_range_deletes_and_checkpoints_while_writing() {
    let scratch = tempfile::tempdir().unwrap();
    let cfg = AllFeaturesConfig {
        duration: support::env_secs("QUICKCACHE_ALL_FEATURES_SECS", 20),
        dir: scratch.path().join("db"),
    };
    // `run` arms its own watchdog: a hang fails it within the duration plus 120 s.
    let stats = run(&cfg).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{stats:?}");
    assert!(
        stats.transfers > 50
            && stats.generations > 50
            && stats.counts > 50
            && stats.checkpoints > 2
            && stats.snapshots > 10
            && stats.expired > 50
            && stats.ingests > 5,
        "{stats:?}"
    );
}
