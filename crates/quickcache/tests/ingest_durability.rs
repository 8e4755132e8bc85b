//! An ingest is a write like any other in the order readers see: a power loss after
//! it returned keeps it only together with every write acknowledged before it
//! (`docs/durability.md`, "Prefix").

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

use std::path::Path;
use std::sync::Arc;

use quickcache::fs::{FileSystem, SimFs};
use quickcache::{Db, Options};
use quickcache_sstable::{TableBuilder, TableOptions};

fn options(fs: &SimFs) -> Options {
    Options {
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

/// Regression (found by `crash_power.rs`
/// `power_loss_with_transactions_checkpoints_and_ingests_keeps_a_prefix`, seed 17):
/// the ingest's manifest edit was synced but the WAL records before it were not, so a
/// power loss kept the ingested keys and lost an earlier acknowledged write. The
/// ingest now syncs the WAL before its edit.
#[test]
fn a_power_loss_after_an_ingest_keeps_the_writes_before_it() {
    for seed in 0..20 {
        let fs = SimFs::new(seed);
        let db = Db::open_with("/db", options(&fs)).unwrap();
        db.put("a", "before").unwrap(); // the default durability: not synced
        fs.create_dir_all(Path::new("/src")).unwrap();
        let mut b =
            TableBuilder::new(&fs, Path::new("/src/1.sst"), TableOptions::default()).unwrap();
        b.add_plain(b"b", b"ingested").unwrap();
        b.finish().unwrap();
        db.ingest(["/src/1.sst"]).unwrap();
        let after = fs.crash();
        drop(db);
        let db = Db::open_with("/db", options(&after)).unwrap();
        assert_eq!(
            db.get("b").unwrap().as_deref(),
            Some(b"ingested".as_slice()),
            "seed {seed}: the ingest returned, its edit was synced"
        );
        assert_eq!(
            db.get("a").unwrap().as_deref(),
            Some(b"before".as_slice()),
            "seed {seed}: the ingest survived without the write before it"
        );
    }
}
