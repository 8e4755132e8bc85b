//! What every CLI test uses: running the built `quickcache` binary with a timeout,
//! reading its output, and building and damaging sample databases.

#![allow(
    dead_code,
    reason = "each test binary includes this module and uses a part of it"
)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use quickcache::{Db, Options};
use quickcache_cli::Exit;

/// How long one command may run before the test fails (the slowest, `bench` with
/// every workload, takes a few seconds in a debug build).
pub(crate) const TIMEOUT: Duration = Duration::from_secs(120);

/// The binary, with no `QUICKCACHE_DB` from the caller's environment.
pub(crate) fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quickcache"));
    cmd.args(args).env_remove("QUICKCACHE_DB");
    cmd
}

pub(crate) fn qc(args: &[&str]) -> Output {
    run(command(args))
}

/// Runs `cmd` to completion, killing it (and failing the test) after [`TIMEOUT`].
pub(crate) fn run(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain both pipes on their own threads so that a chatty child cannot block.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || drain(&mut out));
    let err = std::thread::spawn(move || drain(&mut err));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still running after {TIMEOUT:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

pub(crate) fn drain(pipe: &mut impl Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    pipe.read_to_end(&mut bytes).unwrap();
    bytes
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A failure: the exit code of `exit` and exactly one line on stderr, no panic.
pub(crate) fn assert_clean_error(o: &Output, exit: Exit, needle: &str) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(i32::from(exit.code())),
        "stdout {} stderr {err}",
        stdout(o)
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

/// A database with `a`..`e` in a table and `x` (plus a delete of `c`) in the WAL.
pub(crate) fn sample_db(dir: &Path) {
    let options = Options {
        flush_on_close: false,
        ..Options::default()
    };
    let db = Db::open_with(dir, options).unwrap();
    for k in ["a", "b", "c", "d", "e"] {
        db.put(k, format!("value-{k}")).unwrap();
    }
    db.flush().unwrap();
    db.put("x", "in\twal\x01").unwrap();
    db.delete("c").unwrap();
    db.close().unwrap();
}

pub(crate) fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| path(p).ends_with(suffix))
        .collect();
    out.sort();
    out
}

pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Opens and holds the database. Other tests spawn the binary concurrently, and a
/// child forked before its exec briefly holds a copy of every descriptor, including
/// the LOCK file's (flock locks belong to the shared open file description), so a
/// reopen right after a close may see the lock for a moment: retry for a while.
pub(crate) fn hold(dir: &Path) -> Db {
    for _ in 0..100 {
        match Db::open(dir) {
            Err(e) if e.is_locked() => std::thread::sleep(std::time::Duration::from_millis(20)),
            other => return other.unwrap(),
        }
    }
    Db::open(dir).unwrap()
}

pub(crate) fn flip_byte(file: &Path, at: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at] ^= 0x55;
    std::fs::write(file, bytes).unwrap();
}

/// Parses every line of `text` as one JSON value.
pub(crate) fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
