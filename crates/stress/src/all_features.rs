//! Every newer feature at once (issue 23): keyspaces, transactions, range deletes,
//! puts with a time to live and checkpoints taken while all of them write, for a set
//! time, with flushes and compactions running underneath.
//!
//! Threads, each with an invariant every view of the database must keep (a snapshot
//! of the live database, or a checkpoint opened as a database of its own):
//!
//! - **bank** (two threads): transactions ([`Db::update`]) move amounts between the
//!   accounts of keyspace `bank`; the total never changes.
//! - **generations**: one batch deletes the range `g/..g0` of keyspace `gen` and
//!   writes a random subset of its keys, each holding `<generation>:<count>`; a view
//!   holds one generation's keys exactly, never a mix and never a key a range delete
//!   removed.
//! - **counters** (two threads): counter `t` counts up in one batch that writes
//!   `c/<t>` to the default keyspace and to keyspace `a`, with a long time to live
//!   every other time; both copies are equal in every view (a batch across
//!   keyspaces is whole), and never older than the last value acknowledged before
//!   the view was taken.
//! - **checkpoints**: checkpoints taken while those write, each opened and checked,
//!   holding every write acknowledged before the call; manual flushes and compactions
//!   between them.
//! - **snapshots**: snapshots of the live database, checked the same way.
//! - **expiry**: puts with a 30 ms time to live in keyspace `a`; each reads as gone
//!   once its time is up, through `get` and scans (`all_features/expiry.rs`).
//! - **ingest**: bulk loads into keyspace `a`, each whole in the next snapshot
//!   (`all_features/ingest.rs`).
//!
//! At the end the live database holds exactly the last acknowledged values.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use quickcache::{Db, Options, Snapshot, WriteBatch};

use crate::check::Violation;
use crate::rng::Rng;
use crate::watchdog::Watchdog;
use crate::workload::LONG_TTL;

mod expiry;
mod ingest;
mod view;

use view::{Handles, View};

/// How a run is shaped.
#[derive(Debug, Clone)]
pub struct AllFeaturesConfig {
    /// How long the writers write.
    pub duration: Duration,
    /// The database's directory (created); checkpoints go to `<dir>.cp-<n>`.
    pub dir: PathBuf,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllFeaturesStats {
    /// Transactions committed by the bank threads.
    pub transfers: u64,
    /// Generations written (each a range delete and puts in one batch).
    pub generations: u64,
    /// Counter batches acknowledged.
    pub counts: u64,
    /// Checkpoints taken, opened and checked.
    pub checkpoints: u64,
    /// Snapshots of the live database checked.
    pub snapshots: u64,
    /// Expiring values seen gone once their time was up.
    pub expired: u64,
    /// Bulk loads ingested and checked.
    pub ingests: u64,
}

impl AllFeaturesStats {
    fn add(&mut self, o: &AllFeaturesStats) {
        self.transfers += o.transfers;
        self.generations += o.generations;
        self.counts += o.counts;
        self.checkpoints += o.checkpoints;
        self.snapshots += o.snapshots;
        self.expired += o.expired;
        self.ingests += o.ingests;
    }
}

/// Counter threads.
const COUNTERS: usize = 2;

/// How long past its configured duration a run may take before the watchdog calls
/// it hung.
const HANG_MARGIN: Duration = Duration::from_secs(120);

struct Shared {
    db: Db,
    ks: Handles,
    /// The last acknowledged value of each counter.
    counted: Vec<AtomicU64>,
    /// The last acknowledged generation.
    generation: AtomicU64,
    stop: AtomicBool,
    dir: PathBuf,
}

impl Shared {
    /// What every view taken from now on must hold at least.
    fn acknowledged(&self) -> (Vec<u64>, u64) {
        let counted = self.counted.iter().map(|c| c.load(Ordering::Acquire));
        (counted.collect(), self.generation.load(Ordering::Acquire))
    }

