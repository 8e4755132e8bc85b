//! Failures every command shares: missing, foreign, locked and damaged databases, one
//! exit code per kind, and the help texts.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: a panic is a failed test"
)]

mod common;

use common::{assert_clean_error, files_with, hold, path, qc, sample_db, stderr, stdout, walk};
use quickcache_cli::Exit;

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
        "checkpoint",
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
