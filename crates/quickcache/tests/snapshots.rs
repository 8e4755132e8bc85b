#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! Snapshots and plain iterators read one consistent point in time, and the versions
//! a snapshot pinned are reclaimed by compaction once it is dropped.

mod support;

use std::sync::Arc;

use quickcache::fs::SimFs;
use quickcache::{Db, Options};

const KEYS: u32 = 64;
/// Large enough that a table's bytes are mostly values, so that "one version" and
/// "two versions" differ by about a factor of two in `stats().levels`.
const VALUE_LEN: usize = 8 << 10;

fn options(fs: &SimFs) -> Options {
    Options {
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

fn key(i: u32) -> [u8; 4] {
    i.to_be_bytes()
}

/// The value of every key in round `round`: distinct per round, so a read tells the
/// versions apart.
fn value(round: u8) -> Vec<u8> {
    vec![round; VALUE_LEN]
}

fn write_round(db: &Db, round: u8) {
    for i in 0..KEYS {
        db.put(key(i), value(round)).unwrap();
    }
}

fn tree_bytes(db: &Db) -> u64 {
    db.stats().levels.iter().map(|l| l.bytes).sum()
}

/// Every key reads `round`'s value through `get`.
fn assert_round(get: impl Fn(&[u8]) -> Option<Vec<u8>>, round: u8, who: &str) {
    for i in 0..KEYS {
        assert_eq!(get(&key(i)), Some(value(round)), "{who}: key {i}");
    }
}

/// Overwrites every key under a snapshot and compacts: the snapshot's versions are
/// kept beside the new ones. Returns the tree's bytes for one version.
fn pin_old_versions(db: &Db) -> (quickcache::Snapshot, u64) {
    write_round(db, 1);
    db.compact_range(..).unwrap();
    let one_version = tree_bytes(db);
    assert!(one_version >= u64::from(KEYS) * VALUE_LEN as u64);

    let snapshot = db.snapshot();
    write_round(db, 2);
    db.flush().unwrap();
    db.compact_range(..).unwrap();
    let snap_get = |k: &[u8]| snapshot.get(k).unwrap().map(|v| v.to_vec());
    assert_round(snap_get, 1, "the snapshot");
    assert_round(|k| db.get(k).unwrap().map(|v| v.to_vec()), 2, "the db");
    let both = tree_bytes(db);
    assert!(
        both * 10 >= one_version * 19,
        "the tree must hold both versions: {both} bytes, one version is {one_version}"
    );
    (snapshot, one_version)
}

#[test]
fn a_full_compaction_after_the_snapshot_is_dropped_reclaims_its_versions() {
    let _dog =
        support::watchdog("a_full_compaction_after_the_snapshot_is_dropped_reclaims_its_versions");
    let fs = SimFs::new(1);
    let db = Db::open_with("/db", options(&fs)).unwrap();
    let (snapshot, one_version) = pin_old_versions(&db);

    drop(snapshot);
    db.compact_range(..).unwrap();
    let after = tree_bytes(&db);
    assert!(
        after * 10 <= one_version * 12,
        "the old versions must be gone: {after} bytes, one version is {one_version}"
    );
    assert_round(|k| db.get(k).unwrap().map(|v| v.to_vec()), 2, "the db");
}

#[test]
fn versions_a_dropped_snapshot_pinned_are_reclaimed_by_the_next_compaction_over_them() {
    let _dog = support::watchdog(
        "versions_a_dropped_snapshot_pinned_are_reclaimed_by_the_next_compaction_over_them",
    );
    let fs = SimFs::new(2);
    let db = Db::open_with("/db", options(&fs)).unwrap();
    let (snapshot, one_version) = pin_old_versions(&db);

    // Without the snapshot, a compaction merging newer data over the bottom keeps
    // only the newest version; a snapshot still registered would keep round 1.
    drop(snapshot);
    assert_eq!(db.stats().snapshots, 0);
    write_round(&db, 3);
    db.compact_range(..).unwrap();
    let after = tree_bytes(&db);
    assert!(
        after * 10 <= one_version * 12,
        "the old versions must be gone: {after} bytes, one version is {one_version}"
    );
    assert_round(|k| db.get(k).unwrap().map(|v| v.to_vec()), 3, "the db");
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn drain(iter: impl Iterator<Item = quickcache::Result<(Vec<u8>, quickcache::Value)>>) -> Pairs {
    iter.map(|kv| {
        let (k, v) = kv.unwrap();
        (k, v.to_vec())
    })
    .collect()
}

#[test]
fn a_plain_iterator_reads_the_state_of_its_creation_in_both_directions() {
    let _dog =
        support::watchdog("a_plain_iterator_reads_the_state_of_its_creation_in_both_directions");
    let fs = SimFs::new(3);
    let db = Db::open_with("/db", options(&fs)).unwrap();
    // Half the keys in a table, half in the memtable, so both sources are pinned.
    for i in 0..20u32 {
        db.put(key(i), format!("old{i}")).unwrap();
        if i == 9 {
            db.flush().unwrap();
        }
    }
    let expected: Pairs = (0..20u32)
        .map(|i| (key(i).to_vec(), format!("old{i}").into_bytes()))
        .collect();
    let forward = db.range(key(0)..key(100));
    let backward = db.iter().rev();
    let mut started = db.iter();
    let first = started.next().unwrap().unwrap();

    for i in (0..20u32).step_by(3) {
        db.delete(key(i)).unwrap();
    }
    for i in (1..20u32).step_by(3) {
        db.put(key(i), "new").unwrap();
    }
    for i in 20..30u32 {
        db.put(key(i), "added").unwrap();
    }
    db.flush().unwrap();
    db.compact_range(..).unwrap();

    assert_eq!(drain(forward), expected);
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(drain(backward), reversed);
    let mut rest = vec![(first.0, first.1.to_vec())];
    rest.extend(drain(started));
    assert_eq!(rest, expected);
    // A fresh iterator sees the writes.
    let now = drain(db.iter());
    assert_eq!(now.len(), 20 - 7 + 10);
    assert!(now.contains(&(key(1).to_vec(), b"new".to_vec())));
}
