#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]
//! `Durability::Buffered` and `Options::flush_interval`: a buffered write sits in the
//! process until the interval hands it to the OS (then a killed process keeps it),
//! or, without an interval, until the next non-buffered write.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quickcache::fs::{FileSystem, SimFs};
use quickcache::{Db, Durability, Options, WAL_DIR, WriteOptions};

const DIR: &str = "/db";
/// Unlikely to occur in a segment by chance, so finding it means the record is there.
const VALUE: &[u8] = b"buffered-value-7f3a9c";

fn options(fs: &SimFs, flush_interval: Option<Duration>) -> Options {
    Options {
        durability: Durability::Buffered,
        flush_interval,
        wal_segment_size: 64 << 10,
        fs: Arc::new(fs.clone()),
        ..Options::default()
    }
}

/// Whether the bytes the OS holds for the WAL (what a killed process leaves) contain
/// `needle`.
fn wal_holds(fs: &SimFs, needle: &[u8]) -> bool {
    let wal = Path::new(DIR).join(WAL_DIR);
    quickcache_wal::list_segments(fs, &wal)
        .unwrap()
        .iter()
        .any(|s| {
            let bytes = fs.read_file(&s.path_in(&wal)).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle)
        })
}

/// The value of `key` after the process is killed now and the database reopened.
fn after_kill(fs: &SimFs, key: &str) -> Option<Vec<u8>> {
    let killed = fs.after_kill();
    let db = Db::open_with(DIR, options(&killed, None)).unwrap();
    db.get(key).unwrap().map(|v| v.to_vec())
}

#[test]
fn the_flush_interval_hands_a_buffered_write_to_the_os() {
    let fs = SimFs::new(1);
    let interval = Duration::from_millis(10);
    let db = Db::open_with(DIR, options(&fs, Some(interval))).unwrap();
    db.put("k", VALUE).unwrap();
    // Past the interval (a loaded machine may wake the flusher late: poll, bounded).
    std::thread::sleep(interval * 3);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !wal_holds(&fs, VALUE) && Instant::now() < deadline {
        std::thread::sleep(interval);
    }
    assert!(
        wal_holds(&fs, VALUE),
        "no flush handed the record to the OS"
    );
    assert_eq!(after_kill(&fs, "k").as_deref(), Some(VALUE));
    drop(db);
}

#[test]
fn without_an_interval_a_buffered_write_waits_for_the_next_non_buffered_one() {
    let fs = SimFs::new(2);
    let db = Db::open_with(DIR, options(&fs, None)).unwrap();
    db.put("k", VALUE).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(!wal_holds(&fs, VALUE), "nothing should have written it yet");
    assert_eq!(after_kill(&fs, "k"), None, "a kill now loses it");

    let os = WriteOptions {
        durability: Some(Durability::Os),
        ..WriteOptions::default()
    };
    db.put_with("later", "os", &os).unwrap();
    assert!(wal_holds(&fs, VALUE));
    assert_eq!(after_kill(&fs, "k").as_deref(), Some(VALUE));
    assert_eq!(after_kill(&fs, "later").as_deref(), Some(&b"os"[..]));
    drop(db);
}
