//! `bench`: the workloads, their reports, and the directory it may or may not delete.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: a panic is a failed test"
)]

mod common;

use common::{assert_clean_error, json_lines, path, qc, sample_db, stderr, stdout};
use quickcache_cli::Exit;

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
fn bench_runs_the_keyspace_workloads_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let o = qc(&[
        "bench",
        "--num",
        "3000",
        "--json",
        "--db",
        path(&db),
        "--benchmarks",
        "fill16keyspaces,batch16keyspaces,fillbatch,readrandom",
    ]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].contains(r#""workload":"fill16keyspaces""#),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(r#""ops":3000"#), "{}", lines[0]);
    assert!(
        lines[1].contains(r#""workload":"batch16keyspaces""#),
        "{}",
        lines[1]
    );
    // readrandom after the keyspace fills still finds its keys: the default keyspace
    // was filled again (fillbatch), not taken for loaded.
    assert!(lines[3].contains(r#""found":3000"#), "{}", lines[3]);
    // fillbatch started from an empty store: the keyspaces went with it.
    assert_eq!(quickcache::Db::open(&db).unwrap().keyspaces(), ["default"]);
}

/// Bytes of the `.sst` files in `dir`.
fn table_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sst"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn bench_compression_applies_to_every_level_and_reads_find_every_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for kind in ["none", "zstd"] {
        let db = tmp.path().join(kind);
        let o = qc(&[
            "bench",
            "--num",
            "5000",
            "--compression",
            kind,
            "--compression-ratio",
            "0.5",
            "--db",
            path(&db),
            "--benchmarks",
            "fillseq,readrandom",
        ]);
        let text = stdout(&o);
        assert!(o.status.success(), "{text}{}", stderr(&o));
        assert!(text.contains(&format!("compression {kind}")), "{text}");
        assert!(text.contains("(0.5 random)"), "{text}");
        assert!(text.contains("(block cache 32 MiB)"), "{text}");
        sizes.push(table_bytes(&db));
    }
    // Half of every value repeats: zstd tables take well under the plain ones.
    assert!(sizes[1] * 10 < sizes[0] * 8, "{sizes:?}");
    // Refused by the argument parser, with clap's own usage hint after the line.
    let o = qc(&["bench", "--compression", "snappy"]);
    assert_eq!(o.status.code(), Some(i32::from(Exit::Usage.code())));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: ")
            && err.contains(r#"unknown compression "snappy" (none, lz4, zstd)"#),
        "{err}"
    );
}
