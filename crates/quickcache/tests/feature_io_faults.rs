//! I/O faults at every operation index of a workload of the newer features (issue 23):
//! a range delete, puts with a time to live (expired and not), a transaction commit, a
//! flush, a checkpoint, an ingest and a compaction. ENOSPC, EIO and short writes are
//! injected into the n-th file-system operation of those steps, for every n they have.
//!
//! After each, as in `io_faults.rs`: the error reached the caller or `stats()` (only
//! the cleanup of obsolete files may fail silently; a full disk met while writing a
//! table may be retried by the database itself, reported in `stats().no_space`); a
//! reopen after the fault cleared holds exactly the acknowledged steps' writes, the
//! failed step whole or not at all; and the checkpoint's destination either does not
//! open as a database (`is_no_database`) or holds every write acknowledged before the
//! checkpoint was called, whatever the checkpoint returned.

#![allow(clippy::panic, clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use quickcache::fs::{Fault, FaultPlan, FileSystem, Op as FsOp, SimFs};
use quickcache::{Db, Durability, Options};
use quickcache_sstable::{TableBuilder, TableOptions};
use quickcache_stress::check::{describe_difference, read_consistently};
use quickcache_stress::power::{DIR, small_options};
use quickcache_stress::watchdog::Watchdog;
use quickcache_stress::workload::{Edit, Model, Op, value};

/// A case that takes longer than this has hung: the watchdog reports and fails.
const CASE_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Where the checkpoint goes, and the table ingested, on the simulated disk.
const COPY: &str = "/copy";
const SOURCE: &str = "/src/in.sst";

/// The keys the ingested table holds (some overwrite keys the setup wrote).
fn ingested() -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..12u64)
        .map(|i| (format!("k{:03}", i * 3).into_bytes(), value(90_000 + i, 60)))
        .collect()
}

/// One step of the workload under the fault.
#[derive(Debug, Clone)]
enum Step {
    /// A write of the workload's edits (range deletes and puts with a ttl).
    Write(Op),
    /// A transaction: reads `k001`, then writes two keys and deletes one.
    Transaction,
    Flush,
    Checkpoint,
    Ingest,
    Compact,
}

fn steps() -> Vec<Step> {
    let put = |key: &str, tag, len| Edit::Put {
        key: key.into(),
        tag,
        len,
    };
    let ttl = |key: &str, tag, expired| Edit::PutTtl {
        key: key.into(),
        tag,
        len: 80,
        expired,
    };
    let write = |edits, durability| Step::Write(Op::Write { edits, durability });
    vec![
        write(
            vec![Edit::DeleteRange {
                start: b"k005".to_vec(),
                end: b"k014".to_vec(),
            }],
            Durability::Os,
        ),
        write(
            vec![ttl("k020", 7001, false), ttl("k021", 7002, true)],
            Durability::Synced,
        ),
        Step::Transaction,
        write(
            vec![
                put("k030", 7003, 120),
                Edit::DeleteRange {
                    start: b"k025".to_vec(),
                    end: b"k028".to_vec(),
                },
            ],
            Durability::Os,
        ),
        Step::Flush,
        Step::Checkpoint,
        Step::Ingest,
        write(vec![ttl("k002", 7004, true)], Durability::Os),
        Step::Compact,
    ]
}

fn tx_edits() -> Vec<Edit> {
    vec![
        Edit::Put {
            key: b"k001".to_vec(),
            tag: 8001,
            len: 90,
        },
        Edit::Put {
            key: b"t-new".to_vec(),
            tag: 8002,
            len: 40,
        },
        Edit::Delete {
            key: b"k033".to_vec(),
        },
    ]
}

fn run(step: &Step, db: &Db) -> quickcache::Result<()> {
    match step {
        Step::Write(op) => op.run(db),
        Step::Transaction => {
            let mut tx = db.transaction();
            tx.get("k001")?;
            for edit in tx_edits() {
                match edit {
                    Edit::Put { key, tag, len } => tx.put(key, value(tag, len)),
                    Edit::Delete { key } => tx.delete(key),
                    _ => unreachable!("the transaction puts and deletes"),
                };
            }
            tx.commit()
        }
        Step::Flush => db.flush(),
        Step::Checkpoint => db.checkpoint(COPY).map(|_| ()),
        Step::Ingest => db.ingest([SOURCE]).map(|_| ()),
        Step::Compact => db.compact_range(..),
    }
}

