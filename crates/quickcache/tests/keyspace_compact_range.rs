#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]
//! `Keyspace::compact_range` compacts that keyspace's tree, and only it.

use std::collections::BTreeMap;

use quickcache::{Db, Error, Options};

fn small() -> Options {
    Options {
        memtable_size: 32 << 10,
        l0_compaction_trigger: 8,
        table_size: 8 << 10,
        base_level_size: 32 << 10,
        flush_interval: None,
        ..Options::default()
    }
}

fn files(levels: &[quickcache::LevelStats]) -> Vec<usize> {
    levels.iter().map(|l| l.files).collect()
}

#[test]
fn compacting_a_keyspace_pushes_its_tables_down_and_leaves_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), small()).unwrap();
    let log = db.keyspace("log").unwrap();
    let mut model = BTreeMap::new();
    // Three L0 tables in each tree: overwrites and deletes the compaction must fold.
    for round in 0..3u32 {
        for i in 0..200u32 {
            let key = format!("k{i:04}");
            let value = format!("v{round}-{i}");
            log.put(&key, &value).unwrap();
            db.put(&key, &value).unwrap();
            model.insert(key, value);
        }
        for i in (0..200u32).step_by(7 + round as usize) {
            let key = format!("k{i:04}");
            log.delete(&key).unwrap();
            model.remove(&key);
        }
        db.flush().unwrap();
    }
    let default_before = files(&db.stats().levels);
    assert_eq!(default_before[0], 3, "{default_before:?}");

    log.compact_range(..).unwrap();

    let stats = db.stats();
    let log_levels = files(&stats.keyspaces[0].levels);
    assert_eq!(
        log_levels[0], 0,
        "log's L0 is compacted away: {log_levels:?}"
    );
    let bottom = *log_levels.last().unwrap();
    assert!(bottom > 0, "log's data is at the bottom: {log_levels:?}");
    assert_eq!(
        log_levels.iter().sum::<usize>(),
        bottom,
        "only the bottom level holds log's tables: {log_levels:?}"
    );
    assert_eq!(
        files(&stats.levels),
        default_before,
        "default tree untouched"
    );

    let got: BTreeMap<String, String> = log
        .iter()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (
                String::from_utf8(k).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(got, model);
    assert_eq!(
        db.iter().count(),
        200,
        "the default keyspace kept every key"
    );
}

#[test]
fn a_range_compaction_leaves_the_rest_of_the_keyspace_in_l0() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with(dir.path(), small()).unwrap();
    let index = db.keyspace("index").unwrap();
    // Two non-overlapping L0 tables: "a…" keys and "z…" keys.
    for prefix in ["a", "z"] {
        for i in 0..100u32 {
            index.put(format!("{prefix}{i:03}"), "v").unwrap();
        }
        index.flush().unwrap();
    }
    assert_eq!(db.stats().keyspaces[0].levels[0].files, 2);
    index.compact_range("a".."b").unwrap();
    let levels = files(&db.stats().keyspaces[0].levels);
    assert_eq!(levels[0], 1, "the z table stays in L0: {levels:?}");
    assert_eq!(index.iter().count(), 200);
}

#[test]
fn a_dropped_keyspace_refuses_to_compact() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let tmp = db.keyspace("tmp").unwrap();
    tmp.put("k", "v").unwrap();
    db.drop_keyspace("tmp").unwrap();
    let err = tmp.compact_range(..).unwrap_err();
    assert!(matches!(err, Error::KeyspaceDropped { .. }), "{err}");
    let err = tmp.flush().unwrap_err();
    assert!(matches!(err, Error::KeyspaceDropped { .. }), "{err}");
}