    fn fail(&self, e: String) -> Result<AllFeaturesStats, Violation> {
        self.stop.store(true, Ordering::Relaxed);
        Err(e)
    }
}

/// Runs every thread on a database in `cfg.dir` for `cfg.duration`, then checks it.
///
/// # Errors
/// The first violated guarantee, or a failed operation.
pub fn run(cfg: &AllFeaturesConfig) -> Result<AllFeaturesStats, Violation> {
    let db =
        Db::open_with(&cfg.dir, crate::concurrency::options()).map_err(|e| format!("open: {e}"))?;
    let ks = Handles::create(&db)?;
    view::open_accounts(&db, &ks)?;
    let shared = Arc::new(Shared {
        db,
        ks,
        counted: (0..COUNTERS).map(|_| AtomicU64::new(0)).collect(),
        generation: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        dir: cfg.dir.clone(),
    });
    let dog = Watchdog::start("the all-features stress run", cfg.duration + HANG_MARGIN);
    dog.watch("db", shared.db.reporter());
    type Body = Box<dyn FnOnce() -> Result<AllFeaturesStats, Violation> + Send>;
    let mut bodies: Vec<(String, Body)> = Vec::new();
    for t in 0..2u64 {
        let s = Arc::clone(&shared);
        bodies.push((format!("bank-{t}"), Box::new(move || bank(&s, t))));
    }
    for t in 0..COUNTERS {
        let s = Arc::clone(&shared);
        bodies.push((format!("counter-{t}"), Box::new(move || counter(&s, t))));
    }
    let s = Arc::clone(&shared);
    bodies.push(("generations".into(), Box::new(move || generations(&s))));
    let s = Arc::clone(&shared);
    bodies.push(("checkpoints".into(), Box::new(move || checkpoints(&s))));
    let s = Arc::clone(&shared);
    bodies.push(("snapshots".into(), Box::new(move || snapshots(&s))));
    let s = Arc::clone(&shared);
    bodies.push(("expiry".into(), Box::new(move || expiry::expiry(&s))));
    let s = Arc::clone(&shared);
    bodies.push(("ingest".into(), Box::new(move || ingest::ingest(&s))));
    let mut handles = Vec::new();
    for (name, body) in bodies {
        let spawned = thread::Builder::new().name(name).spawn(body);
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                shared.stop.store(true, Ordering::Relaxed);
                return Err(format!("spawning a stress thread: {e}"));
            }
        }
    }
    let deadline = Instant::now() + cfg.duration;
    while Instant::now() < deadline && !shared.stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(20));
    }
    shared.stop.store(true, Ordering::Relaxed);
    dog.phase("joining the threads");
    let mut stats = AllFeaturesStats::default();
    crate::check::join_workers(handles, |s| stats.add(&s))?;
    dog.phase("the final check");
    let (counted, generation) = shared.acknowledged();
    let last = View::read(&shared.db.snapshot(), &shared.ks)?;
    if last.counters != counted || last.generation != generation {
        return Err(format!(
            "at the end: counters {:?} and generation {} read, {counted:?} and \
             {generation} acknowledged",
            last.counters, last.generation
        ));
    }
    dog.finish();
    Ok(stats)
}

fn bank(s: &Shared, t: u64) -> Result<AllFeaturesStats, Violation> {
    let mut stats = AllFeaturesStats::default();
    let mut rng = Rng::new(0xBA4C ^ t);
    while !s.stop.load(Ordering::Relaxed) {
        let (from, to) = (rng.below(view::ACCOUNTS), rng.below(view::ACCOUNTS));
        let amount = 1 + rng.below(5);
        let moved = s.db.update(|tx| {
            let a = view::balance(tx.get_in(&s.ks.bank, view::account(from))?);
            if a < amount || from == to {
                return Ok(());
            }
            let b = view::balance(tx.get_in(&s.ks.bank, view::account(to))?);
            tx.put_in(&s.ks.bank, view::account(from), (a - amount).to_string());
            tx.put_in(&s.ks.bank, view::account(to), (b + amount).to_string());
            Ok(())
        });
        if let Err(e) = moved {
            return s.fail(format!("bank {t}: transfer: {e}"));
        }
        stats.transfers += 1;
    }
    Ok(stats)
}

