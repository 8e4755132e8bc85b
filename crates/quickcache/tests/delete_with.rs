//! `Db::delete_with` honours its `WriteOptions` like `put_with` and `write_with`: a
//! synced delete survives a power loss, a buffered one may not survive a kill.

#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::sync::Arc;

use quickcache::fs::{CrashMode, SimFs};
use quickcache::{Db, Durability, Options, WriteOptions};

const DIR: &str = "/db";

fn options(fs: &SimFs) -> Options {
    Options {
        // Buffered records stay in the process until a non-buffered write or a sync.
        flush_interval: None,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

fn with(durability: Durability) -> WriteOptions {
    WriteOptions {
        durability: Some(durability),
        ..WriteOptions::default()
    }
}

#[test]
fn a_synced_delete_survives_a_power_loss() {
    let fs = SimFs::new(1);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    db.put_with("k", "v", &with(Durability::Synced)).unwrap();
    db.delete_with("k", &with(Durability::Synced)).unwrap();
    let power_lost = fs.crash_with(CrashMode::DropUnsynced);
    drop(db);
    let db = Db::open_with(DIR, options(&power_lost)).unwrap();
    assert_eq!(db.get("k").unwrap(), None, "the synced delete was lost");
}

#[test]
fn a_buffered_delete_stays_in_the_process_until_handed_to_the_os() {
    let fs = SimFs::new(2);
    let db = Db::open_with(DIR, options(&fs)).unwrap();
    db.put("k", "v").unwrap();
    db.delete_with("k", &with(Durability::Buffered)).unwrap();
    assert_eq!(db.get("k").unwrap(), None, "readers see it at once");
    let killed = fs.after_kill();
    drop(db);
    let db = Db::open_with(DIR, options(&killed)).unwrap();
    assert_eq!(
        db.get("k").unwrap().as_deref(),
        Some(&b"v"[..]),
        "the buffered delete reached the OS: the options were ignored"
    );
}
