//! kill -9 on the real file system, 100 cycles (`QUICKCACHE_KILL_CYCLES`): a child
//! process (the ignored test below, re-run by the parent with `--ignored`) writes a
//! random workload and an oracle of intents and acknowledgements; the parent kills it
//! at a random moment (one kill in ten while it recovers the previous crash, one
//! cycle in twenty while it repairs the database instead of opening it), then
//! checks that the database opens, `verify` passes, scans both ways and gets agree,
//! every batch, transaction and ingest is whole, every write acknowledged at the
//! default durability is there, and every checkpoint the child took while writing
//! opens and holds every write acknowledged before its call. See `quickcache_stress::kill`; `scripts/kill-loop.sh` runs 10,000 cycles.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use std::process::{Command, Stdio};

use quickcache_stress::kill::{KillRun, child_from_env};
use quickcache_stress::watchdog::Watchdog;

/// A kill cycle (spawn, kill, verify, reopen) that takes longer than this has hung.
const CYCLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// The child's body; without the kill environment (a plain `--ignored` run) it
/// returns at once.
#[test]
#[ignore = "the child process of a_killed_process_loses_no_acknowledged_write"]
fn kill_child() {
    if let Some(violation) = child_from_env() {
        panic!("{violation}");
    }
}

#[test]
fn a_killed_process_loses_no_acknowledged_write() {
    let cycles = support::env_count("QUICKCACHE_KILL_CYCLES", 100);
    let seed = support::first_seed();
    let scratch = tempfile::tempdir().unwrap();
    let mut run = KillRun::new(
        scratch.path().join("db"),
        scratch.path().join("oracle"),
        seed,
    );
    let exe = std::env::current_exe().unwrap();
    for cycle in 0..cycles {
        let dog = Watchdog::start(format!("kill cycle {cycle} (seed {seed})"), CYCLE_LIMIT);
        let mut spawn = |run: &KillRun, cycle: u64| {
            let child = Command::new(&exe)
                .args([
                    "--exact",
                    "kill_child",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .envs(run.child_env(cycle))
                .stdout(Stdio::piped())
                .spawn()?;
            // Killed by the watchdog too, if this cycle hangs.
            dog.child(child.id());
            Ok(child)
        };
        let outcome = run.cycle(cycle, &mut spawn);
        dog.finish();
        if let Err(violation) = outcome {
            panic!("{violation} (replay: QUICKCACHE_SEED={seed})");
        }
    }
    eprintln!(
        "{cycles} kill cycles, {} during open, {} during repair, {} acknowledged operations \
         checked ({} transactions and ingests), {} checkpoints opened",
        run.kills_during_open,
        run.kills_during_repair,
        run.acknowledged,
        run.transactions_and_ingests,
        run.checkpoints
    );
    assert!(run.acknowledged > cycles, "the children did almost nothing");
    assert!(cycles < 20 || run.kills_during_open > 0);
    assert!(
        cycles < 20 || run.checkpoints > 0,
        "no checkpoint was checked"
    );
    assert!(cycles < 20 || run.transactions_and_ingests > 0);
    assert!(cycles < 60 || run.kills_during_repair > 0);
}
