//! The writes the format-v3 and format-v4 fixtures share (`format_v3_fixture.rs`,
//! `format_v4_fixture.rs`): three phases over the default keyspace and a keyspace
//! `log` (lz4 on every level), phase 1 compacted to the bottom level, phase 2 flushed
//! to L0, phase 3 left in the WAL; puts, deletes, expiring puts and range deletes, in
//! batches that span both keyspaces. The v4 fixture adds ingests and a synced write,
//! which its own test adds to the model.
//!
//! Shared because they must stay the same: each fixture was written by this code at
//! the commit its README names, so changing a phase would make the tests expect what
//! the committed files do not hold.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use quickcache::{Compression, Db, Keyspace, KeyspaceOptions, Options, WriteBatch};

/// Long enough that no expiring value of the fixture expires while it is in use.
const TTL: Duration = Duration::from_secs(200 * 365 * 24 * 3600);

/// What the fixtures were opened with.
pub(crate) fn options() -> Options {
    Options {
        memtable_size: 1 << 20,
        wal_segment_size: 64 << 10,
        block_size: 512,
        flush_on_close: false,
        // The default when the fixtures were written (256 MiB since 9a2e483). Their
        // keyspaces stored it, and `keyspace_with` refuses options that differ from
        // the stored ones, so the tests pass what the fixtures' writer passed.
        base_level_size: 64 << 20,
        ..Options::default()
    }
}

/// What keyspace `log` was created with.
pub(crate) fn log_options() -> KeyspaceOptions {
    let mut ks = KeyspaceOptions::from(&options());
    ks.compression = [Compression::Lz4; 7];
    ks
}

/// Key number `i`.
pub(crate) fn key(i: u32) -> String {
    format!("key{i:05}")
}

/// One write of the fixture.
enum Edit {
    Put(u32, String),
    PutTtl(u32, String),
    Delete(u32),
    /// Keys `start..end`.
    DeleteRange(u32, u32),
}

/// The three phases of writes of keyspace `ks` (0 = default, 1 = log).
fn phases(ks: u32) -> [Vec<Edit>; 3] {
    let value = |phase: &str, i: u32| format!("{{\"ks\":{ks},\"phase\":\"{phase}\",\"i\":{i}}}");
    let one = (0..200).map(|i| Edit::Put(i, value("one", i))).collect();
    let mut two: Vec<Edit> = (150..250)
        .map(|i| Edit::PutTtl(i, value("two", i)))
        .collect();
    two.push(Edit::DeleteRange(20 + ks, 40));
    two.push(Edit::Delete(7));
    let mut three: Vec<Edit> = (240..280)
        .map(|i| Edit::Put(i, value("three", i)))
        .collect();
    three.extend((260..270).map(|i| Edit::PutTtl(i, value("three-ttl", i))));
    three.push(Edit::DeleteRange(100, 110 + ks));
    three.push(Edit::Delete(245));
    [one, two, three]
}

/// Applies the three phases of keyspace `ks` to `model`, which holds whatever else
/// the fixture wrote to keys no phase touches.
pub(crate) fn apply_phases(model: &mut BTreeMap<String, String>, ks: u32) {
    for edit in phases(ks).into_iter().flatten() {
        match edit {
            Edit::Put(i, v) | Edit::PutTtl(i, v) => {
                model.insert(key(i), v);
            }
            Edit::Delete(i) => {
                model.remove(&key(i));
            }
            Edit::DeleteRange(start, end) => {
                for i in start..end {
                    model.remove(&key(i));
                }
            }
        }
    }
}

/// Writes `phase` of both keyspaces, in batches spanning both.
pub(crate) fn write_phase(db: &Db, log: &Keyspace, phase: usize) {
    let (a, b) = (&phases(0)[phase], &phases(1)[phase]);
    for (ca, cb) in a.chunks(30).zip(b.chunks(30)) {
        let mut batch = WriteBatch::new();
        for (ks, chunk) in [(None, ca), (Some(log), cb)] {
            for edit in chunk {
                push(&mut batch, ks, edit);
            }
        }
        db.write(batch).unwrap();
    }
}

fn push(batch: &mut WriteBatch, ks: Option<&Keyspace>, edit: &Edit) {
    match (edit, ks) {
        (Edit::Put(i, v), None) => batch.put(key(*i), v),
        (Edit::Put(i, v), Some(ks)) => batch.put_in(ks, key(*i), v),
        (Edit::PutTtl(i, v), None) => batch.put_with_ttl(key(*i), v, TTL),
        (Edit::PutTtl(i, v), Some(ks)) => batch.put_in_with_ttl(ks, key(*i), v, TTL),
        (Edit::Delete(i), None) => batch.delete(key(*i)),
        (Edit::Delete(i), Some(ks)) => batch.delete_in(ks, key(*i)),
        (Edit::DeleteRange(s, e), None) => batch.delete_range(key(*s)..key(*e)),
        (Edit::DeleteRange(s, e), Some(ks)) => batch.delete_range_in(ks, key(*s)..key(*e)),
    };
}