fn counter(s: &Shared, t: usize) -> Result<AllFeaturesStats, Violation> {
    let mut stats = AllFeaturesStats::default();
    let key = view::counter_key(t);
    while !s.stop.load(Ordering::Relaxed) {
        let n = s.counted[t].load(Ordering::Acquire) + 1;
        let value = format!("{n}:{}", "c".repeat((n % 97) as usize));
        let mut batch = WriteBatch::new();
        batch.put(&key, &value);
        if n.is_multiple_of(2) {
            batch.put_in_with_ttl(&s.ks.a, &key, &value, LONG_TTL);
        } else {
            batch.put_in(&s.ks.a, &key, &value);
        }
        if let Err(e) = s.db.write(batch) {
            return s.fail(format!("counter {t}: {e}"));
        }
        s.counted[t].store(n, Ordering::Release);
        stats.counts += 1;
    }
    Ok(stats)
}

fn generations(s: &Shared) -> Result<AllFeaturesStats, Violation> {
    let mut stats = AllFeaturesStats::default();
    let mut rng = Rng::new(0x6E4);
    while !s.stop.load(Ordering::Relaxed) {
        let g = s.generation.load(Ordering::Acquire) + 1;
        let mut keys: Vec<u64> = (0..view::GEN_KEYS).filter(|_| rng.one_in(3)).collect();
        if keys.is_empty() {
            // Never empty: an empty generation could not be told from the one before.
            keys.push(rng.below(view::GEN_KEYS));
        }
        let mut batch = WriteBatch::new();
        batch.delete_range_in(
            &s.ks.generations,
            view::GEN_RANGE.0.to_vec()..view::GEN_RANGE.1.to_vec(),
        );
        for k in &keys {
            batch.put_in(
                &s.ks.generations,
                view::gen_key(*k),
                format!("{g}:{}", keys.len()),
            );
        }
        if let Err(e) = s.db.write(batch) {
            return s.fail(format!("generation {g}: {e}"));
        }
        s.generation.store(g, Ordering::Release);
        stats.generations += 1;
    }
    Ok(stats)
}

fn checkpoints(s: &Shared) -> Result<AllFeaturesStats, Violation> {
    let mut stats = AllFeaturesStats::default();
    while !s.stop.load(Ordering::Relaxed) {
        let n = stats.checkpoints;
        let dest = checkpoint_dir(&s.dir, n);
        let before = s.acknowledged();
        if let Err(e) = s.db.checkpoint(&dest) {
            return s.fail(format!("checkpoint {n}: {e}"));
        }
        if let Err(e) = check_copy(&dest, &before) {
            return s.fail(format!("checkpoint {n} ({}): {e}", dest.display()));
        }
        let _ = std::fs::remove_dir_all(&dest);
        stats.checkpoints += 1;
        let maintenance = match n % 3 {
            0 => s.db.flush(),
            1 => s.db.compact_range(..),
            _ => Ok(()),
        };
        if let Err(e) = maintenance {
            return s.fail(format!("flush or compaction after checkpoint {n}: {e}"));
        }
    }
    Ok(stats)
}

/// Where checkpoint `n` of the database in `dir` goes.
fn checkpoint_dir(dir: &Path, n: u64) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".cp-{n}"));
    dir.with_file_name(name)
}

/// Opens the checkpoint at `dest` and checks it holds everything in `before`.
fn check_copy(dest: &Path, before: &(Vec<u64>, u64)) -> Result<(), Violation> {
    let options = Options {
        create_if_missing: false,
        ..crate::concurrency::options()
    };
    let copy = Db::open_with(dest, options).map_err(|e| format!("open: {e}"))?;
    let ks = Handles::find(&copy)?;
    View::read(&copy.snapshot(), &ks)?.holds(before)?;
    copy.close().map_err(|e| format!("close: {e}"))
}

fn snapshots(s: &Shared) -> Result<AllFeaturesStats, Violation> {
    let mut stats = AllFeaturesStats::default();
    while !s.stop.load(Ordering::Relaxed) {
        let before = s.acknowledged();
        let snapshot: Snapshot = s.db.snapshot();
        let checked = View::read(&snapshot, &s.ks).and_then(|v| v.holds(&before));
        if let Err(e) = checked {
            return s.fail(format!("snapshot: {e}"));
        }
        stats.snapshots += 1;
        thread::sleep(Duration::from_millis(5));
    }
    Ok(stats)
}
