//! Runs the built `quickcache` binary against real directories, one test per behaviour.

#![allow(clippy::unwrap_used, reason = "test helpers: a panic is a failed test")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use quickcache::{Db, Options};

fn qc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quickcache"))
        .args(args)
        .output()
        .unwrap()
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

/// A failure: exit code 1 and exactly one line on stderr, no panic.
fn assert_clean_error(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
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
    assert_eq!(gone.status.code(), Some(2));
    assert!(stderr(&gone).contains("not found"));
}

#[test]
fn put_without_create_refuses_a_missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nothing");
    assert_clean_error(
        &qc(&["put", "--db", path(&missing), "k", "v"]),
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
    assert_clean_error(&o, "1 damaged files");
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
    assert_clean_error(&damaged, "damaged");
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
    assert_clean_error(&qc(&["dump-sst", path(&copy)]), "is damaged");
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
    assert_clean_error(&qc(&["dump-manifest", path(&manifest)]), "damaged");
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
        assert_clean_error(&qc(&args), "does not exist");
    }
    assert_clean_error(&qc(&["dump-wal", path(&missing)]), "missing");
}

#[test]
fn a_directory_that_is_no_database_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    assert_clean_error(
        &qc(&["get", "--db", path(tmp.path()), "k"]),
        "no CURRENT file",
    );
    assert_clean_error(
        &qc(&["put", "--db", path(tmp.path()), "--create", "k", "v"]),
        "not a quickcache database",
    );
    assert_clean_error(
        &qc(&["bench", "--db", path(tmp.path()), "--num", "10"]),
        "refuses to empty it",
    );
    assert_eq!(walk(tmp.path()).len(), 1);
}

#[test]
fn a_locked_database_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let held = hold(tmp.path());
    assert_clean_error(&qc(&["get", "--db", path(tmp.path()), "a"]), "already open");
    assert_clean_error(&qc(&["compact", "--db", path(tmp.path())]), "already open");
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
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
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
        "unknown benchmark \"nope\"",
    );
}

#[test]
fn dump_wal_reads_a_version_1_segment_and_names_keyspaces_in_version_2() {
    // The committed format-v1 fixture's WAL segment (read in place: dump-wal only reads).
    let v1 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../quickcache/tests/fixtures/format-v1/wal/000003.log"
    );
    let o = qc(&["dump-wal", v1]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("PUT key00340 = three-340"), "{text}");
    assert!(text.contains("DEL key00100"), "{text}");
    assert!(!text.contains("[keyspace"), "{text}");

    use quickcache::memtable::WriteBatch;
    use quickcache::sstable::{KeyspaceId, SeqNo};
    use quickcache::wal::{Durability, Wal, WalOptions};
    let tmp = tempfile::tempdir().unwrap();
    let fs: quickcache::fs::DynFs = std::sync::Arc::new(quickcache::fs::RealFs::new());
    let (wal, _) = Wal::open(fs, tmp.path(), WalOptions::default()).unwrap();
    let mut batch = WriteBatch::new();
    batch.put(b"plain", b"0").unwrap();
    batch.put_in(KeyspaceId(4), b"log", b"entry").unwrap();
    batch.delete_in(KeyspaceId(4), b"old").unwrap();
    batch.set_base_seqno(SeqNo::new(1).unwrap()).unwrap();
    wal.append(batch.encoded(), Durability::Synced).unwrap();
    wal.close().unwrap();
    let segment = files_with(tmp.path(), ".log").pop().unwrap();
    let o = qc(&["dump-wal", path(&segment)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("PUT plain = 0"), "{text}");
    assert!(text.contains("PUT [keyspace 4] log = entry"), "{text}");
    assert!(text.contains("DEL [keyspace 4] old"), "{text}");
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
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
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
    assert_eq!(o.status.code(), Some(2));
    let o = qc(&["get", "--db", db, "k"]);
    assert_eq!(stdout(&o), "in-default\n");
    let dump = files_with(tmp.path(), "").into_iter().find(|p| {
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
    let segment = files_with(tmp.path(), ".log").pop().unwrap();
    let o = qc(&["dump-wal", path(&segment)]);
    assert!(
        stdout(&o).contains("DEL [keyspace 1 log] k"),
        "{}",
        stdout(&o)
    );
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
