//! Runs the built `quickcache` binary against real directories, one test per behaviour.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers: a panic is a failed test"
)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use quickcache::{Db, Options};
use quickcache_cli::Exit;

/// How long one command may run before the test fails (the slowest, `bench` with
/// every workload, takes a few seconds in a debug build).
const TIMEOUT: Duration = Duration::from_secs(120);

/// The binary, with no `QUICKCACHE_DB` from the caller's environment.
fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quickcache"));
    cmd.args(args).env_remove("QUICKCACHE_DB");
    cmd
}

fn qc(args: &[&str]) -> Output {
    run(command(args))
}

/// Runs `cmd` to completion, killing it (and failing the test) after [`TIMEOUT`].
fn run(mut cmd: Command) -> Output {
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

fn drain(pipe: &mut impl Read) -> Vec<u8> {
    let mut bytes = Vec::new();
    pipe.read_to_end(&mut bytes).unwrap();
    bytes
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A failure: the exit code of `exit` and exactly one line on stderr, no panic.
fn assert_clean_error(o: &Output, exit: Exit, needle: &str) {
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
fn sample_db(dir: &Path) {
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

fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walk(dir)
        .into_iter()
        .filter(|p| path(p).ends_with(suffix))
        .collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
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
fn hold(dir: &Path) -> Db {
    for _ in 0..100 {
        match Db::open(dir) {
            Err(e) if e.is_locked() => std::thread::sleep(std::time::Duration::from_millis(20)),
            other => return other.unwrap(),
        }
    }
    Db::open(dir).unwrap()
}

fn flip_byte(file: &Path, at: usize) {
    let mut bytes = std::fs::read(file).unwrap();
    bytes[at] ^= 0x55;
    std::fs::write(file, bytes).unwrap();
}

#[test]
fn put_get_delete_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let put = qc(&["put", "--db", path(&db), "--create", "k\\x00", "v\\tv"]);
    assert!(put.status.success(), "{}", stderr(&put));
    let get = qc(&["get", "--db", path(&db), "k\\x00"]);
    assert_eq!(stdout(&get), "v\\tv\n");
    let hex = qc(&["get", "--db", path(&db), "--hex", "6b00"]);
    assert_eq!(stdout(&hex), "760976\n");
    assert!(
        qc(&["delete", "--db", path(&db), "k\\x00"])
            .status
            .success()
    );
    let gone = qc(&["get", "--db", path(&db), "k\\x00"]);
    assert_clean_error(&gone, Exit::NotFound, "not found: k\\x00");
}

#[test]
fn put_without_create_refuses_a_missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing");
    assert_clean_error(
        &qc(&["put", "--db", path(&missing), "k", "v"]),
        Exit::NoDatabase,
        "does not exist",
    );
    assert!(!missing.exists());
}

#[test]
fn scan_honours_bounds_prefix_direction_and_limit() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let d = path(tmp.path());
    let all = stdout(&qc(&["scan", "--db", d]));
    assert_eq!(
        all.lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect::<Vec<_>>(),
        ["a", "b", "d", "e", "x"]
    );
    assert!(all.contains("x\tin\\twal\\x01"), "{all}");
    let ranged = stdout(&qc(&["scan", "--db", d, "--from", "b", "--to", "e"]));
    assert_eq!(ranged, "b\tvalue-b\nd\tvalue-d\n");
    let reversed = stdout(&qc(&["scan", "--db", d, "--reverse", "--limit", "2"]));
    assert_eq!(reversed.lines().count(), 2);
    assert!(reversed.starts_with("x\t"), "{reversed}");
    let prefixed = stdout(&qc(&["scan", "--db", d, "--prefix", "e"]));
    assert_eq!(prefixed, "e\tvalue-e\n");
}

#[test]
fn stats_shows_levels_as_table_and_picture() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let o = qc(&["stats", "--db", path(tmp.path())]);
    let text = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(text.contains("L0 |█"), "{text}");
    assert!(text.contains("a .. e"), "{text}");
    assert!(text.contains("write amplification"), "{text}");
}

#[test]
fn compact_moves_everything_to_the_bottom() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let o = qc(&["compact", "--db", path(tmp.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("before: L0 1 files"), "{text}");
    assert!(text.contains("after:  L6 1 files"), "{text}");
    let scan = stdout(&qc(&["scan", "--db", path(tmp.path())]));
    assert_eq!(scan.lines().count(), 5);
}

#[test]
fn verify_passes_a_sound_database() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let o = qc(&["verify", "--db", path(tmp.path())]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("checked 1 tables"), "{}", stdout(&o));
    assert!(stdout(&o).contains("OK"));
}

