//! Power loss at every I/O operation, on the simulated file system: random small
//! workloads (a 2 KiB memtable, so flushes, compactions and WAL rotations happen), a
//! crash after each file-system operation (a random sample of them where there are
//! many), each crash state reopened and checked against an oracle kept outside the
//! disk: every synced write present, the state that of some prefix of the issued
//! writes (no hole), every batch whole, no panic. See `quickcache_stress::power`.
//!
//! CI runs `QUICKCACHE_POWER_SEEDS` seeds (default 300); the `stress power` command and
//! `scripts/power-loss.sh` run 100,000.

#![allow(clippy::panic, reason = "tests fail by panicking")]

mod support;

use quickcache_stress::power::{PowerConfig, power_seed};
use quickcache_stress::watchdog::Watchdog;
use quickcache_stress::workload::Shape;

/// A seed that takes longer than this has hung (a seed takes well under a second).
const SEED_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

#[test]
fn power_loss_at_every_sampled_fs_operation_keeps_a_prefix_with_every_synced_write() {
    let seeds = support::env_count("QUICKCACHE_POWER_SEEDS", 300);
    let first = support::first_seed();
    let cfg = PowerConfig::default();
    let (mut states, mut fs_ops) = (0, 0);
    for seed in first..first + seeds {
        let dog = Watchdog::start(format!("power-loss seed {seed}"), SEED_LIMIT);
        let outcome = power_seed(seed, &cfg);
        dog.finish();
        match outcome {
            Ok(stats) => {
                states += stats.crash_states;
                fs_ops += stats.fs_ops;
            }
            Err(violation) => {
                panic!("{violation} (replay: QUICKCACHE_SEED={seed} QUICKCACHE_POWER_SEEDS=1)")
            }
        }
    }
    eprintln!("{seeds} seeds, {fs_ops} fs operations, {states} crash states checked");
    assert!(states >= seeds * 5, "only {states} crash states");
}

/// The same with transactions, checkpoints and ingests in the workload (one
/// operation in six), `QUICKCACHE_POWER_FEATURE_SEEDS` seeds (default 100).
#[test]
fn power_loss_with_transactions_checkpoints_and_ingests_keeps_a_prefix() {
    let seeds = support::env_count("QUICKCACHE_POWER_FEATURE_SEEDS", 100);
    let first = support::first_seed();
    let cfg = PowerConfig {
        shape: Shape {
            features_one_in: 6,
            ..Shape::small()
        },
        ..PowerConfig::default()
    };
    let mut states = 0;
    for seed in first..first + seeds {
        let dog = Watchdog::start(format!("power-loss seed {seed} with features"), SEED_LIMIT);
        let outcome = power_seed(seed, &cfg);
        dog.finish();
        match outcome {
            Ok(stats) => states += stats.crash_states,
            Err(violation) => panic!(
                "{violation} (replay: QUICKCACHE_SEED={seed} QUICKCACHE_POWER_FEATURE_SEEDS=1)"
            ),
        }
    }
    eprintln!("{seeds} seeds with transactions, checkpoints and ingests, {states} crash states");
    assert!(states >= seeds * 5, "only {states} crash states");
}
