//! The watchdog turns a hang into a failed test that says where it stuck: a child
//! process (the ignored test below) blocks on purpose, and must end by the watchdog's
//! exit code with its report on stderr.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

use std::process::Command;
use std::time::Duration;

use quickcache_stress::watchdog::{EXIT_CODE, Watchdog};

const CHILD: &str = "QUICKCACHE_WATCHDOG_CHILD";

#[test]
#[ignore = "the child of a_hang_ends_the_process_with_the_report"]
fn hanging_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let dog = Watchdog::start("a deliberate hang", Duration::from_millis(200));
    dog.phase("blocked on a channel nobody sends on");
    dog.watch("the waiter", || {
        "waiting for a message that never comes".to_string()
    });
    let (_tx, rx) = std::sync::mpsc::channel::<()>();
    // Bounded even if the watchdog failed to fire, so this test cannot hang either.
    let _ = rx.recv_timeout(Duration::from_secs(60));
    panic!("the watchdog did not fire");
}

#[test]
fn a_hang_ends_the_process_with_the_report() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hanging_child", "--ignored", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_CODE), "{stderr}");
    for expected in [
        "WATCHDOG: `a deliberate hang` did not finish within 200ms",
        "phase: blocked on a channel nobody sends on",
        "--- the waiter ---",
        "waiting for a message that never comes",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected:?} missing from {stderr}"
        );
    }
}