#[test]
fn verify_reports_a_damaged_table_precisely() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let table = &files_with(tmp.path(), ".sst")[0];
    flip_byte(table, 10);
    let o = qc(&["verify", "--db", path(tmp.path())]);
    assert_clean_error(&o, Exit::Corruption, "1 damaged files");
    let report = stdout(&o);
    assert!(
        report.contains("DAMAGED") && report.contains(path(table)),
        "{report}"
    );
}

#[test]
fn dump_wal_reads_the_segment_being_written_up_to_its_preallocated_space() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path()).unwrap();
    db.put("live", "value").unwrap();
    let segment = files_with(tmp.path(), ".log").pop().unwrap();
    let o = qc(&["dump-wal", path(&segment)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("PUT live = value"), "{text}");
    assert!(text.contains("unused preallocated space"), "{text}");
    assert!(text.contains("1 records, 0 damaged ranges"), "{text}");
    db.close().unwrap();
}

#[test]
fn dump_wal_decodes_batches_and_reports_damage() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let segment = files_with(tmp.path(), ".log").pop().unwrap();
    let o = qc(&["dump-wal", path(&segment)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("PUT x = in\\twal\\x01"), "{text}");
    assert!(text.contains("DEL c"), "{text}");
    let len = std::fs::metadata(&segment).unwrap().len() as usize;
    flip_byte(&segment, len - 3);
    let damaged = qc(&["dump-wal", path(&segment)]);
    assert_clean_error(&damaged, Exit::Corruption, "damaged");
    assert!(
        stdout(&damaged).contains("DAMAGE @"),
        "{}",
        stdout(&damaged)
    );
}

#[test]
fn dump_sst_lists_entries_and_refuses_damage() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let table = &files_with(tmp.path(), ".sst")[0];
    let copy = tmp.path().join("copy.sst");
    std::fs::copy(table, &copy).unwrap();
    let o = qc(&["dump-sst", path(&copy)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("entries 5"), "{text}");
    assert!(text.contains("PUT b @2 = value-b"), "{text}");
    assert!(text.contains("verified"), "{text}");
    flip_byte(&copy, 10);
    assert_clean_error(
        &qc(&["dump-sst", path(&copy)]),
        Exit::Corruption,
        "is damaged",
    );
}

#[test]
fn dump_manifest_shows_the_edits() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let manifest = walk(tmp.path())
        .into_iter()
        .find(|p| path(p).contains("MANIFEST-"))
        .unwrap();
    let o = qc(&["dump-manifest", path(&manifest)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("add L0 table"), "{text}");
    assert!(text.contains("keys a@1 .. e@5"), "{text}");
    flip_byte(&manifest, 40);
    assert_clean_error(
        &qc(&["dump-manifest", path(&manifest)]),
        Exit::Corruption,
        "damaged",
    );
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    for cmd in ["get", "scan", "stats", "verify", "compact"] {
        let mut args = vec![cmd, "--db", path(&missing)];
        if cmd == "get" {
            args.push("k");
        }
        assert_clean_error(&qc(&args), Exit::NoDatabase, "does not exist");
    }
    assert_clean_error(&qc(&["dump-wal", path(&missing)]), Exit::Io, "missing");
}

#[test]
fn a_directory_that_is_no_database_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    assert_clean_error(
        &qc(&["get", "--db", path(tmp.path()), "k"]),
        Exit::NoDatabase,
        "no CURRENT file",
    );
    assert_clean_error(
        &qc(&["put", "--db", path(tmp.path()), "--create", "k", "v"]),
        Exit::NoDatabase,
        "not a quickcache database",
    );
    assert_clean_error(
        &qc(&["bench", "--db", path(tmp.path()), "--num", "10"]),
        Exit::Usage,
        "refuses to empty it",
    );
    assert_eq!(walk(tmp.path()).len(), 1);
}

#[test]
fn a_locked_database_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let held = hold(tmp.path());
    let d = path(tmp.path());
    assert_clean_error(&qc(&["get", "--db", d, "a"]), Exit::Locked, "already open");
    assert_clean_error(&qc(&["compact", "--db", d]), Exit::Locked, "already open");
    // verify takes no lock, so it works beside a running database.
    assert!(qc(&["verify", "--db", path(tmp.path())]).status.success());
    drop(held);
}

