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

/// `dump-wal` prints the WAL's ingest records (format version 5): the sequence number
/// and each table's number, size and tail checksum; none counts as an undecodable batch.
#[test]
fn dump_wal_prints_an_ingest_record() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    sample_db(&db);
    let a = table(&tmp.path().join("a.sst"), &[("bulk1", "one")]);
    let o = qc(&["ingest", "--db", path(&db), path(&a)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut segments: Vec<PathBuf> = std::fs::read_dir(db.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    let segment = segments.pop().unwrap();
    let o = qc(&["dump-wal", path(&segment)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("INGEST seqno "), "{text}");
    assert!(text.contains(", 1 tables"), "{text}");
    assert!(text.contains("tail checksum 0x"), "{text}");
    assert!(text.contains(" 0 undecodable batches"), "{text}");
}
