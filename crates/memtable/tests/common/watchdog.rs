//! A watchdog for tests that wait on threads: past its limit it says what hung and
//! aborts the test process, so a hang fails the run instead of stalling it.
//!
//! The memtable cannot depend on `quickcache_stress::watchdog`, which this copies in
//! spirit: no background report to print here, only the test's name.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread;
use std::time::Duration;

/// Armed until dropped; dropping it in time disarms it.
pub(crate) struct Watchdog {
    _disarm: Sender<()>,
}

impl Watchdog {
    /// Arms a watchdog for `what`, which must finish within `limit`.
    pub(crate) fn arm(what: &'static str, limit: Duration) -> Watchdog {
        let (disarm, armed) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = armed.recv_timeout(limit) {
                eprintln!("watchdog: {what} still running after {limit:?}: aborting");
                std::process::abort();
            }
        });
        Watchdog { _disarm: disarm }
    }
}