#[test]
fn a_damaged_table_is_a_clear_error_for_reads() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let table = &files_with(tmp.path(), ".sst")[0];
    std::fs::write(table, b"short").unwrap();
    let o = qc(&["scan", "--db", path(tmp.path())]);
    assert_clean_error(&o, Exit::Corruption, path(table));
}

#[test]
fn bench_runs_every_workload_and_prints_the_table() {
    let o = qc(&["bench", "--num", "3000"]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    for name in [
        "fillseq",
        "fillrandom",
        "fillbatch",
        "overwrite",
        "readrandom",
        "readmissing",
        "seekrandom",
        "readseq",
        "readreverse",
        "readwhilewriting",
        "deleterandom",
        "fillsync",
        "fillsync4",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{text}"
        );
    }
    assert!(text.contains("p99.9"), "{text}");
    assert!(text.contains("removed afterwards"), "{text}");
}

#[test]
fn bench_json_reports_measured_reads_and_keeps_a_given_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let o = qc(&[
        "bench",
        "--num",
        "2000",
        "--threads",
        "2",
        "--json",
        "--db",
        path(&db),
        "--benchmarks",
        "readrandom,readmissing,readseq",
    ]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains(r#""workload":"readrandom","threads":2,"ops":2000,"#),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(r#""found":2000"#),
        "reads of a loaded store find every key: {}",
        lines[0]
    );
    assert!(lines[1].contains(r#""found":0"#), "{}", lines[1]);
    assert!(lines[2].contains(r#""found":2000"#), "{}", lines[2]);
    assert!(db.join("CURRENT").is_file());
}

#[test]
fn bench_rejects_an_unknown_workload() {
    assert_clean_error(
        &qc(&["bench", "--benchmarks", "fillseq,nope"]),
        Exit::Usage,
        "unknown benchmark \"nope\"",
    );
}

#[test]
fn each_kind_of_failure_has_its_own_exit_code_listed_in_help() {
    let help = qc(&["--help"]);
    assert!(help.status.success());
    let text = stdout(&help);
    assert!(text.contains("Exit codes:\n  0  success\n"), "{text}");
    for exit in Exit::ALL {
        let line = format!("  {}  {}", exit.code(), exit.meaning());
        assert!(text.contains(&line), "{line:?} missing:\n{text}");
    }
    // A database that lost the manifest CURRENT names is damaged, not missing.
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let current = std::fs::read_to_string(tmp.path().join("CURRENT")).unwrap();
    std::fs::remove_file(tmp.path().join(current.trim_end())).unwrap();
    let lost = qc(&["get", "--db", path(tmp.path()), "a"]);
    assert_clean_error(&lost, Exit::Corruption, "does not exist");
    // clap's own usage errors: a missing argument, an unknown flag.
    for args in [&["get", "--db", "x"][..], &["scan", "--nope"]] {
        let o = qc(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("Usage:"), "{}", stderr(&o));
    }
}

#[test]
fn text_shows_printable_utf8_as_itself_and_takes_lone_backslashes_literally() {
    let tmp = tempfile::tempdir().unwrap();
    let d = path(tmp.path());
    let put = qc(&[
        "put",
        "--db",
        d,
        "--create",
        r"back\slash",
        "héllo wörld 🦀",
    ]);
    assert!(put.status.success(), "{}", stderr(&put));
    assert_eq!(
        stdout(&qc(&["get", "--db", d, r"back\slash"])),
        "héllo wörld 🦀\n"
    );
    // The escaped form, as scan shows the key, names the same key.
    let scan = stdout(&qc(&["scan", "--db", d]));
    assert_eq!(scan, "back\\\\slash\théllo wörld 🦀\n");
    let get = qc(&["get", "--db", d, r"back\\slash"]);
    assert_eq!(stdout(&get), "héllo wörld 🦀\n");
    assert!(
        qc(&["put", "--db", d, "bin", r"\x00\xff\xc3 \t"])
            .status
            .success()
    );
    assert_eq!(
        stdout(&qc(&["get", "--db", d, "bin"])),
        "\\x00\\xff\\xc3 \\t\n"
    );
    let help = stdout(&qc(&["put", "--help"]));
    assert!(
        help.contains("Keys and values:") && help.contains(r"\xNN"),
        "{help}"
    );
}

#[test]
fn raw_takes_arguments_as_typed_and_prints_bytes_as_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let d = path(tmp.path());
    let put = qc(&["put", "--db", d, "--create", "--raw", r"a\tb", r"\x00"]);
    assert!(put.status.success(), "{}", stderr(&put));
    assert_eq!(
        stdout(&qc(&["get", "--db", d, "--hex", "615c7462"])),
        "5c783030\n"
    );
    assert!(
        qc(&["put", "--db", d, "--hex", "6b", "00ff0a"])
            .status
            .success()
    );
    let raw = qc(&["get", "--db", d, "--raw", "k"]);
    assert_eq!(
        raw.stdout, b"\x00\xff\n",
        "no newline added to the value's own"
    );
    let scan = qc(&["scan", "--db", d, "--raw", "--prefix", "k"]);
    assert_eq!(scan.stdout, b"k\t\x00\xff\n\n");
    let both = qc(&["get", "--db", d, "--raw", "--hex", "k"]);
    assert_eq!(both.status.code(), Some(2));
    assert!(
        stderr(&both).contains("cannot be used with"),
        "{}",
        stderr(&both)
    );
}

/// Parses every line of `text` as one JSON value.
fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn stats_json_is_one_object_with_levels_and_tables() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let o = qc(&["stats", "--db", path(tmp.path()), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&stdout(&o));
    assert_eq!(lines.len(), 1);
    let stats = &lines[0];
    let l0 = &stats["levels"][0];
    assert_eq!(l0["level"], 0);
    assert_eq!(l0["files"], 1);
    assert_eq!(l0["entries"], 5);
    assert_eq!(l0["tables"][0]["smallest"], "a");
    assert_eq!(l0["tables"][0]["largest"], "e");
    assert_eq!(stats["levels"].as_array().unwrap().len(), 7);
    assert!(stats["wal_bytes"].as_u64().unwrap() > 0, "{stats}");
    assert!(stats["write_amplification"].is_number(), "{stats}");
    assert!(stats["background_error"].is_null(), "{stats}");
}

#[test]
fn scan_json_prints_one_object_per_pair() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let d = path(tmp.path());
    let o = qc(&["scan", "--db", d, "--json", "--from", "d"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&stdout(&o));
    assert_eq!(lines.len(), 3, "{}", stdout(&o));
    assert_eq!(
        lines[0],
        serde_json::json!({"key": "d", "value": "value-d"})
    );
    assert_eq!(
        lines[2]["value"], "in\\twal\\x01",
        "escaped text, as without --json"
    );
    let hex = json_lines(&stdout(&qc(&["scan", "--db", d, "--json", "--hex"])));
    assert_eq!(hex[0]["key"], "61");
    let empty = qc(&["scan", "--db", d, "--json", "--prefix", "zz"]);
    assert!(empty.status.success() && empty.stdout.is_empty());
    assert_eq!(
        qc(&["scan", "--db", d, "--json", "--raw"]).status.code(),
        Some(2)
    );
}

#[test]
fn verify_json_reports_counts_and_each_damaged_file() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let d = path(tmp.path());
    let sound = qc(&["verify", "--db", d, "--json"]);
    assert!(sound.status.success(), "{}", stderr(&sound));
    let report = &json_lines(&stdout(&sound))[0];
    assert_eq!(report["ok"], true);
    assert_eq!(report["tables"], 1);
    assert_eq!(report["damaged"], serde_json::json!([]));
    let table = &files_with(tmp.path(), ".sst")[0];
    flip_byte(table, 10);
    let o = qc(&["verify", "--db", d, "--json"]);
    assert_clean_error(&o, Exit::Corruption, "1 damaged files");
    let lines = json_lines(&stdout(&o));
    assert_eq!(lines.len(), 1, "only the JSON object on stdout");
    assert_eq!(lines[0]["ok"], false);
    assert_eq!(lines[0]["damaged"][0]["path"], path(table));
    assert!(lines[0]["damaged"][0]["reason"].is_string(), "{}", lines[0]);
}

#[test]
fn bench_deletes_a_database_only_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let d = path(tmp.path());
    let refused = qc(&[
        "bench",
        "--db",
        d,
        "--num",
        "100",
        "--benchmarks",
        "readrandom,fillseq",
    ]);
    assert_clean_error(&refused, Exit::Usage, "fillseq would delete; pass --force");
    assert_eq!(stdout(&qc(&["get", "--db", d, "a"])), "value-a\n");
    // Workloads that only read leave it alone, so they need no --force.
    let reads = qc(&[
        "bench",
        "--db",
        d,
        "--num",
        "100",
        "--benchmarks",
        "readrandom",
    ]);
    assert!(reads.status.success(), "{}", stderr(&reads));
    assert_eq!(stdout(&qc(&["get", "--db", d, "a"])), "value-a\n");
    let forced = qc(&[
        "bench",
        "--db",
        d,
        "--num",
        "100",
        "--benchmarks",
        "fillseq",
        "--force",
    ]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert_eq!(qc(&["get", "--db", d, "a"]).status.code(), Some(3));
}

#[test]
fn bench_says_a_scan_ran_out_of_keys_rather_than_time() {
    let o = qc(&[
        "bench",
        "--num",
        "2000",
        "--json",
        "--benchmarks",
        "fillrandom,readseq",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&stdout(&o));
    let readseq = &lines[1];
    let note = readseq["note"].as_str().unwrap();
    let ops = readseq["ops"].as_u64().unwrap();
    assert!(ops < 2000, "fillrandom repeats keys: {readseq}");
    assert!(
        note.contains(&format!("ran out of keys after {ops} of 2000 entries")),
        "{note}"
    );
    assert!(!note.contains("time limit"), "{note}");
}

#[test]
fn dump_wal_refuses_a_file_that_is_no_wal_segment_before_printing() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let table = &files_with(tmp.path(), ".sst")[0];
    let o = qc(&["dump-wal", path(table)]);
    assert_clean_error(&o, Exit::Usage, "not a WAL segment");
    assert!(stderr(&o).contains("quickcache dump-sst"), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    // Renamed, a table is still told apart by its content.
    let copy = tmp.path().join("copy.bin");
    std::fs::copy(table, &copy).unwrap();
    let o = qc(&["dump-wal", path(&copy)]);
    assert_clean_error(&o, Exit::Usage, "does not begin with the segment magic");
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "hello").unwrap();
    assert_clean_error(&qc(&["dump-wal", path(&notes)]), Exit::Usage, "not a WAL");
    let segment = files_with(tmp.path(), ".log").pop().unwrap();
    let o = qc(&["dump-manifest", path(&segment)]);
    assert_clean_error(&o, Exit::Usage, "try `quickcache dump-wal`");
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
}

#[test]
fn quickcache_db_names_the_database_when_db_is_not_given() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let with_env = |args: &[&str]| {
        let mut cmd = command(args);
        cmd.env("QUICKCACHE_DB", tmp.path());
        run(cmd)
    };
    assert_eq!(stdout(&with_env(&["get", "a"])), "value-a\n");
    assert!(with_env(&["put", "n", "new"]).status.success());
    assert_eq!(stdout(&with_env(&["scan", "--prefix", "n"])), "n\tnew\n");
    // --db wins over the variable.
    let other = tmp.path().join("missing");
    let o = with_env(&["get", "--db", path(&other), "a"]);
    assert_clean_error(&o, Exit::NoDatabase, "missing");
    assert!(stdout(&with_env(&["stats", "--help"])).contains("QUICKCACHE_DB"));
    // Neither: a usage error naming the option.
    let neither = qc(&["get", "a"]);
    assert_eq!(neither.status.code(), Some(2));
    assert!(stderr(&neither).contains("--db"), "{}", stderr(&neither));
    // bench never reads it: its fill workloads would delete the database.
    let bench = with_env(&["bench", "--num", "100", "--benchmarks", "fillseq"]);
    assert!(bench.status.success(), "{}", stderr(&bench));
    assert!(stdout(&bench).contains("removed afterwards"));
    assert_eq!(stdout(&with_env(&["get", "a"])), "value-a\n");
}

#[test]
fn every_subcommand_help_shows_usage_examples() {
    for sub in [
        "bench",
        "get",
        "put",
        "delete",
        "scan",
        "stats",
        "verify",
        "compact",
        "dump-wal",
        "dump-sst",
        "dump-manifest",
    ] {
        let o = qc(&[sub, "--help"]);
        assert!(o.status.success(), "{sub}: {}", stderr(&o));
        let text = stdout(&o);
        let example = format!("Examples:\n  quickcache {sub} ");
        assert!(
            text.contains(&example),
            "{sub} --help lacks examples:\n{text}"
        );
    }
}
