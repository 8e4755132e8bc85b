//! A full disk during a flush or a compaction: the database waits for space, reports
//! it in `stats().no_space`, stalls writes once the memtable budget is used, and
//! resumes by itself when space is freed, without a reopen, losing and duplicating
//! nothing. EIO and failed syncs stay sticky. On `SimFs` with a capacity limit, and on
//! a small real tmpfs when the machine allows mounting one (root).

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use quickcache::fs::{DynFs, Fault, FaultPlan, Op, SimFs};
use quickcache::{Db, Options, Stats};
use quickcache_compaction::SyncPoints;

const DIR: &str = "/db";

fn options(fs: DynFs, points: SyncPoints) -> Options {
    Options {
        memtable_size: 16 << 10,
        max_frozen_memtables: 1,
        l0_compaction_trigger: 3,
        table_size: 32 << 10,
        flush_interval: None,
        wal_segment_size: 256 << 10,
        fs,
        sync_points: points,
        ..Options::default()
    }
}

/// Sync points that run `f` once, at the first `point` reached after `armed` is set.
fn once_at(
    point: &'static str,
    armed: &Arc<AtomicBool>,
    f: impl Fn() + Send + Sync + 'static,
) -> SyncPoints {
    let armed = Arc::clone(armed);
    SyncPoints::new(move |name| {
        if name == point && armed.swap(false, Ordering::SeqCst) {
            f();
        }
    })
}

fn key(i: u64) -> String {
    format!("k{i:06}")
}

fn value(i: u64) -> Vec<u8> {
    format!("{i:06}").repeat(20).into_bytes()
}

fn put_range(db: &Db, range: std::ops::Range<u64>, model: &mut BTreeMap<String, Vec<u8>>) {
    for i in range {
        db.put(key(i), value(i)).unwrap();
        model.insert(key(i), value(i));
    }
}

/// Every key of `model` reads back with its value, and nothing else is there (a
/// duplicate or a resurrected key would show in the scan).
fn check(db: &Db, model: &BTreeMap<String, Vec<u8>>, ctx: &str) {
    let got: Vec<(Vec<u8>, Vec<u8>)> = db
        .iter()
        .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<Result<_, _>>()
        .unwrap();
    let want: Vec<(Vec<u8>, Vec<u8>)> = (model.iter())
        .map(|(k, v)| (k.clone().into_bytes(), v.clone()))
        .collect();
    assert_eq!(got.len(), want.len(), "{ctx}: entry count");
    assert!(got == want, "{ctx}: contents differ");
    for (k, v) in model {
        assert_eq!(db.get(k).unwrap().as_deref(), Some(&v[..]), "{ctx}: {k}");
    }
}

