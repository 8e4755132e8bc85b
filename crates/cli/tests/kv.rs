//! `get`, `put`, `delete` and `scan`: keys and values in and out, their escapes, --raw,
//! --json and QUICKCACHE_DB.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: a panic is a failed test"
)]

mod common;

use common::{assert_clean_error, command, json_lines, path, qc, run, sample_db, stderr, stdout};
use quickcache_cli::Exit;

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
fn keyspace_flag_reads_and_writes_one_keyspace_and_stats_shows_its_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let db = path(tmp.path());
    let put = qc(&[
        "put",
        "--db",
        db,
        "--create",
        "--keyspace",
        "log",
        "k",
        "in-log",
    ]);
    assert!(put.status.success(), "{}", stderr(&put));
    assert!(qc(&["put", "--db", db, "k", "in-default"]).status.success());
    let o = qc(&["get", "--db", db, "--keyspace", "log", "k"]);
    assert_eq!(stdout(&o), "in-log\n", "{}", stderr(&o));
    let o = qc(&["get", "--db", db, "k"]);
    assert_eq!(stdout(&o), "in-default\n");
    let o = qc(&["scan", "--db", db, "--keyspace", "log"]);
    assert_eq!(stdout(&o), "k\tin-log\n");
    // Reads never create a keyspace.
    let missing = qc(&["get", "--db", db, "--keyspace", "nope", "k"]);
    assert_eq!(
        missing.status.code(),
        Some(Exit::NotFound as i32),
        "{}",
        stderr(&missing)
    );
    assert!(stderr(&missing).contains("keyspace nope"));
    let o = qc(&["stats", "--db", db]);
    assert!(
        stdout(&o).contains("keyspace log: memtable"),
        "{}",
        stdout(&o)
    );
    let o = qc(&["delete", "--db", db, "--keyspace", "log", "k"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = qc(&["get", "--db", db, "--keyspace", "log", "k"]);
    assert_eq!(o.status.code(), Some(Exit::NotFound as i32));
    let o = qc(&["get", "--db", db, "k"]);
    assert_eq!(stdout(&o), "in-default\n");
    let dump = common::files_with(tmp.path(), "").into_iter().find(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("MANIFEST-"))
    });
    let o = qc(&["dump-manifest", path(&dump.unwrap())]);
    assert!(
        stdout(&o).contains("create keyspace 1 log"),
        "{}",
        stdout(&o)
    );
    // The WAL names the keyspace by id; inside a database the manifest gives its name.
    let segment = common::files_with(tmp.path(), ".log").pop().unwrap();
    let o = qc(&["dump-wal", path(&segment)]);
    assert!(
        stdout(&o).contains("DEL [keyspace 1 log] k"),
        "{}",
        stdout(&o)
    );
}
