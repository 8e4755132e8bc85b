#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! The operations commands: `checkpoint` writes a copy that opens as a database, and
//! the read commands read a database another process holds through a read-only view.

mod common;

use common::{assert_clean_error, hold, json_lines, path, qc, sample_db, stderr, stdout};
use quickcache_cli::Exit;

#[test]
fn checkpoint_writes_a_copy_that_reads_like_the_original() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dest) = (tmp.path().join("db"), tmp.path().join("backup"));
    sample_db(&db);
    let o = qc(&["checkpoint", "--db", path(&db), path(&dest)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("1 tables linked, 0 copied"), "{text}");
    assert_eq!(stderr(&o), "", "no spinner when stderr is not a terminal");
    let scan = |dir: &std::path::Path| stdout(&qc(&["scan", "--db", path(dir)]));
    assert_eq!(scan(&dest), scan(&db));
    assert!(scan(&dest).contains("x\tin\\twal\\x01"), "{}", scan(&dest));
}

#[test]
fn checkpoint_json_reports_what_it_linked_and_copied() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dest) = (tmp.path().join("db"), tmp.path().join("backup"));
    sample_db(&db);
    let o = qc(&["checkpoint", "--json", "--db", path(&db), path(&dest)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&stdout(&o));
    assert_eq!(lines.len(), 1);
    let report = &lines[0];
    assert_eq!(report["path"], path(&dest));
    assert_eq!(report["tables_linked"], 1);
    assert_eq!(report["tables_copied"], 0);
    assert!(report["wal_segments"].as_u64().unwrap() >= 1, "{report}");
}

#[test]
fn checkpoint_refuses_an_existing_destination_and_a_missing_database() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dest) = (tmp.path().join("db"), tmp.path().join("backup"));
    sample_db(&db);
    std::fs::create_dir(&dest).unwrap();
    let o = qc(&["checkpoint", "--db", path(&db), path(&dest)]);
    assert_clean_error(&o, Exit::Usage, "exists");
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
    let missing = tmp.path().join("nothing");
    let o = qc(&[
        "checkpoint",
        "--db",
        path(&missing),
        path(&tmp.path().join("b2")),
    ]);
    assert_clean_error(&o, Exit::NoDatabase, "no quickcache database");
}

#[test]
fn checkpoint_of_a_database_another_process_holds_is_refused_as_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, dest) = (tmp.path().join("db"), tmp.path().join("backup"));
    sample_db(&db);
    let held = hold(&db);
    let o = qc(&["checkpoint", "--db", path(&db), path(&dest)]);
    assert_clean_error(&o, Exit::Locked, "already open");
    assert!(!dest.exists());
    // The process that holds it takes the checkpoint itself.
    held.checkpoint(&dest).unwrap();
    drop(held);
    assert!(qc(&["get", "--db", path(&dest), "a"]).status.success());
}

#[test]
fn read_commands_read_a_held_database_through_a_read_only_view_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    sample_db(&db);
    let held = hold(&db);
    held.put("live", "write").unwrap();
    let d = path(&db);
    let get = qc(&["get", "--db", d, "live"]);
    assert!(get.status.success(), "{}", stderr(&get));
    assert_eq!(stdout(&get), "write\n");
    assert!(stderr(&get).contains("database is in use; reading a read-only view as of now"));
    let scan = qc(&["scan", "--db", d]);
    assert!(scan.status.success(), "{}", stderr(&scan));
    assert!(stdout(&scan).contains("a\tvalue-a"), "{}", stdout(&scan));
    assert!(
        stderr(&scan).contains("read-only view"),
        "{}",
        stderr(&scan)
    );
    let stats = qc(&["stats", "--json", "--db", d]);
    assert!(stats.status.success(), "{}", stderr(&stats));
    assert_eq!(json_lines(&stdout(&stats)).len(), 1);
    // Writes still need the lock.
    assert_clean_error(
        &qc(&["put", "--db", d, "k", "v"]),
        Exit::Locked,
        "already open",
    );
    drop(held);
}
