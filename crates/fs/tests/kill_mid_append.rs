//! Regression test for kill loop seed 14001: a process killed with SIGKILL while it
//! appends through `RealFs` must leave each file as a prefix of what it appended,
//! never zeros before bytes that landed. Appends inside a preallocated region are
//! copies into a shared writable map, and a plain `memcpy` stores its first bytes last
//! (glibc does, for copies over 256 bytes), so a kill mid-copy used to leave a hole in
//! a WAL segment followed by an intact record, which recovery reports as corruption.
//!
//! The test runs itself as the child: with `CHILD_ENV` set, this same test function
//! appends non-zero bytes to one preallocated file after another until it is killed
//! (so however fast the machine, the kill finds it appending). The parent kills it at
//! a random moment and checks every file. Appends of 300 to 2000 bytes keep the child inside `memcpy`
//! most of its time, so most kills land mid-copy.
#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use quickcache_fs::{FileSystem, RealFs, Rng};

const CHILD_ENV: &str = "QUICKCACHE_KILL_MID_APPEND_FILE";
const TEST_NAME: &str = "a_kill_during_mapped_appends_leaves_a_prefix";
const FILE_SIZE: u64 = 4 << 20;
/// A child never killed stops after this many files (the parent then fails).
const MAX_FILES: u32 = 256;
const KILLS: u64 = 30;
/// How long the parent waits for a child to start appending before failing.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Appends the child makes before it says it is appending: every kill then finds
/// bytes in the file, whatever the machine's load.
const APPENDS_BEFORE_READY: usize = 64;

/// Kills the child on drop, so a failing parent leaves no process behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_kill_during_mapped_appends_leaves_a_prefix() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        append_until_killed(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(14001);
    let mut killed_while_appending = 0;
    for round in 0..KILLS {
        let path = dir.path().join(format!("round-{round}"));
        std::fs::create_dir(&path).unwrap();
        // Not a wait for anything: the child is appending already (it said so); the
        // pause only spreads the kills over its appends.
        let delay = Duration::from_micros(rng.below(4000));
        if kill_after(&path, delay) {
            killed_while_appending += 1;
        }
        let mut landed = 0;
        for file in std::fs::read_dir(&path).unwrap() {
            landed += check_prefix(&file.unwrap().path());
        }
        assert!(landed > 0, "round {round}: no appended byte landed");
        std::fs::remove_dir_all(&path).unwrap();
    }
    // Otherwise nothing was tested: a child ended before its kill.
    assert_eq!(
        killed_while_appending, KILLS,
        "kills that landed while the child appended"
    );
}

/// Starts a child appending to files in directory `path`, kills it `delay` after it
/// started appending, and says whether it was still appending then.
fn kill_after(path: &PathBuf, delay: Duration) -> bool {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if line.contains("READY") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(READY_TIMEOUT).is_err() {
        panic!(
            "the child appending to {} did not start within {READY_TIMEOUT:?}",
            path.display()
        );
    }
    std::thread::sleep(delay);
    let still_running = child.0.try_wait().unwrap().is_none();
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    still_running
}

/// Every byte up to the last non-zero one is non-zero: the appends (all non-zero
/// bytes) left a prefix. Returns its length.
fn check_prefix(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let Some(last) = bytes.iter().rposition(|&b| b != 0) else {
        return 0;
    };
    if let Some(hole) = bytes[..last].iter().position(|&b| b == 0) {
        let end = hole + bytes[hole..].iter().position(|&b| b != 0).unwrap_or(0);
        panic!(
            "{}: zeros at {hole}..{end} before bytes that landed (last at {last})",
            path.display()
        );
    }
    last + 1
}

/// The child: appends chunks of non-zero bytes to preallocated files in `dir`, one
/// after another, as the WAL does, until it is killed.
fn append_until_killed(dir: &Path) -> ! {
    let fs = RealFs::new();
    let mut rng = Rng::new(std::process::id().into());
    let chunks: Vec<Vec<u8>> = (0..64)
        .map(|i| {
            let len = 300 + rng.below(1700) as usize;
            (0..len).map(|j| (((i * 7 + j) % 251) + 1) as u8).collect()
        })
        .collect();
    let mut next = 0;
    for n in 0..MAX_FILES {
        let mut file = fs.create(&dir.join(format!("log-{n}"))).unwrap();
        file.preallocate(FILE_SIZE).unwrap();
        while file.len() + 2000 < FILE_SIZE {
            file.append(&chunks[next % chunks.len()]).unwrap();
            next += 1;
            if next == APPENDS_BEFORE_READY {
                println!("READY");
            }
        }
    }
    std::process::exit(0)
}