/// Waits (polling: the test watches the database from outside) until `done` holds.
fn wait_until(db: &Db, what: &str, done: impl Fn(&Stats) -> bool) -> Stats {
    for _ in 0..3000 {
        let stats = db.stats();
        if done(&stats) {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what} never happened: {:?}", db.stats());
}

/// Reopens the database on `fs` and checks it holds `model` and verifies clean.
fn reopen_and_check(fs: DynFs, dir: &str, model: &BTreeMap<String, Vec<u8>>) {
    let report = quickcache::verify_with(dir, Arc::clone(&fs)).unwrap();
    assert!(report.is_ok(), "{report:?}");
    let db = Db::open_with(dir, options(fs, SyncPoints::default())).unwrap();
    check(&db, model, "after reopen");
    db.close().unwrap();
}

/// The flush half, on any file system: `fill` makes the disk full at the start of
/// the next flush, `free` frees it again.
fn flush_meets_a_full_disk(
    fs: DynFs,
    dir: &str,
    fill: impl Fn() + Send + Sync + 'static,
    free: impl Fn(),
) {
    let dog = support::watchdog("flush_meets_a_full_disk");
    let armed = Arc::new(AtomicBool::new(false));
    let points = once_at("flush:start", &armed, fill);
    let db = Arc::new(Db::open_with(dir, options(Arc::clone(&fs), points)).unwrap());
    dog.watch("db", db.reporter());
    let mut model = BTreeMap::new();
    put_range(&db, 0..300, &mut model);
    db.flush().unwrap();
    armed.store(true, Ordering::SeqCst);
    // A writer that goes on while the disk is full: into the memtable, then stalled.
    let progress = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, progress) = (Arc::clone(&db), Arc::clone(&progress));
        std::thread::spawn(move || {
            for i in 300..1500 {
                db.put(key(i), value(i)).unwrap();
                progress.store(i, Ordering::SeqCst);
            }
        })
    };
    let stats = wait_until(&db, "a flush waiting for space, retried", |s| {
        s.no_space.flush.waiting && s.no_space.flush.retries >= 1 && s.stops >= 1
    });
    assert!(stats.background_error.is_none(), "{stats:?}");
    let last = stats.no_space.flush.last_error.clone().unwrap();
    assert!(last.contains("ENOSPC") || last.contains("space"), "{last}");
    // Stalled: no write gets through while the disk stays full.
    let before = progress.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        progress.load(Ordering::SeqCst),
        before,
        "writes went on past the budget"
    );
    // Reads go on; a flush reports the full disk, not a sticky error.
    assert_eq!(db.get(key(5)).unwrap().unwrap(), value(5));
    let e = db.flush().unwrap_err();
    assert!(e.is_no_space() && !e.is_read_only(), "{e}");
    dog.phase("space freed: the writer must be woken and finish");
    free();
    writer.join().unwrap();
    for i in 300..1500 {
        model.insert(key(i), value(i));
    }
    db.flush().unwrap();
    db.wait_for_compactions().unwrap();
    let stats = db.stats();
    assert!(
        !stats.no_space.waiting() && stats.background_error.is_none(),
        "{stats:?}"
    );
    assert!(stats.no_space.flush.failures >= 1);
    check(&db, &model, "after resuming");
    let db = Arc::into_inner(db).unwrap();
    db.close().unwrap();
    dog.unwatch_all();
    reopen_and_check(fs, dir, &model);
}

#[test]
fn a_flush_that_meets_a_full_disk_waits_then_resumes_by_itself() {
    let sim = SimFs::new(1);
    let fs: DynFs = Arc::new(sim.clone());
    let (filler, freer) = (sim.clone(), sim.clone());
    let fill = move || filler.set_capacity(Some(filler.used_bytes()));
    flush_meets_a_full_disk(fs, DIR, fill, move || freer.set_capacity(None));
}

#[test]
fn a_compaction_that_meets_a_full_disk_waits_then_resumes_by_itself() {
    let dog = support::watchdog("a_compaction_that_meets_a_full_disk");
    let sim = SimFs::new(2);
    let fs: DynFs = Arc::new(sim.clone());
    // The first compaction after `armed` waits at its start until the test has
    // filled the disk: the flushes that make it due need space for their WAL segments.
    let armed = Arc::new(AtomicBool::new(false));
    let (go, gate) = std::sync::mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    let points = once_at("compactor:run", &armed, move || {
        let _ = gate.lock().unwrap().recv();
    });
    let db = Db::open_with(DIR, options(Arc::clone(&fs), points)).unwrap();
    dog.watch("db", db.reporter());
    let mut model = BTreeMap::new();
    put_range(&db, 0..100, &mut model);
    db.flush().unwrap();
    db.wait_for_compactions().unwrap();
    armed.store(true, Ordering::SeqCst);
    // L0 tables until a compaction is due (and claimed, waiting at the gate).
    let mut round = 0;
    while armed.load(Ordering::SeqCst) {
        put_range(&db, 1000 + round * 50..1000 + round * 50 + 50, &mut model);
        db.flush().unwrap();
        round += 1;
        assert!(round < 20, "no compaction became due");
        std::thread::sleep(Duration::from_millis(20));
    }
    sim.set_capacity(Some(sim.used_bytes()));
    go.send(()).unwrap();
    let stats = wait_until(&db, "a compaction waiting for space, retried", |s| {
        s.no_space.compaction.waiting && s.no_space.compaction.retries >= 1
    });
    assert!(stats.background_error.is_none(), "{stats:?}");
    let l0 = stats.levels[0].files;
    // Writes go on within the memtable, reads too; nothing is lost meanwhile.
    put_range(&db, 5000..5010, &mut model);
    check(&db, &model, "while compactions wait for space");
    dog.phase("space freed: the compaction must resume");
    sim.set_capacity(None);
    db.wait_for_compactions().unwrap();
    let stats = db.stats();
    assert!(
        !stats.no_space.waiting() && stats.background_error.is_none(),
        "{stats:?}"
    );
    assert!(stats.levels[0].files < l0, "{stats:?}");
    check(&db, &model, "after resuming");
    db.close().unwrap();
    dog.unwatch_all();
    reopen_and_check(fs, DIR, &model);
}

