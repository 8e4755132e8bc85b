//! The short CI version of `scripts/raft-chaos.sh`: 15 s of concurrent clients on a
//! 3-node cluster while nodes are SIGKILLed and restarted, then the recorded history
//! must be linearizable (quickcache-lincheck's checker).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests unwrap: a panic is a failed test"
)]

use std::time::Duration;

use quickcache_lincheck::chaos::{self, Config};
use quickcache_lincheck::checker::{Verdict, check};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_under_kills_and_restarts_is_linearizable() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        server: env!("CARGO_BIN_EXE_quickcache-server").into(),
        dir: dir.path().to_owned(),
        duration: Duration::from_secs(15),
        clients: 6,
        keys: 8,
        seed: 19,
    };
    // Bounded: the run's own waits are bounded; this bounds the whole, and dropping
    // the run ends every child by its pid.
    let run = tokio::time::timeout(Duration::from_secs(90), chaos::run(&config))
        .await
        .unwrap_or_else(|_| panic!("chaos run exceeded 90 s\n{}", chaos::node_logs(dir.path())))
        .unwrap_or_else(|e| panic!("{e}\n{}", chaos::node_logs(dir.path())));
    assert!(run.kills >= 2, "only {} kills", run.kills);
    let acknowledged = run.history.iter().filter(|o| o.ret.is_some()).count();
    assert!(
        acknowledged > 500,
        "only {acknowledged} operations completed\n{}",
        chaos::node_logs(dir.path())
    );
    match check(&run.history) {
        Verdict::Linearizable { .. } => {}
        verdict => panic!("{verdict:?}"),
    }
}