/// Opens a copy of the committed fixture at `fixture` (an open rewrites the manifest
/// and the WAL, so the committed files are never opened in place).
fn open_copy(fixture: &Path) -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    super::copy_fixture(fixture, &path);
    let db = Db::open_with(&path, options()).unwrap();
    (dir, db)
}

fn collect(iter: quickcache::Iter, rev: bool) -> Vec<(String, String)> {
    let kv = |kv: quickcache::Result<(Vec<u8>, quickcache::Value)>| {
        let (k, v) = kv.unwrap();
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        (text(&k), text(v.as_ref()))
    };
    if rev {
        let mut all: Vec<_> = iter.rev().map(kv).collect();
        all.reverse();
        all
    } else {
        iter.map(kv).collect()
    }
}

/// Reads keys `0..keys` of both keyspaces through `get`, and both through scans in
/// both directions, against `model(ks)`.
pub(crate) fn check_contents(db: &Db, keys: u32, model: fn(u32) -> BTreeMap<String, String>) {
    let log = db.keyspace_with("log", log_options()).unwrap();
    for ks in 0..2 {
        let model = model(ks);
        let get = |k: &str| match ks {
            0 => db.get(k).unwrap(),
            _ => log.get(k).unwrap(),
        };
        for i in 0..keys {
            let k = key(i);
            let got = get(&k).map(|v| String::from_utf8(v.as_ref().to_vec()).unwrap());
            assert_eq!(got.as_ref(), model.get(&k), "keyspace {ks}, key {k}");
        }
        let expected: Vec<_> = model.into_iter().collect();
        for rev in [false, true] {
            let iter = match ks {
                0 => db.prefix("key"),
                _ => log.prefix("key"),
            };
            assert!(collect(iter, rev) == expected, "keyspace {ks}, rev {rev}");
        }
    }
}

/// Opens a copy of `fixture`: it has the default keyspace and `log`, and holds what
/// `model` says for keys `0..keys`.
pub(crate) fn opens_with_both_keyspaces(
    fixture: &Path,
    keys: u32,
    model: fn(u32) -> BTreeMap<String, String>,
) {
    let (_dir, db) = open_copy(fixture);
    let mut names = db.keyspaces();
    names.sort();
    assert_eq!(names, ["default", "log"]);
    check_contents(&db, keys, model);
    db.close().unwrap();
}

/// Opens a copy of `fixture`, writes to both keyspaces, flushes, compacts, reopens,
/// and checks the new writes and then the fixture's contents.
pub(crate) fn takes_writes_compacts_and_reopens(
    fixture: &Path,
    keys: u32,
    model: fn(u32) -> BTreeMap<String, String>,
) {
    let (dir, db) = open_copy(fixture);
    let log = db.keyspace_with("log", log_options()).unwrap();
    db.put(key(1000), "new").unwrap();
    log.put(key(1000), "new-log").unwrap();
    db.flush().unwrap();
    db.compact_range(..).unwrap();
    log.compact_range(..).unwrap();
    drop(log);
    db.close().unwrap();
    let db = Db::open_with(dir.path().join("db"), options()).unwrap();
    let log = db.keyspace_with("log", log_options()).unwrap();
    assert_eq!(db.get(key(1000)).unwrap().unwrap(), b"new");
    assert_eq!(log.get(key(1000)).unwrap().unwrap(), b"new-log");
    db.delete(key(1000)).unwrap();
    log.delete(key(1000)).unwrap();
    drop(log);
    check_contents(&db, keys, model);
    db.close().unwrap();
}

/// Writes phases 1 and 2 into a new database at `out` (phase 1 compacted, phase 2
/// flushed), then `between`, then phase 3; what the regenerating tests share.
pub(crate) fn write_fixture(out: &Path, between: impl FnOnce(&Db, &Keyspace)) -> Db {
    assert!(!out.exists(), "{} exists already", out.display());
    let db = Db::open_with(out, options()).unwrap();
    let log = db.keyspace_with("log", log_options()).unwrap();
    write_phase(&db, &log, 0);
    db.compact_range(..).unwrap();
    log.compact_range(..).unwrap();
    write_phase(&db, &log, 1);
    db.flush().unwrap();
    log.flush().unwrap();
    between(&db, &log);
    write_phase(&db, &log, 2);
    db
}

/// Closes the fixture database and removes the files a committed fixture leaves out.
pub(crate) fn close_fixture(db: Db, out: &Path) {
    db.close().unwrap();
    for name in [quickcache::LOCK_FILE, quickcache::CLOSED_FILE] {
        let _ = std::fs::remove_file(out.join(name));
    }
}
