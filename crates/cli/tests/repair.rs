//! `repair`: a database that no longer opens is rebuilt, and the report says what was
//! lost; an open that meets a lost file points to it.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: a panic is a failed test"
)]

mod common;

use common::{
    assert_clean_error, files_with, flip_byte, json_lines, path, qc, sample_db, stderr, stdout,
};
use quickcache_cli::Exit;

#[test]
fn repair_salvages_a_damaged_table_and_reports_the_lost_block() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let table = files_with(tmp.path(), ".sst").remove(0);
    // The one data block: every key of the table is in it.
    flip_byte(&table, 3);
    let o = qc(&["repair", "--db", path(tmp.path()), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report = &json_lines(&stdout(&o))[0];
    assert_eq!(report["lost_nothing"], false, "{report}");
    assert_eq!(report["tables_salvaged"], 1, "{report}");
    let lost = report["lost"].as_array().unwrap();
    assert!(
        lost[0]["file"].as_str().unwrap().ends_with(".sst"),
        "{report}"
    );
    assert_eq!(report["wal_records"], 2, "{report}");
    // The damaged original is kept in lost/, the WAL's writes are still there.
    assert!(
        tmp.path()
            .join("lost")
            .join(table.file_name().unwrap())
            .is_file()
    );
    let o = qc(&["get", "--db", path(tmp.path()), "x"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(qc(&["verify", "--db", path(tmp.path())]).status.success());
}

#[test]
fn an_open_without_current_fails_and_repair_brings_the_data_back() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    std::fs::remove_file(tmp.path().join("CURRENT")).unwrap();
    let o = qc(&["get", "--db", path(tmp.path()), "a"]);
    assert_clean_error(&o, Exit::Corruption, "quickcache repair");
    let o = qc(&["repair", "--db", path(tmp.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("lost: nothing"), "{}", stdout(&o));
    let o = qc(&["get", "--db", path(tmp.path()), "a"]);
    assert_eq!(stdout(&o).trim_end(), "value-a", "{}", stderr(&o));
}

#[test]
fn a_lost_wal_segment_fails_the_open_and_names_repair() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    for segment in files_with(&tmp.path().join("wal"), ".log") {
        std::fs::remove_file(segment).unwrap();
    }
    let o = qc(&["get", "--db", path(tmp.path()), "x"]);
    assert_clean_error(&o, Exit::Corruption, "quickcache repair");
}