fn apply(step: &Step, model: &mut Model) {
    match step {
        Step::Write(op) => op.apply(model),
        Step::Transaction => tx_edits().iter().for_each(|e| e.apply_to(model)),
        Step::Ingest => model.extend(ingested()),
        Step::Flush | Step::Checkpoint | Step::Compact => {}
    }
}

/// The setup every case starts from: tables on two levels, a memtable, and the
/// table to ingest, all before the fault is armed.
fn setup(fs: &SimFs, db: &Db, model: &mut Model) {
    for i in 0..45u64 {
        let op = Op::Write {
            edits: vec![Edit::Put {
                key: format!("k{:03}", i % 40).into_bytes(),
                tag: 1000 + i,
                len: 150,
            }],
            durability: Durability::Os,
        };
        op.run(db).unwrap();
        op.apply(model);
        if i % 15 == 14 {
            db.flush().unwrap();
        }
    }
    db.flush().unwrap();
    db.wait_for_compactions().unwrap();
    fs.create_dir_all(Path::new("/src")).unwrap();
    let mut builder = TableBuilder::new(fs, Path::new(SOURCE), TableOptions::default()).unwrap();
    for (k, v) in ingested() {
        builder.add_plain(&k, &v).unwrap();
    }
    builder.finish().unwrap();
}

/// What one case saw: the failed fs operation (if the steps reached the n-th one),
/// whether any call or `stats()` reported an error, and whether a full disk was
/// retried by the database itself.
struct Outcome {
    failed: Option<(FsOp, PathBuf)>,
    /// The step that returned the error, by name (`Write`, `Checkpoint`, ...).
    failed_step: Option<String>,
    reported: bool,
    retried: bool,
}

fn case(fault: Fault, n: u64) -> Outcome {
    let ctx = format!("{fault:?} at op {n}");
    let fs = SimFs::new(n);
    let shared = Arc::new(fs.clone());
    let dog = Watchdog::start(ctx.clone(), CASE_LIMIT);
    dog.phase("open and setup");
    let db = Db::open_with(DIR, small_options(&shared)).unwrap();
    dog.watch("db", db.reporter());
    let mut acked = Model::new();
    setup(&fs, &db, &mut acked);
    dog.phase("the steps, with the fault armed");
    let counter = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(Mutex::new(None));
    let over = Arc::new(AtomicBool::new(false));
    let (c, f, o) = (Arc::clone(&counter), Arc::clone(&failed), Arc::clone(&over));
    fs.set_faults(FaultPlan::new().fail_matching(
        move |op, path| {
            if !o.load(Ordering::SeqCst) && c.fetch_add(1, Ordering::SeqCst) == n {
                *f.lock().unwrap() = Some((op, path.to_path_buf()));
                return true;
            }
            false
        },
        fault,
    ));
    let (mut reported, mut in_flight, mut at_checkpoint) = (false, None, None);
    for step in steps() {
        if matches!(step, Step::Checkpoint) {
            at_checkpoint = Some(acked.clone());
        }
        match run(&step, &db) {
            Ok(()) => apply(&step, &mut acked),
            Err(_) => {
                reported = true;
                in_flight = Some(step);
                break;
            }
        }
    }
    let stats = support::settle_after_fault(&db, &over);
    reported |= stats.background_error.is_some();
    let retried = stats.no_space.flush.failures + stats.no_space.compaction.failures > 0;
    let mut with_failed = acked.clone();
    if let Some(step) = &in_flight {
        apply(step, &mut with_failed);
    }
    let got = read_consistently(&db, &[])
        .unwrap_or_else(|e| panic!("{ctx}: unreadable after the fault: {e}"));
    assert!(
        got == acked || got == with_failed,
        "{ctx} (failed step {in_flight:?}): reads after the fault: {}",
        describe_difference(&acked, &got)
    );
    let step = format!("{ctx} (failed step {in_flight:?})");
    let db = support::reopen_after_fault(db, &fs, &dog, &step, (&acked, &with_failed));
    db.close().unwrap();
    dog.phase("opening the checkpoint's destination");
    check_copy(&shared, at_checkpoint.as_ref(), &ctx);
    dog.finish();
    Outcome {
        failed: failed.lock().unwrap().clone(),
        failed_step: in_flight.map(|s| {
            format!("{s:?}")
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect()
        }),
        reported,
        retried,
    }
}

