#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! `ingest`: tables written with the sstable crate's builder join a database, in the
//! default keyspace or a named one; overlapping files are refused and nothing joins.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_clean_error, json_lines, path, qc, sample_db, stderr, stdout};
use quickcache_cli::Exit;
use quickcache_sstable::{TableBuilder, TableOptions};

fn table(file: &Path, entries: &[(&str, &str)]) -> PathBuf {
    let mut builder = TableBuilder::create(file, TableOptions::default()).unwrap();
    for (k, v) in entries {
        builder.add_plain(k.as_bytes(), v.as_bytes()).unwrap();
    }
    builder.finish().unwrap();
    file.to_path_buf()
}

#[test]
fn ingest_adds_tables_that_reads_then_see() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    sample_db(&db);
    let a = table(
        &tmp.path().join("a.sst"),
        &[("bulk1", "one"), ("bulk2", "two")],
    );
    let b = table(&tmp.path().join("b.sst"), &[("bulk3", "three")]);
    let o = qc(&["ingest", "--db", path(&db), path(&a), path(&b)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("ingested 2 tables"),
        "{}",
        stdout(&o)
    );
    assert_eq!(stderr(&o), "", "no spinner when stderr is not a terminal");
    let got = qc(&["get", "--db", path(&db), "bulk3"]);
    assert_eq!(stdout(&got).trim(), "three");
    assert!(a.exists() && b.exists(), "copied, not moved");
}

#[test]
fn ingest_moves_into_a_keyspace_and_reports_json() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    sample_db(&db);
    let put = qc(&["put", "--db", path(&db), "--keyspace", "events", "e0", "x"]);
    assert!(put.status.success(), "{}", stderr(&put));
    let a = table(&tmp.path().join("a.sst"), &[("e1", "one")]);
    let args = ["ingest", "--json", "--move", "--keyspace", "events", "--db"];
    let o = qc(&[&args[..], &[path(&db), path(&a)]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let report = &json_lines(&stdout(&o))[0];
    assert_eq!(report["files"], 1);
    assert_eq!(report["levels"].as_array().unwrap().len(), 1);
    assert!(!a.exists(), "moved");
    let got = qc(&["get", "--db", path(&db), "--keyspace", "events", "e1"]);
    assert_eq!(stdout(&got).trim(), "one");
}

#[test]
fn ingest_refuses_overlapping_files_and_ingests_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    sample_db(&db);
    let a = table(&tmp.path().join("a.sst"), &[("k1", "a"), ("k3", "a")]);
    let b = table(&tmp.path().join("b.sst"), &[("k2", "b")]);
    let o = qc(&["ingest", "--db", path(&db), path(&a), path(&b)]);
    assert_clean_error(&o, Exit::Failure, "overlap");
    let got = qc(&["get", "--db", path(&db), "k2"]);
    assert_eq!(got.status.code(), Some(i32::from(Exit::NotFound.code())));
}
