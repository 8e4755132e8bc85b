//! Read your writes for ingests: once `ingest` (or a bulk loader's `finish`) returns,
//! every read sees what it loaded, even while writers of other keyspaces are between
//! numbering and publishing their own batches. The all-features stress found an
//! ingest that returned before its sequence number was visible: publication is in
//! sequence-number order, and a write to another keyspace numbered just before the
//! ingest, still inserting, held it back.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use quickcache::Db;
use quickcache_stress::watchdog::Watchdog;

#[test]
fn a_bulk_load_is_visible_when_it_returns_while_other_keyspaces_are_written() {
    let dog = Watchdog::start(
        "100 bulk loads beside two writers",
        Duration::from_secs(120),
    );
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path()).unwrap();
    let target = db.keyspace("a").unwrap();
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        for t in 0..2 {
            let (db, stop) = (&db, &stop);
            s.spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    db.put(format!("w/{t}/{}", n % 1000), n.to_string())
                        .unwrap();
                }
            });
        }
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for n in 0..100u64 {
                let mut loader = target.bulk_loader().unwrap();
                loader.put(format!("i/{n:05}"), n.to_string()).unwrap();
                loader.finish().unwrap();
                let got = target.get(format!("i/{n:05}")).unwrap();
                assert_eq!(got.as_deref(), Some(n.to_string().as_bytes()), "load {n}");
            }
        }));
        stop.store(true, Ordering::Relaxed);
        if let Err(panic) = checked {
            std::panic::resume_unwind(panic);
        }
    });
    db.close().unwrap();
    dog.finish();
}
