//! `stats`, `verify`, `compact` and the dumps: what they show of a database and its
//! files.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "tests: a panic is a failed test"
)]

mod common;

use common::{
    assert_clean_error, files_with, flip_byte, json_lines, path, qc, sample_db, stderr, stdout,
    walk,
};
use quickcache::Db;
use quickcache_cli::Exit;

#[test]
fn stats_shows_levels_as_table_and_picture() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let o = qc(&["stats", "--db", path(tmp.path())]);
    let text = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(text.contains("L0 |█"), "{text}");
    assert!(
        text.contains("in 1 files (compaction at 4, slowdown at 8, stop at 12)"),
        "{text}"
    );
    assert!(text.contains("a .. e"), "{text}");
    assert!(text.contains("write amplification"), "{text}");
}

#[test]
fn stats_draws_targets_and_writes_an_svg() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    assert!(qc(&["compact", "--db", path(tmp.path())]).status.success());
    let image = tmp.path().join("tree.svg");
    let o = qc(&["stats", "--db", path(tmp.path()), "--svg", path(&image)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    // The bottom level holds the table, and its target is its own size.
    assert!(text.contains("L6 |█"), "{text}");
    assert!(text.contains("target in 1 files"), "{text}");
    let svg = std::fs::read_to_string(&image).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert_eq!(svg.matches("<rect").count(), 1, "{svg}");
    assert!(svg.contains(r#"class="target""#), "{svg}");
    let json = json_lines(&stdout(&qc(&["stats", "--db", path(tmp.path()), "--json"])));
    assert!(json[0]["levels"][6]["target_bytes"].as_u64().unwrap() > 0);
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
fn compact_moves_everything_to_the_bottom() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let o = qc(&["compact", "--db", path(tmp.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("before: L0 1 files"), "{text}");
    assert!(text.contains("after:  L6 1 files"), "{text}");
    assert_eq!(stderr(&o), "", "no spinner when stderr is not a terminal");
    let scan = stdout(&qc(&["scan", "--db", path(tmp.path())]));
    assert_eq!(scan.lines().count(), 5);
}

#[test]
fn compact_moves_every_keyspace_to_the_bottom() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    {
        let db = quickcache::Db::open(tmp.path()).unwrap();
        let log = db.keyspace("log").unwrap();
        log.put("1", "one").unwrap();
        log.flush().unwrap();
        db.close().unwrap();
    }
    let o = qc(&["compact", "--db", path(tmp.path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let db = quickcache::Db::open(tmp.path()).unwrap();
    let log = &db.stats().keyspaces[0];
    let files: Vec<usize> = log.levels.iter().map(|l| l.files).collect();
    assert_eq!(
        files.last(),
        Some(&1),
        "log's table is at the bottom: {files:?}"
    );
    assert_eq!(files.iter().sum::<usize>(), 1, "{files:?}");
}

#[test]
fn verify_passes_a_sound_database() {
    let tmp = tempfile::tempdir().unwrap();
    sample_db(tmp.path());
    let o = qc(&["verify", "--db", path(tmp.path())]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("checked 1 tables"), "{}", stdout(&o));
    assert!(stdout(&o).contains("OK"));
    assert_eq!(stderr(&o), "", "no spinner when stderr is not a terminal");
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

    use quickcache_memtable::WriteBatch;
    use quickcache_sstable::{KeyspaceId, SeqNo};
    use quickcache_wal::{Durability, Wal, WalOptions};
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
fn the_dumps_show_an_expiring_value_with_its_expiry() {
    use std::sync::Arc;
    use std::time::Duration;
    let tmp = tempfile::tempdir().unwrap();
    let clock = Arc::new(quickcache::ManualClock::new(
        quickcache::Timestamp::from_millis(5_000),
    ));
    let options = quickcache::Options {
        clock,
        flush_on_close: false,
        ..quickcache::Options::default()
    };
    let db = Db::open_with(tmp.path(), options.clone()).unwrap();
    db.put_with_ttl("session", "s1", Duration::from_secs(1))
        .unwrap();
    db.close().unwrap();
    let segment = files_with(tmp.path(), ".log").pop().unwrap();
    let o = qc(&["dump-wal", path(&segment)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(
        text.contains("PUT session = s1 (expires at 6000 ms)"),
        "{text}"
    );
    let db = Db::open_with(tmp.path(), options).unwrap();
    db.flush().unwrap();
    db.close().unwrap();
    let table = files_with(tmp.path(), ".sst").pop().unwrap();
    let o = qc(&["dump-sst", path(&table)]);
    let text = stdout(&o);
    assert!(o.status.success(), "{text}{}", stderr(&o));
    assert!(text.contains("= s1 (expires at 6000 ms)"), "{text}");
}
