//! An ingest after a range delete over its keys: the ingested entries are newer than
//! the range tombstone, so gets, scans and reopens all see them.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

use std::path::Path;

use quickcache::Db;
use quickcache_sstable::{TableBuilder, TableOptions};

fn table(path: &Path, entries: &[(&str, &str)]) {
    let mut builder = TableBuilder::create(path, TableOptions::default()).unwrap();
    for (k, v) in entries {
        builder.add_plain(k.as_bytes(), v.as_bytes()).unwrap();
    }
    builder.finish().unwrap();
}

fn check(db: &Db, ctx: &str) {
    assert_eq!(
        db.get("k48").unwrap().as_deref(),
        Some(b"ingested".as_slice()),
        "{ctx}: get"
    );
    let scanned: Vec<_> = db.iter().map(|kv| kv.unwrap().0.to_vec()).collect();
    assert_eq!(scanned, [b"k40".to_vec(), b"k48".to_vec()], "{ctx}: scan");
}

/// Regression (found by `crash_power.rs`
/// `power_loss_with_transactions_checkpoints_and_ingests_keeps_a_prefix`, seed 43):
/// a range tombstone in the memtable, older than the ingest, hid the ingested key
/// from `get` (the scan showed it).
#[test]
fn a_range_delete_before_an_ingest_hides_none_of_the_ingested_keys() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("db")).unwrap();
    db.put("k40", "old").unwrap();
    db.put("k47", "old").unwrap();
    db.delete_range("k46".."k50").unwrap();
    let file = dir.path().join("in.sst");
    table(&file, &[("k48", "ingested")]);
    db.ingest([&file]).unwrap();
    check(&db, "live");
    db.flush().unwrap();
    check(&db, "after a flush");
    drop(db);
    let db = Db::open(dir.path().join("db")).unwrap();
    check(&db, "after reopen");
}