/// The destination opens only as a whole checkpoint: holding exactly `before` (the
/// writes acknowledged before the call; nothing was written during it).
fn check_copy(fs: &Arc<SimFs>, before: Option<&Model>, ctx: &str) {
    let options = Options {
        create_if_missing: false,
        ..small_options(fs)
    };
    match Db::open_with(COPY, options) {
        Ok(copy) => {
            let before = before.unwrap_or_else(|| panic!("{ctx}: a copy without a checkpoint"));
            let got = read_consistently(&copy, &[]).unwrap();
            assert!(
                &got == before,
                "{ctx}: the checkpoint: {}",
                describe_difference(before, &got)
            );
        }
        Err(e) => assert!(
            e.is_no_database(),
            "{ctx}: a half checkpoint is taken for a damaged database: {e}"
        ),
    }
}

/// Sweeps every operation index; returns how many the steps reached and the steps
/// that returned an error in some case.
fn sweep(fault: Fault) -> (u64, BTreeSet<String>) {
    let (mut points, mut misses, mut steps) = (0, 0, BTreeSet::new());
    for n in 0.. {
        let outcome = case(fault, n);
        steps.extend(outcome.failed_step.clone());
        let Some((op, path)) = outcome.failed else {
            // Background work varies the count a little: stop after several misses.
            misses += 1;
            if misses == 3 {
                break;
            }
            continue;
        };
        misses = 0;
        points += 1;
        let ctx = format!("{fault:?} at op {n} ({op} {})", path.display());
        // Cleanup may fail silently (garbage, nothing lost), and so may a checkpoint's
        // hard link: it falls back on a copy, which reports its own errors.
        let silent_ok = matches!(op, FsOp::Remove | FsOp::List | FsOp::Stat | FsOp::Link);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        let writing = matches!(op, FsOp::Create | FsOp::Append | FsOp::Preallocate);
        let manifest = name.starts_with("MANIFEST") || name.starts_with("CURRENT");
        // A table written by a flush or compaction that met a full disk is retried
        // and counted in `stats().no_space`; a failed manifest append or rotation is
        // retried at the next edit, as in `io_faults.rs`.
        let retried_ok = fault == Fault::NoSpace
            && writing
            && ((name.ends_with(".sst") && outcome.retried) || manifest);
        assert!(
            outcome.reported || silent_ok || retried_ok,
            "{ctx}: the failure was reported nowhere"
        );
    }
    eprintln!("{fault:?}: {points} operation indices, failed steps {steps:?}");
    (points, steps)
}

/// Every kind of step met an error in some case: the sweep reached them all.
fn assert_every_step_failed(steps: &BTreeSet<String>) {
    for step in [
        "Write",
        "Transaction",
        "Flush",
        "Checkpoint",
        "Ingest",
        "Compact",
    ] {
        assert!(steps.contains(step), "no case failed in {step}: {steps:?}");
    }
}

#[test]
fn eio_during_range_deletes_ttl_transactions_checkpoint_and_ingest() {
    let (points, steps) = sweep(Fault::Io);
    assert!(points > 60, "{points}");
    assert_every_step_failed(&steps);
}

#[test]
fn enospc_during_range_deletes_ttl_transactions_checkpoint_and_ingest() {
    let (points, steps) = sweep(Fault::NoSpace);
    assert!(points > 60, "{points}");
    assert!(
        steps.contains("Checkpoint") && steps.contains("Ingest"),
        "{steps:?}"
    );
}

#[test]
fn short_writes_during_range_deletes_ttl_transactions_checkpoint_and_ingest() {
    let (points, steps) = sweep(Fault::ShortWrite);
    assert!(points > 60, "{points}");
    assert!(
        steps.contains("Checkpoint") && steps.contains("Ingest"),
        "{steps:?}"
    );
}