/// Fails `op` on table files (or manifests) with `fault` from now on.
fn fail_on(fs: &SimFs, op: Op, fault: Fault, manifest: bool) {
    fs.set_faults(FaultPlan::new().fail_matching(
        move |o, p: &Path| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let name = name.unwrap_or_default();
            let file = if manifest {
                name.starts_with("MANIFEST")
            } else {
                name.ends_with(".sst")
            };
            o == op && file
        },
        fault,
    ));
}

#[test]
fn eio_and_failed_syncs_stay_sticky() {
    let _dog = support::watchdog("eio_and_failed_syncs_stay_sticky");
    let cases = [
        (Op::Append, Fault::Io, false),
        (Op::SyncAll, Fault::NoSpace, false),
        (Op::SyncData, Fault::NoSpace, true),
        (Op::Append, Fault::Io, true),
    ];
    for (op, fault, manifest) in cases {
        let ctx = format!(
            "{fault:?} on {op} of a {}",
            if manifest { "manifest" } else { "table" }
        );
        let sim = SimFs::new(3);
        let fs: DynFs = Arc::new(sim.clone());
        let db = Db::open_with(DIR, options(Arc::clone(&fs), SyncPoints::default())).unwrap();
        let mut model = BTreeMap::new();
        put_range(&db, 0..50, &mut model);
        fail_on(&sim, op, fault, manifest);
        let e = db.flush().unwrap_err();
        assert!(e.is_read_only(), "{ctx}: {e}");
        sim.clear_faults();
        let e = db.put("after", "fault").unwrap_err();
        assert!(
            e.is_read_only(),
            "{ctx}: still read-only with the disk healthy: {e}"
        );
        let stats = db.stats();
        assert!(
            stats.background_error.is_some() && !stats.no_space.waiting(),
            "{ctx}"
        );
        check(&db, &model, &ctx);
        drop(db);
        let db = Db::open_with(DIR, options(fs, SyncPoints::default())).unwrap();
        check(&db, &model, &format!("{ctx}, reopened"));
        db.put("after", "reopen").unwrap();
    }
}

/// A size-limited tmpfs, mounted for the test and unmounted (and its directory
/// removed) when dropped, also when the test fails.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then_some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

/// On a real 16 MiB tmpfs (skipped where it cannot be mounted: that needs root): a
/// ballast file fills the disk when the flush starts, and removing it frees it.
#[test]
fn a_flush_on_a_full_real_tmpfs_resumes_once_a_file_is_removed() {
    let Some(mount) = Tmpfs::mount("16m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let dir = mount.0.path().join("db");
    let ballast = mount.0.path().join("ballast");
    let fill = {
        let ballast = ballast.clone();
        move || {
            use std::io::Write;
            let mut f = std::fs::File::create(&ballast).unwrap();
            let chunk = vec![0xa5; 4096];
            while f.write_all(&chunk).is_ok() {}
            let _ = f.sync_all();
        }
    };
    let free = move || std::fs::remove_file(&ballast).unwrap();
    let fs: DynFs = Arc::new(quickcache::fs::RealFs::new());
    flush_meets_a_full_disk(fs, dir.to_str().unwrap(), fill, free);
    drop(mount);
}
